"DPO schedules on hand-made pairs, the train command (also under `accelerate launch`), and the sandbox end to end."
import contextlib, json, math, os, random, shutil, subprocess, sys
from pathlib import Path
import pytest
from agentsafety.core import Trajectory, Step
from agentsafety.training.prefs import trajectory_messages, write_pairs
from agentsafety.agents.lm import train_tokenizer, tiny_model, save_agent, load_agent, TinyConfig
from agentsafety.training.dpo import train_schedule, dpo_stage, preset
from agentsafety.cli import main

BIN = Path(sys.executable).parent

def _opening(who): return [{'role': 'system', 'content': 'You act for the user.'},
                           {'role': 'user', 'content': f'User Input: Delete the test tasks of {who}.\nThought: '}]
def _traj(i, first, n=1):
    return Trajectory(i, [Step('A', '{}', f'{first}\nAction: A\nAction Input: {{}}\n', '{"ok": true}')] * n, ': done', 'Thought: Done.\nFinal Answer: done\n')

def _pair(i, a, b, n=1):
    who = f'user{i}'
    return {'prompt': _opening(who), 'chosen': trajectory_messages(_traj(i, a, n)), 'rejected': trajectory_messages(_traj(i, b)), 'case_idx': i}

@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    "A tiny untrained model and hand-made safe/help/both pairs over 20 cases."
    d = tmp_path_factory.mktemp('tiny')
    safe = [_pair(i, 'I will search first.', 'I will delete everything.') for i in range(20)]
    help_ = [_pair(i, 'I will delete everything.', 'I will ask the user.') for i in range(20)]
    both = [_pair(i, 'I will search first.', 'I will ask the user.') for i in range(20)]
    tok = train_tokenizer([m['content'] for p in safe + help_ for m in p['prompt'] + p['chosen'] + p['rejected']], 300)
    save_agent(tiny_model(tok, TinyConfig(hidden=32, intermediate=64)), tok, d/'source')
    for k, v in (('safe', safe), ('help', help_), ('both', both)): write_pairs(d/f'{k}.jsonl', v)
    return d, {'safe': safe, 'help': help_, 'both': both}

FAST = dict(epochs=1, logging_steps=1)

@pytest.mark.parametrize('schedule', ['S', 'H', 'S&H', 'S,H', 'H,S'])
def test_schedules(tiny, tmp_path, schedule):
    d, data = tiny
    run = train_schedule(d/'source', schedule, data, tmp_path/'run', split_seed=1, n_cases=20, settings=preset('tiny-cpu', **FAST), progress=False)
    cfg = json.loads((tmp_path/'run/config.json').read_text())
    assert cfg['schedule'] == schedule and cfg['split_seed'] == 1 and cfg['beta'] == 0.1 and cfg['source'] == str(d/'source')
    assert (tmp_path/'run/model/config.json').exists() and (tmp_path/'run/adapter/adapter_config.json').exists()
    recs = cfg['stage_records']
    assert [r['data'] for r in recs] == {'S': ['safe'], 'H': ['help'], 'S&H': ['both'], 'S,H': ['safe', 'help'], 'H,S': ['help', 'safe']}[schedule]
    for r in recs:
        assert r['train_pairs'] + r['test_pairs'] == 20 and r['train_pairs'] == 10  # the seed-1 split of 20 cases
        assert r['settings']['seed'] == 42 and r['settings']['beta'] == 0.1 and r['settings']['share_prefix']  # the tiny-cpu preset shares prefixes
    log = [json.loads(l) for l in open(tmp_path/'run'/('metrics.jsonl' if len(recs) == 1 else f"stage2-{recs[1]['data']}/metrics.jsonl"))]
    assert {'loss', 'rewards/accuracies', 'rewards/margins', 'rewards/chosen'} <= set(log[0])
    if len(recs) == 2:
        # stage 2 trains (and refers to) the merged stage-1 model; the final model is the source plus both adapters
        assert recs[1]['model'] == str(tmp_path/'run'/f"stage1-{recs[0]['data']}"/'model')
        import torch
        from peft import PeftModel
        m, _ = load_agent(d/'source')
        for a in cfg['adapters']: m = PeftModel.from_pretrained(m, a).merge_and_unload()
        final, _ = load_agent(tmp_path/'run/model')
        assert all(torch.allclose(x, y, atol=1e-5) for x, y in zip(m.state_dict().values(), final.state_dict().values()))
    if schedule == 'S&H': assert recs[0]['epochs'] == 1  # the tiny-cpu preset does not force 3 epochs on `both`

def test_large_gpu_preset_forces_three_epochs_on_both(tiny, tmp_path):
    d, data = tiny
    s = preset('large-gpu', batch_size=4, grad_accum=1, grad_checkpointing=False, logging_steps=1, dtype='float32')
    rec = dpo_stage(d/'source', data['both'], tmp_path/'b', 0, 20, s, 'both', progress=False)
    assert rec['epochs'] == 3 and rec['settings']['lr'] == 5e-5 and rec['settings']['r'] == 16

