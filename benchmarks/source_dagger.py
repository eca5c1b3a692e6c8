"""Imitation with corrections (DAgger) for a source: does it fix the turns where a source leaves its policy?

A source learns its policy's episodes teacher-forced, so at test time a first mistake leads it into states its
training never showed (a list item skipped, an id re-read), and the errors compound. DAgger rolls the source out,
asks the scripted policy what it would write from each state the source reached (the sandbox's scripts act from any
history: a call the script needs and has not seen made is its next turn), and fine-tunes on the original episodes plus
those corrections. Here a round rolls the source out greedily with the study's rollout settings on `--rollout-worlds`
(never a study's world), takes the first turn of each episode whose tool call (or final answer) differs from the
policy's from the same state, and fine-tunes the base again on the source's own episodes plus every correction so
far; `source_competence.py` then scores each round's source on the study's world.

What it measured (2 cores; a round takes about 5 minutes, 1.5 of them the rollouts; 3 epochs at the recipe's lr):

| source | corrections, round 1 / 2 / 3 | scenarios at both levels, round 0 / 1 / 2 / 3 |
|---|---|---|
| Tiny-B's weights, `by=variant,lean=1`, on the shipped plan (the defaults), rolled out on worlds 1000-1001, its own fine-tuning worlds (`--rollout-worlds 1000 --rollout-worlds 1001 --rounds 2`) | 58 of 288 / 44 | 8 / 8 / 8 |
| the same, rolled out on worlds 1002-1007, new ones (the defaults) | 268 of 864 / 225 / 183 | 8 / 9 / 8 / 9 |
| Tiny-A's weights, `by=variant,lean=0.5`, its own plan (`--policy 'mix:reckless=2,cautious=1,careful=1,by=variant,lean=0.5' --seed 0 --plan-of ''`), worlds 1002-1007 | 447 of 864 / 392 / 310 | 6 / 5 / 5 / 5 |

Not a lever: the corrections are learned (fewer episodes leave the policy each round on the worlds they came from:
Tiny-B's `forward_email` 29 → 4 → 5, `cancel_meetings` 50 → 36 → 35), but the study's world scores within a scenario
of where it was (Tiny-B's `cancel_meetings` moves across the 80% line and back: 75%, 86%, 75%, 83%; its `todo_delete`
stays at 58-67%, `forward_email` at 64-75%), Tiny-A loses one, and `invoice_payments` leaves its policy in every
episode of every round (72 of 72).
What fails is what the source cannot do from any state (the choice of the next record, a value copied from far back),
not a state it was never shown.

Run: `python benchmarks/source_dagger.py [--policy SPEC --seed N --plan-of SPEC] [--out DIR] [--source DIR] [--rounds 3]
[--rollout-worlds 1002 --rollout-worlds 1003 ...]` (`--rollout-worlds` repeatable; without `--source` round 0 is
fine-tuned from the shipped base first); then `python benchmarks/source_competence.py --model DIR/rK --policy SPEC
--seed N [--plan-of SPEC]` for each round K.
"""
import json, sys, time

def _call(text:str)->tuple:
    "What a turn does: its tool and arguments (JSON compared as data), or that it finishes or does not parse."
    from agentsafety.react import parse_react
    p = parse_react(text)
    if p.kind != 'action': return (p.kind,)
    try: return ('action', p.action, json.dumps(json.loads(p.action_input), sort_keys=True))
    except ValueError: return ('action', p.action, p.action_input)

def corrections(model_dir:str, policy, worlds:list[int], rollout)->tuple[list[dict], dict]:
    "SFT examples (the source's history as the prompt, the policy's next turn as the completion) at the first turn of each episode where the source leaves `policy`; counts per scenario."
    from collections import Counter
    from agentsafety.core import Trajectory
    from agentsafety.react import parse_react
    from agentsafety.agents.backends import HFBackend
    from agentsafety.agents.prompt import agent_prompt
    from agentsafety.agents.rollout import rollout as play_out
    from agentsafety.environments.sandbox.world import SandboxWorld
    from agentsafety.training.prefs import trajectory_messages, _agent_message
    out, left, backend = [], Counter(), HFBackend(model_dir)
    for seed in worlds:
        w = SandboxWorld(seed)
        left['episodes'] += len(w.cases)
        for t in play_out(w, backend, None, rollout, progress=False):
            i, case = t.case_idx, w.cases[t.case_idx]
            turns = [s.log for s in t.steps] + ([t.final_log] if t.final_log is not None else [])
            for k, own in enumerate(turns):
                want = parse_react(policy.act(i, case, t.steps[:k])).log
                if _call(want) != _call(own):
                    prompt = agent_prompt(case, w.case_toolkits(i), rollout.variant, rollout.detail)
                    out.append({'prompt': prompt + trajectory_messages(Trajectory(i, t.steps[:k])), 'completion': [_agent_message(want, k == 0)]})
                    left[w.scenarios[i]] += 1
                    break
    return out, dict(left)

def main(policy:str='mix:reckless=2,cautious=2,careful=1,by=variant,lean=1', # the scripted policy the source imitates (default: Tiny-B's weights, every choice by what it reads)
         seed:int=2, # its seed
         plan_of:str='mix:reckless=2,cautious=2,careful=1,by=scenario,lean=0.5', # play this policy spec's scenario plan instead, as `source_competence.py --plan-of` (default: the shipped Tiny-B's); '' for the policy's own
         out:str='/tmp/source-dagger', # where each round's source goes (`out/r0`, `out/r1`, ...)
         source:str=None, # the round-0 source (None: fine-tune one from the shipped base, as `agentsafety sources build` does)
         rounds:int=3, # rounds of rollouts and fine-tuning
         rollout_worlds:list[int]=list(range(1002, 1008)), # sandbox seeds the source is rolled out on (never a study's world)
        ):
    "Fine-tune a source with `rounds` rounds of DAgger corrections and save each round's model."
    from pathlib import Path
    from dataclasses import replace
    from agentsafety.agents.lm import load_agent
    from agentsafety.agents.policies import get_policy
    from source_competence import with_plan
    from agentsafety.study.config import study_config
    from agentsafety.training.release import Recipe, shipped_model, build_source, _save
    from agentsafety.training.sources import SourceSpec, sandbox_items, sft_examples, sft
    t0, r, rollout = time.time(), Recipe(), study_config('full').rollout
    if plan_of: with_plan(plan_of, seed)
    pol, base, settings = get_policy(policy, seed), shipped_model('base'), replace(r.source_sft, seed=seed)
    own = sft_examples(sandbox_items(policy, r.source_worlds, seed, variant=rollout.variant, detail=rollout.detail))
    model = source or f"{out}/r0"
    if source is None: build_source(SourceSpec('source', policy, seed, r.source_worlds, sft=r.source_sft), base, model, progress=False)
    extra = []
    for k in range(1, rounds + 1):
        fixes, counts = corrections(model, pol, rollout_worlds, rollout)
        extra += fixes
        m, tok = load_agent(base)
        metrics = sft(m, tok, own + extra, settings, None, progress=False)
        model = f"{out}/r{k}"
        _save(m, tok, model, {'role': 'source', 'policy': policy, 'seed': seed, 'dagger_round': k, 'sft': metrics})
        print(f"round {k}: corrections {counts}, {len(extra)} in all; fine-tuned on {metrics['examples']} examples ({time.time() - t0:.0f} s) -> {model}", flush=True)

if __name__ == '__main__':
    from agentsafety.cli import run_command
    sys.exit(run_command(main, sys.argv[1:], prog='python benchmarks/source_dagger.py'))
