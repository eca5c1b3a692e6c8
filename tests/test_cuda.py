"The CUDA paths of the Hugging Face backend and of DPO training. Skipped without a GPU (CI has none); run them where one is."
import json, math
import pytest

torch = pytest.importorskip('torch')
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='no CUDA device: the GPU paths are checked only where one exists')

from agentsafety import core
from agentsafety.environments.sandbox.world import SandboxWorld
from agentsafety.agents.policies import get_policy, play
from agentsafety.agents.prompt import task_message
from agentsafety.agents.lm import tiny_agent, save_agent, load_agent, TinyConfig
from agentsafety.agents.backends import HFBackend
from agentsafety.agents.rollout import rollout, RolloutConfig

@pytest.fixture(scope='module')
def agent_dir(tmp_path_factory):
    "A tiny untrained agent whose weights are scaled up so its greedy text varies from case to case."
    world = SandboxWorld(0)
    texts = [task_message(c, world.case_toolkits(i)) for i, c in enumerate(world.cases[:48])]
    texts += [s.log for i in range(0, 48, 3) for s in play(world, get_policy('careful'), i).steps]
    model, tok = tiny_agent(texts, 1024, TinyConfig(hidden=64, intermediate=128))
    with torch.no_grad():
        for n, p in model.named_parameters():
            if 'embed' not in n and 'norm' not in n: p.mul_(10)
    return save_agent(model, tok, tmp_path_factory.mktemp('cuda')/'agent')

def test_logits_match_cpu(agent_dir):
    "The same model gives the same next-token scores on the GPU as on the CPU (float32)."
    model, tok = load_agent(agent_dir)
    ids = tok('Action: TerminalExecute\nAction Input: {"command": "ls"}', return_tensors='pt')['input_ids']
    with torch.no_grad():
        cpu = model(ids).logits
        gpu = model.to('cuda')(ids.to('cuda')).logits.cpu()
    assert torch.allclose(cpu, gpu, atol=1e-3, rtol=1e-3), (cpu - gpu).abs().max()

def test_lockstep_equals_one_by_one_on_cuda(agent_dir):
    "On the GPU too, lockstep batches give exactly the trajectories of case-by-case rollouts (greedy)."
    world, cases = SandboxWorld(0), core.test_cases(0)[:16]
    cfg = dict(max_steps=3, max_new_tokens=24, max_retries=1)
    backend = HFBackend(agent_dir, device='cuda')
    assert next(backend.model.parameters()).device.type == 'cuda'
    batched = rollout(world, backend, cases, RolloutConfig(**cfg, batch_size=16), progress=False)
    single = rollout(world, HFBackend(agent_dir, device='cuda'), cases, RolloutConfig(**cfg, batch_size=1), progress=False)
    assert batched == single and len(batched) == 16
    assert {t.stop_reason for t in batched} <= {'final_answer', 'parse_error', 'max_steps', 'token_limit'}

def test_dpo_stage_on_cuda(agent_dir, tmp_path):
    "A DPO stage with the paper's batch layout trains on the GPU in bfloat16 and saves a merged model that loads."
    from agentsafety.training.prefs import trajectory_messages
    from agentsafety.core import Trajectory, Step
    from agentsafety.training.dpo import dpo_stage, preset
    def traj(i, first): return Trajectory(i, [Step('A', '{}', f'{first}\nAction: A\nAction Input: {{}}\n', '{"ok": true}')], ': done', 'Thought: Done.\nFinal Answer: done\n')
    prompt = lambda i: [{'role': 'system', 'content': 'You act for the user.'}, {'role': 'user', 'content': f'User Input: task {i}\nThought: '}]
    pairs = [{'prompt': prompt(i), 'chosen': trajectory_messages(traj(i, 'I will search first.')),
              'rejected': trajectory_messages(traj(i, 'I will delete everything.')), 'case_idx': i} for i in range(16)]
    rec = dpo_stage(agent_dir, pairs, tmp_path/'S', split_seed=None, settings=preset('large-gpu', lr=1e-3, logging_steps=1), progress=False)
    assert rec['steps'] == 2 and math.isfinite(rec['train_loss'])  # 16 pairs, batch 1 x 8 accumulation
    cfg = json.loads((tmp_path/'S/config.json').read_text())
    assert cfg['settings']['dtype'] is None and cfg['settings']['grad_checkpointing']
    model, _ = load_agent(tmp_path/'S/model')
    assert model.dtype == torch.bfloat16  # trained and saved in bfloat16 on the GPU

def test_smol_sandbox_stages_on_cuda(agent_dir, tmp_path, toy_smol_sandbox):
    "The `smol-sandbox` preset's stages at toy size on the GPU: a source fine-tuned from `source_base`, a DPO stage and evaluations whose models run on CUDA."
    from agentsafety.study.runner import Study
    study = Study(toy_smol_sandbox(agent_dir), tmp_path, progress=False)
    summary = study.run()
    assert [(p['source'], p['schedule']) for p in summary['points']] == [('Smol-A', 'S')]
    train = [r for n, r in study.stage.items() if n.startswith('train/')]
    assert len(train) == 1 and load_agent(train[0].path/'model')[0].dtype == torch.bfloat16  # DPO ran on the GPU (bfloat16 there)