def test_no_progress_is_silent(tiny, tmp_path, capfd):
    "progress=False prints no bar at all, including TRL's reference-log-prob pass (a tqdm that only TQDM_DISABLE controls)."
    d, data = tiny
    dpo_stage(d/'source', data['safe'], tmp_path/'q', 1, 20, preset('tiny-cpu', **FAST), 'safe', progress=False)
    out, err = capfd.readouterr()
    assert 'it/s' not in err + out and 'Computing reference' not in err + out and '%|' not in err + out, err[-500:]
    assert 'TQDM_DISABLE' not in os.environ  # restored afterwards

def test_over_length_dropped_and_counted(tiny, tmp_path):
    d, data = tiny
    long_ = [_pair(i, 'I will search first.', 'I will delete everything.', n=30 if i % 2 else 1) for i in range(20)]
    rec = dpo_stage(d/'source', long_, tmp_path/'l', None, 20, preset('tiny-cpu', max_length=120, decision_only=False, **FAST), 'safe', progress=False)
    assert (rec['train_pairs'], rec['dropped_over_length']) == (10, 10)

def test_cli(tiny, tmp_path, capsys):
    d, _ = tiny
    args = ['dpo', '--source', str(d/'source'), '--schedule', 'H,S', '--pairs', f"safe={d/'safe.jsonl'}", '--pairs', f"help={d/'help.jsonl'}",
            '--n-cases', '20', '--beta', '0.05', '--set', 'epochs=1', '--out', str(tmp_path/'cli'), '--no-progress']
    assert main(['train', *args]) == 0
    out = capsys.readouterr().out
    assert 'stage 1 (help)' in out and 'stage 2 (safe)' in out
    cfg = json.loads((tmp_path/'cli/config.json').read_text())
    assert (cfg['schedule'], cfg['beta'], cfg['stages']) == ('H,S', 0.05, ['help', 'safe'])
    assert main(['train', 'dpo', '--source', str(d/'source'), '--schedule', 'S', '--pairs', f"safe={tmp_path/'none.jsonl'}", '--out', str(tmp_path/'x')]) == 1
    assert 'none.jsonl' in capsys.readouterr().err
    assert main(['train', 'dpo', '--source', str(d/'source'), '--schedule', 'S', '--pairs', f"safe={d/'safe.jsonl'}", '--set', 'rank=4', '--out', str(tmp_path/'x')]) == 1
    assert 'unknown setting(s) rank' in capsys.readouterr().err

def test_prefix_sharing_matches_plain(tiny, tmp_path, monkeypatch):
    "With dropout 0, DPOTrainer's loss, metrics and gradients are the same with and without prefix sharing."
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from trl import DPOConfig, DPOTrainer
    import agentsafety.training.dpo as T
    from agentsafety.agents.lm import cpu_lm_head
    d, _ = tiny
    m, tok = load_agent(d/'source')
    step = lambda first, obs: Step('A', '{}', f'{first}\nAction: A\nAction Input: {{}}\n', obs)
    def pair(who, chosen, rejected): return {'prompt': _opening(who), 'chosen': trajectory_messages(Trajectory(0, chosen, ': done', 'Thought: Done.\nFinal Answer: done\n')),
                                             'rejected': trajectory_messages(Trajectory(0, rejected, ': done', 'Thought: Done.\nFinal Answer: done\n'))}
    s1 = step('I will search first.', '{"ok": true}')
    pairs = [pair('Al', [step('I will search first.', '{}')], [step('I will delete everything.', '{}')]),  # prompts of different lengths: padding
             pair('user with a much longer name', [step('I will ask the user.', '{}')], [step('I will delete everything at once.', '{}')]),
             pair('user3', [s1, step('I will ask the user.', '{}')], [s1, step('I will delete everything.', '{}')])]  # a shared first turn
    args = DPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=3, precompute_ref_log_probs=False, report_to='none',
                     use_cpu=True, dataloader_pin_memory=False, train_sampling_strategy='sequential', max_length=512)
    trainer = DPOTrainer(model=m, ref_model=None, args=args, train_dataset=Dataset.from_list(pairs), processing_class=tok,
                         peft_config=LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules='all-linear', task_type='CAUSAL_LM'))
    base = trainer.model.get_base_model()
    cpu_lm_head(base)
    torch.manual_seed(0)
    for n, p in trainer.model.named_parameters():
        if 'lora_B' in n: torch.nn.init.normal_(p, std=0.05)  # a policy away from its reference
    batch = next(iter(trainer.get_train_dataloader()))
    assert batch['attention_mask'].sum(1).unique().numel() > 1  # rows of different lengths
    packed = []
    pack = T._pack_pairs
    monkeypatch.setattr(T, '_pack_pairs', lambda *a: packed.append(pack(*a)) or packed[-1])
    def run(share):
        trainer.model.zero_grad()
        trainer._metrics['train'].clear()
        trainer._total_train_tokens = 0
        with T.shared_prefix(base) if share else contextlib.nullcontext():
            loss = trainer._compute_loss(trainer.model, batch, False)
        loss.backward()
        grads = torch.cat([p.grad.flatten() for p in trainer.model.parameters() if p.grad is not None])
        return loss.detach(), {k: v[-1] for k, v in trainer._metrics['train'].items()}, grads
    (la, ma, ga), (lb, mb, gb) = run(False), run(True)
    assert len(packed) == 2 and all(x is not None for x in packed)  # policy and reference both packed
    assert abs(la - lb) < 1e-5 and abs(la - math.log(2)) > 1e-3, (la, lb)
    assert ma.keys() == mb.keys() and {'logps/chosen', 'logps/rejected', 'rewards/margins', 'entropy', 'logits/chosen'} <= ma.keys()
    assert all(abs(ma[k] - mb[k]) < 1e-4 * max(1, abs(ma[k])) for k in ma), (ma, mb)
    assert (ga - gb).abs().max() < 1e-5
    ids, am, cm = batch['input_ids'], batch['attention_mask'], batch['completion_mask']
    shared = int(((ids[2] == ids[5]) & (am[2] * am[5]).bool()).long().cumprod(0).sum())
    assert shared > int((cm[2] == 0).sum()) + 5  # the third pair shares its prompt and its first turn

