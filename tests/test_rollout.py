"""The rollout engine end to end: scripted sandbox policies reproduce the sandbox's own play, a killed run resumes to
the same result, a failing endpoint keeps finished cases, tiny HF agents batch exactly, and the ToolEmu path (tiny
models as agent, emulator and judge) writes well-formed files."""
import contextlib, io, json, os, signal, subprocess, sys, time, warnings
from pathlib import Path
import pytest
from agentsafety.core import STOP_REASONS, read_trajectories, read_run, eval_path, Step
from agentsafety.agents.backends import Backend, Generation, ScriptedBackend, ChatServer, HFBackend, OpenAIBackend, BackendError
from agentsafety.agents.prompt import agent_prompt, agent_messages, task_message
from agentsafety.agents.rollout import rollout, RolloutConfig
from agentsafety.cli import main
from agentsafety.environments.sandbox.world import SandboxWorld
from agentsafety.agents.policies import get_policy, play, play_policy
from agentsafety.agents.lm import tiny_agent, save_agent, TinyConfig

VALID = set(STOP_REASONS) - {'incomplete'}


@pytest.fixture(scope='module')
def world(): return SandboxWorld(seed=0)


def scrambled_tiny(path, texts, max_positions=4096):
    "A tiny untrained model (agentsafety.agents.lm) whose layers are scaled up so that its output varies."
    import torch
    model, tok = tiny_agent(texts, 600, TinyConfig(hidden=64, intermediate=128, max_positions=max_positions))
    with torch.no_grad():
        for n, p in model.named_parameters():
            if 'embed' not in n and 'norm' not in n: p.mul_(10)
    return save_agent(model, tok, path)


@pytest.fixture(scope='module')
def sandbox_tiny(world, tmp_path_factory):
    texts = [task_message(c, world.case_toolkits(i)) for i, c in enumerate(world.cases)]
    texts += [s.log for i in range(0, 144, 5) for s in play(world, get_policy('careful'), i).steps]
    return scrambled_tiny(tmp_path_factory.mktemp('sandbox_tiny'), texts)


def run_cli(fn, args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): rc = fn(args)
    return rc, out.getvalue(), err.getvalue()


# ---- scripted policies ----

@pytest.mark.parametrize('name,layout,batch', [('reckless', 'chat', 64), ('careful', 'scratchpad', 64), ('cautious', 'chat', 5),
                                               ('flailing', 'chat', 144), ('pool-07', 'scratchpad', 16), ('pool-11', 'chat', 1)])
def test_scripted_rollouts_reproduce_the_sandbox(world, name, layout, batch):
    "Through prompts, the scripted backend and the engine, every trajectory equals the sandbox's own `play`."
    pol = get_policy(name, seed=3)
    got = rollout(world, ScriptedBackend(world, pol), config=RolloutConfig(layout=layout, batch_size=batch), progress=False)
    assert got == [play(world, pol, i) for i in range(len(world.cases))]
    assert {t.stop_reason for t in got} <= VALID


def test_sandbox_command_writes_judged_files(world, tmp_path):
    rc, out, err = run_cli(main, ['rollout', '--agent', 'scripted:careful', '--out', str(tmp_path), '--cases', 'test', '--no-progress'])
    assert rc == 0, err
    f = tmp_path/'scripted-careful_emu-sandbox_eval-sandbox_r0-142.jsonl'
    assert f"{f}: 72 trajectories (final_answer 72)" in out
    trajs, evals = read_run(f, ('safe', 'help_ignore_safety', 'help_safe'))
    ref = play_policy(world, 'careful', [t.case_idx for t in trajs])
    assert trajs == ref.trajectories
    assert [l.score for l in evals['safe']] == ref.scores('safe')
    assert [l.score for l in evals['help_ignore_safety']] == ref.scores('help_ignore_safety')
    rc, out, _ = run_cli(main, ['judge', str(tmp_path), '--judge', 'env'])  # judging again resumes: nothing to do
    assert rc == 0 and out.count('already judged') == 3


# ---- a real kill ----

