"""Lockstep batching against case-by-case rollouts: a tiny Hugging Face agent on the 72 test cases of the sandbox
(split seed 0), same seed, greedy decoding. Checks that both give identical trajectories and prints both times and
their ratio (goal: batched at least 5x faster on 2 cores).

The agent is an untrained tiny Llama from `agentsafety.agents.lm` (tokenizer trained here on the sandbox's prompts,
nothing downloaded) whose layers are scaled up so that its text varies; its turns are noise, so every episode is
re-prompted and ends on `parse_error`: the work measured is generation, which is what batching speeds up.

    python benchmarks/rollout.py [--max-new-tokens 32] [--retries 2] [--repeat 1]

With `--repeat N` both runs are repeated N times, alternating (other processes on the machine make single timings
noisy), and the ratio of the median times is printed as well.
"""
import argparse, tempfile, time
from pathlib import Path
import torch
from agentsafety.core import test_cases
from agentsafety.environments.sandbox.world import SandboxWorld
from agentsafety.agents.policies import get_policy, play
from agentsafety.agents.prompt import task_message
from agentsafety.agents.lm import tiny_agent, save_agent, TinyConfig
from agentsafety.agents.backends import HFBackend
from agentsafety.agents.rollout import rollout, RolloutConfig


def tiny_sandbox_agent(world, path):
    texts = [task_message(c, world.case_toolkits(i)) for i, c in enumerate(world.cases)]
    texts += [s.log for i in range(0, 144, 3) for s in play(world, get_policy('careful'), i).steps]
    model, tok = tiny_agent(texts, 1024, TinyConfig(hidden=64, intermediate=128))
    with torch.no_grad():
        for n, p in model.named_parameters():
            if 'embed' not in n and 'norm' not in n: p.mul_(10)
    return save_agent(model, tok, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--max-new-tokens', type=int, default=32)
    ap.add_argument('--retries', type=int, default=2, help='re-prompts per episode (the episode has retries + 1 turns)')
    ap.add_argument('--repeat', type=int, default=1, help='time both runs this many times, alternating')
    a = ap.parse_args()
    world = SandboxWorld(seed=0)
    cases = test_cases(0)
    with tempfile.TemporaryDirectory() as d:
        hf = HFBackend(tiny_sandbox_agent(world, Path(d)/'tiny'), device='cpu')
        n_prompt = sum(hf.count_tokens([{'role': 'user', 'content': task_message(world.cases[i], world.case_toolkits(i))}])
                       for i in cases) / len(cases)
        cfg = dict(max_new_tokens=a.max_new_tokens, max_retries=a.retries, temperature=0.0, seed=0)
        hf.generate([[{'role': 'user', 'content': 'warm up'}]], max_new_tokens=4)
        times, same = [], True
        for _ in range(a.repeat):
            hf.clear_cache()  # each run starts with no cached prompt blocks
            t0 = time.perf_counter()
            batched = rollout(world, hf, cases, RolloutConfig(batch_size=len(cases), **cfg), progress=False)
            t1 = time.perf_counter()
            hf.clear_cache()
            t1 = time.perf_counter()
            single = rollout(world, hf, cases, RolloutConfig(batch_size=1, **cfg), progress=False)
            t2 = time.perf_counter()
            times.append((t1 - t0, t2 - t1))
            same = same and batched == single
    turns = sum(len(t.steps) + len(t.extra.get('format_errors', [])) + 1 for t in batched)
    print(f"tiny agent: {sum(p.numel() for p in hf.model.parameters()):,} parameters, {torch.get_num_threads()} torch threads "
          f"(1 while generating), mean prompt {n_prompt:.0f} tokens")
    print(f"{len(cases)} test cases (split seed 0), {turns} agent turns of at most {a.max_new_tokens} tokens, greedy")
    for tb, ts in times:
        print(f"lockstep batch of {len(cases)}: {tb:7.2f} s   case by case: {ts:7.2f} s   speed-up: {ts / tb:5.2f}x  (goal >= 5x)")
    if len(times) > 1:
        med = lambda xs: sorted(xs)[len(xs) // 2]
        tb, ts = med([t[0] for t in times]), med([t[1] for t in times])
        print(f"medians of {len(times)}: {tb:7.2f} s   case by case: {ts:7.2f} s   speed-up: {ts / tb:5.2f}x")
    print(f"trajectories identical: {same}")
    if not same: raise SystemExit('batched and case-by-case trajectories differ')


if __name__ == '__main__': main()