def test_accelerate_launch(tiny, tmp_path):
    "The same command under `accelerate launch` with two CPU processes: one merged model and one config, written once."
    d, _ = tiny
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    cmd = [str(BIN/'accelerate'), 'launch', '--cpu', '--num_processes', '2', '--num_machines', '1', '--mixed_precision', 'no',
           '--dynamo_backend', 'no', str(BIN/'agentsafety'), 'train', 'dpo', '--source', str(d/'source'), '--schedule', 'S,H',
           '--pairs', f"safe={d/'safe.jsonl'}", '--pairs', f"help={d/'help.jsonl'}", '--n-cases', '20', '--set', 'epochs=1',
           '--set', 'batch_size=2', '--out', str(tmp_path/'acc'), '--no-progress']
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count('model: ') == 1  # only the main process reports
    cfg = json.loads((tmp_path/'acc/config.json').read_text())
    assert cfg['stages'] == ['safe', 'help'] and (tmp_path/'acc/model/model.safetensors').exists()


# --- the sandbox pipeline ---------------------------------------------------------------------------------------
# The machinery end to end at a small size: a source model imitating a scripted mixture on another sandbox world,
# rollouts on held-out cases of the study's world, the scripted pool's safety and helpfulness pairs, DPO with the
# tiny-cpu preset (S and H), rollouts again. The sizes here check that every piece fits the next; how far DPO moves a
# well-trained source is a matter of training budget (see the notebooks and the report), not asserted here.

def test_sandbox_pipeline(tmp_path):
    from agentsafety.core import split_cases
    from agentsafety.training.sources import SourceSpec, SFTSettings, make_source, sandbox_eval
    from agentsafety.training.prefs import judged_from_runs, build_pairs, pair_examples, world_prompt_fn, PairRules
    from agentsafety.environments.sandbox.world import SandboxWorld
    from agentsafety.agents.policies import play_policy, policy_pool
    from agentsafety.agents.rollout import RolloutConfig
    spec = SourceSpec('src', 'mix:reckless=0.5,cautious=0.5', worlds=(1000,), cases=tuple(range(48)), vocab_size=2048,
                      model=TinyConfig(hidden=64, intermediate=128), sft=SFTSettings(max_steps=30, lr=1e-2, max_length=512))
    rec = make_source(spec, tmp_path/'src', progress=False)
    assert rec['sft']['steps'] == 30 and rec['sft']['dropped'] + rec['sft']['examples'] == 48
    test = split_cases(0, 144)[1][:12]
    cfg = RolloutConfig(max_steps=3, max_new_tokens=48, token_budget=200, max_retries=1)
    src = sandbox_eval(tmp_path/'src', test, config=cfg)
    world = SandboxWorld(0)
    pool = judged_from_runs(play_policy(world, p, cases=range(48)) for p in policy_pool(0)[:8])
    for name, rules, sched in (('safe', PairRules('safe'), 'S'), ('help', PairRules('help'), 'H')):
        exs, rejected = pair_examples(pool, build_pairs(pool, rules), world_prompt_fn(world))
        assert exs and not rejected
        run = train_schedule(tmp_path/'src', sched, {name: exs}, tmp_path/name, 0, 48,
                             preset('tiny-cpu', max_pairs=48, epochs=1, evaluate=True), progress=False)
        r = run['stage_records'][0]
        assert r['train_pairs'] == 48 and r['test_pairs'] > 0 and 'eval_rewards/accuracies' in r['eval']
        ev = sandbox_eval(tmp_path/name/'model', test, config=cfg)
        assert ev['cases'] == len(test) and 0 <= ev['safety'] <= 3 and 0 <= ev['help_ignore'] <= 3
        assert ev['turns'] == ev['readable'] + ev['unreadable'] and set(ev['stops']) <= {'final_answer', 'parse_error', 'max_steps', 'token_limit', 'error'}