def test_killed_rollout_resumes_to_the_same_result(sandbox_tiny, tmp_path):
    args = ['rollout', '--env', 'sandbox', '--agent', f'hf:{sandbox_tiny}', '--cases', '0-8', '--batch-size', '2',
            '--max-new-tokens', '24', '--max-retries', '2', '--save-every', '0', '--judge', 'none', '--name', 'run',
            '--device', 'cpu', '--no-progress']
    code = 'import sys; from agentsafety.cli import main; sys.exit(main(sys.argv[1:]))'
    f = tmp_path/'killed'/'run.jsonl'
    p = subprocess.Popen([sys.executable, '-c', code, *args, '--out', str(f.parent)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and p.poll() is None:
            if f.exists() and len(f.read_text().splitlines()) >= 3: break
            time.sleep(0.02)
        assert p.poll() is None, f"the run ended before it could be killed: {p.communicate()}"
        p.send_signal(signal.SIGKILL)
        p.wait(30)
    finally:
        if p.poll() is None: p.kill()
    part = read_trajectories(f)  # what the killed run left is a valid file ...
    assert 3 <= len(part) < 8 and [t.case_idx for t in part] == sorted(t.case_idx for t in part)
    rc, _, err = run_cli(main, args + ['--out', str(f.parent)])
    assert rc == 0, err
    rc, _, err = run_cli(main, args + ['--out', str(tmp_path/'whole')])
    assert rc == 0, err
    resumed, whole = read_trajectories(f), read_trajectories(tmp_path/'whole'/'run.jsonl')
    assert resumed == whole and len(whole) == 8
    assert [t for t in resumed if t.case_idx in {x.case_idx for x in part}] == part
    assert {t.stop_reason for t in whole} <= VALID


# ---- endpoints ----

def test_failing_endpoint_keeps_finished_cases(world, tmp_path):
    careful = ScriptedBackend(world, get_policy('careful'))
    ref = rollout(world, careful, range(12), progress=False)
    args = ['--agent', None, '--out', str(tmp_path), '--cases', '0-12', '--batch-size', '3', '--save-every', '0',
            '--judge', 'none', '--name', 'run', '--request-retries', '1', '--no-progress']
    with ChatServer(careful, faults=[None]*30 + [500]*100) as srv:
        args[1], port = f'openai:careful@{srv.url}', srv.httpd.server_address[1]
        rc, _, err = run_cli(main, ['rollout', *args])
    assert rc == 1 and 'no answer after 2 attempts; last error: InternalServerError' in err
    kept = read_trajectories(tmp_path/'run.jsonl')
    assert 0 < len(kept) < 12 and f"{len(kept)} finished case(s) are kept in {tmp_path/'run.jsonl'}" in err
    with ChatServer(careful, port=port) as srv, warnings.catch_warnings(record=True) as w:  # the endpoint is back: the run resumes
        warnings.simplefilter('always')
        rc, _, err = run_cli(main, ['rollout', *args])
    assert rc == 0, err
    assert not [x for x in w if 'different run' in str(x.message)]  # the same endpoint and model: resumed, not restarted
    assert read_trajectories(tmp_path/'run.jsonl') == ref


def test_unreachable_endpoint_is_a_clear_error(tmp_path):
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    rc, _, err = run_cli(main, ['rollout', '--agent', f'openai:m@http://127.0.0.1:{port}/v1', '--out', str(tmp_path), '--cases', '0-3',
                                       '--request-retries', '1', '--judge', 'none', '--no-progress'])
    assert rc == 1 and 'APIConnectionError' in err and '0 finished case(s) are kept' in err


# ---- tiny HF agents ----

def test_hf_agent_lockstep_equals_case_by_case(world, sandbox_tiny):
    hf = HFBackend(sandbox_tiny, device='cpu')
    cfg = dict(max_new_tokens=24, max_retries=1, max_steps=3)
    cases = [0, 5, 13, 30, 77, 100]
    batched = rollout(world, hf, cases, RolloutConfig(batch_size=6, **cfg), progress=False)
    single = rollout(world, hf, cases, RolloutConfig(batch_size=1, **cfg), progress=False)
    assert batched == single
    assert {t.stop_reason for t in batched} <= VALID
    assert all(len(t.extra.get('format_errors', [])) <= 1 for t in batched)


def test_limits_with_a_model(world, sandbox_tiny, tmp_path):
    hf = HFBackend(sandbox_tiny, device='cpu')
    t, = rollout(world, hf, [3], RolloutConfig(max_new_tokens=16, token_budget=40, max_retries=10), progress=False)
    assert t.stop_reason == 'token_limit' and len(t.extra['format_errors']) == 2  # 16 + 16 + 8 tokens
    n = hf.count_tokens(agent_prompt(world.cases[3], world.case_toolkits(3)))
    t, = rollout(world, hf, [3], RolloutConfig(context_budget=n), progress=False)
    assert (t.stop_reason, t.steps, t.final_log) == ('context_limit', [], '')
    t, = rollout(world, hf, [3], RolloutConfig(context_budget=n + 10, max_new_tokens=50, max_retries=5), progress=False)
    assert t.stop_reason == 'context_limit' and len(t.extra['format_errors']) >= 1  # the history grew past the budget


# ---- ToolEmu with tiny models as agent, emulator and judge ----

class FirstCall(Backend):
    "An agent that calls the case's first tool once, then answers."
    name = 'first-call'
    def __init__(self, cs): self.cs = cs
    def generate(self, batch, stop=(), max_new_tokens=256, temperature=0.0, seed=0):
        from agentsafety.agents.prompt import read_history
        from agentsafety.environments.toolemu import tool_names
        out = []
        for m in batch:
            h = read_history(m)
            i = next(k for k, c in enumerate(self.cs.cases) if c.user_instruction == h.instruction)
            text = ('Thought: done\nFinal Answer: I did it.' if h.steps else
                    f'Thought: look\nAction: {tool_names(self.cs.case_toolkits(i))[0]}\nAction Input: {{"query": "x"}}\n')
            out.append(Generation(text, 10, 10))
        return out


def test_toolemu_end_to_end_with_tiny_models(toolemu_dir, tmp_path):
    from agentsafety.environments.toolemu import load_toolemu
    from agentsafety.judges.emulator import LLMEmulator, emulator_messages
    from agentsafety.judges.llm import LLMJudge, judge_messages, judge_file
    cs = load_toolemu(toolemu_dir)
    cases = [0, 1, 2]
    texts = [task_message(cs.cases[i], cs.case_toolkits(i)) for i in cases]
    texts += [m['content'] for i in cases for m in emulator_messages(cs.cases[i], cs.case_toolkits(i), [], 'X', '{}')]
    model = scrambled_tiny(tmp_path/'tiny', texts, max_positions=8192)
    common = ['--env', str(toolemu_dir), '--cases', '0-3', '--max-new-tokens', '16', '--max-retries', '1',
              '--emulator', f'hf:{model}', '--emulator-max-new-tokens', '24', '--judge', f'hf:{model}',
              '--judge-max-new-tokens', '24', '--max-rejudge', '1', '--max-unparsed', 'none', '--device', 'cpu', '--no-progress']
    rc, out, err = run_cli(main, ['rollout', '--agent', f'hf:{model}', '--out', str(tmp_path/'out'), *common])
    assert rc == 0, err
    f = tmp_path/'out'/'tiny_emu-tiny_eval-tiny_r0-3.jsonl'
    trajs, evals = read_run(f, ('safe', 'help_ignore_safety', 'help_safe'))
    assert [t.case_idx for t in trajs] == cases and {t.stop_reason for t in trajs} <= VALID
    for m, lines in evals.items():
        assert [l.eval_id for l in lines] == [0, 1, 2] and all(l.score in (None, 0, 1, 2, 3) for l in lines)
        assert f"{m}: mean" in out
    # a scripted agent makes tool calls, so the tiny emulator plays them
    env = LLMEmulator(cs, HFBackend(model, device='cpu'), 'adversarial', max_new_tokens=24)
    got = rollout(env, FirstCall(cs), cases, out=tmp_path/'calls.jsonl', progress=False)
    assert all(len(t.steps) == 1 and t.steps[0].emulator_log for t in got)
    assert all(t.stop_reason == 'final_answer' for t in got)
    rep = judge_file(tmp_path/'calls.jsonl', LLMJudge(HFBackend(model, device='cpu'), max_new_tokens=24, max_rejudge=0, max_unparsed=None),
                     ['safe'], cs, progress=False)
    assert rep['safe']['judgements'] == 3 and rep['safe']['missing'] == rep['safe']['missing_first']
    assert len(read_run(tmp_path/'calls.jsonl', ['safe'])[1]['safe']) == 3


def test_inference_layout_is_the_training_layout(world):
    "What the engine shows the agent at its last turn is the prompt and turns `agentsafety.training.prefs` trains on."
    from agentsafety.training.prefs import world_prompt_fn, trajectory_messages, Judged
    last = {}
    class Spy(ScriptedBackend):
        def generate(self, batch, **kw):
            for m in batch: last[self.case_of(m)] = m
            return super().generate(batch, **kw)
    trajs = rollout(world, Spy(world, get_policy('pool-02')), range(0, 144, 7), progress=False)
    prompt = world_prompt_fn(world)
    for t in trajs:
        assert last[t.case_idx] == prompt(Judged(t, 'x')) + trajectory_messages(t)[:-1]
