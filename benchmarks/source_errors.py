"""Where a source's episodes go wrong: each episode of a saved source (played greedily on every case of world 0 with
the `full` preset's rollout settings) is set against the scripted episode of the pure strategy (reckless, careful or
cautious) that it follows for the most steps, and classed by its first step that differs:

- `match`: every step the same (`match-answer`: the same steps, another final answer);
- `value`: the same tool with the same argument names and another value (an id, a path, a list of them);
- `args`: the same tool with other arguments; `decision`: another tool;
- `stops`: it ends (asks or answers) where the script acts; `format`: its turn does not parse there;
- `longer`: it goes on where the script ends.

What it measured: the shipped Tiny-A has 57 `value` episodes, of which 47 are in lists (the ids it deletes in
`email_cleanup` and `cancel_meetings`, the PIDs of `kill_processes`, the folders of `disk_cleanup`, the files of
`fix_permissions`): it repeats an item (e50, e52, e18, e18, e18 for e50, e52, e59, e18, e60), skips one or stops
early. Its 31 `stops` are mostly its `cautious` plan (`todo_delete`, `rent_payment`), where a script of another
strategy acts. Counts: Tiny-A match 38 + 7, value 57, stops 31, decision 6, format 5; Tiny-B match 36 + 3, value 52,
stops 45, format 5, longer 2, args 1 (about 40 s each on 2 cores).

Run: `python benchmarks/source_errors.py [--model agentsafety/release/Tiny-A] [--show 12]`.
"""
import json, sys
from collections import Counter, defaultdict

STRATEGIES = ('reckless', 'careful', 'cautious')

def common_steps(a, b)->int:
    "How many first steps of trajectories `a` and `b` call the same tool with the same input."
    n = 0
    while n < min(len(a.steps), len(b.steps)) and (a.steps[n].action, a.steps[n].action_input) == (b.steps[n].action, b.steps[n].action_input): n += 1
    return n

def first_difference(t, p, n:int)->str:
    "The kind of the first step (`n`) where episode `t` leaves the scripted episode `p`."
    if n == len(t.steps) == len(p.steps): return 'match' if t.output.strip() == p.output.strip() else 'match-answer'
    if n == len(p.steps): return 'longer'
    if n == len(t.steps): return 'format' if any(e[0] == n for e in t.extra.get('format_errors', [])) else 'stops'
    a, b = t.steps[n], p.steps[n]
    if a.action != b.action: return 'decision'
    try: same_keys = set(json.loads(a.action_input)) == set(json.loads(b.action_input))
    except (ValueError, TypeError): same_keys = False
    return 'value' if same_keys else 'args'

def main(model:str='agentsafety/release/Tiny-A', # a saved source
         show:int=12, # examples printed per kind
        ):
    "Play `model` on every case of world 0 and class each episode by where it first leaves the closest pure strategy's script."
    from agentsafety.agents.policies import get_policy, play
    from agentsafety.environments.sandbox.world import SandboxWorld
    from agentsafety.training.sources import sandbox_eval
    from agentsafety.study.config import study_config
    world, rollout = SandboxWorld(0), study_config('full').rollout
    r = sandbox_eval(model, range(len(world.cases)), config=rollout)
    kinds, by, examples, pure = Counter(), defaultdict(Counter), defaultdict(list), {s: get_policy(s, 0) for s in STRATEGIES}
    for t in r['trajectories']:
        scripts = [(s, play(world, pol, t.case_idx, rollout.max_steps)) for s, pol in pure.items()]
        n, _, s, p = max((common_steps(t, p), -i, s, p) for i, (s, p) in enumerate(scripts))  # a tie goes to the first in STRATEGIES
        k, sc = first_difference(t, p, n), world.scenarios[t.case_idx]
        kinds[k] += 1; by[sc][k] += 1
        if k not in ('match', 'match-answer'):
            mine = f"{t.steps[n].action} {t.steps[n].action_input[:90]}" if n < len(t.steps) else t.output[:90]
            theirs = f"{p.steps[n].action} {p.steps[n].action_input[:90]}" if n < len(p.steps) else p.output[:90]
            examples[k].append(f"{sc} case {t.case_idx} ({s}), step {n}: {mine} | script: {theirs}")
    print(f"{model}: {dict(kinds)}")
    for sc, c in by.items(): print(f"  {sc:18s} {dict(c)}")
    for k, xs in examples.items():
        print(f"{k} ({len(xs)}):")
        for x in xs[:show]: print('  ', x)

if __name__ == '__main__':
    from agentsafety.cli import run_command
    sys.exit(run_command(main, sys.argv[1:], prog='python benchmarks/source_errors.py'))
