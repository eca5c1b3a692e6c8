"""DPO on preference pairs of the source's own episodes (`StudyConfig(pairs_from='source')`) against the scripted pool's,
measured on one split without the rest of the study.

With `pairs_from='pool'` the study's pairs come from the pool of 25 scripted agents (as the paper's come from its
released pool); this benchmark is why the sandbox presets now pair the source's own episodes instead. The pool's turns
are not the source's: on Tiny-A's refusal scenarios, H lowered the pool's refusal opener (its first three tokens from
-2.22 to -3.34 nats) and left Help(Ignore) where it was, because the source's own turns there (look first, then ask)
are not the texts the pairs push down. Here the source plays each train case of a split `samples` times at
`temperature`, the world's judges score every episode and the study's own rules pair them (the study's
`stage_source_samples` and `stage_source_prefs`); S and H are trained with the `full` preset's DPO settings and rolled out greedily on the test
cases beside the source.

What it measured (`samples` 12, `temperature` 1.3, β 0.1), ΔSafety / ΔHelp(Ignore) on the split's 72 test cases, with
the `full` preset's pool pairs (same DPO settings, same split) in brackets:

| source, split | S pairs | S | H pairs | H |
|---|---|---|---|---|
| Tiny-A, 0 | 336 | +0.15 / −0.28 (+0.22 / −0.31) | 254 | −0.39 / **+0.31** (−0.01 / −0.15) |
| Tiny-A, 1 | 288 | +0.26 / −0.25 (+0.24 / −0.22) | 221 | −0.26 / **+0.04** (+0.03 / −0.01) |
| Tiny-A, 2 | 336 | +0.13 / −0.42 (+0.28 / −0.61) | 248 | −0.29 / **+0.13** (+0.10 / −0.24) |
| Tiny-B, 0 | 320 | +0.03 / −0.01 (+0.08 / −0.18) | 230 | −0.14 / **+0.25** (−0.01 / −0.01) |
| Tiny-B, 1 | 304 | +0.06 / −0.07 (+0.10 / −0.18) | 211 | −0.08 / **+0.14** (−0.07 / +0.10) |
| Tiny-B, 2 | 328 | −0.03 / −0.01 (+0.01 / −0.06) | 226 | −0.29 / **+0.46** (−0.08 / +0.11) |

H on the source's own pairs raises Help(Ignore) on all six (and costs Safety, as in the paper). S moves Safety a little
less than on the pool's pairs (Tiny-A +0.13 to +0.26 against +0.22 to +0.28) at a similar or smaller cost in help.
The trained agents' turns parse at 0.85-0.97 (the sources' 0.91-0.95).
With 4 samples at temperature 1, a source this sharp gives only ~50 pairs over 16-19 cases, and nothing moves.
About 3 minutes per source and split on 2 cores.

Mixed pairs (session 21, `--mixed`): the source's own episodes as the rejected, its own or the scripted pool's as the
chosen (the paper's pool held its sources' runs beside other models'), so DPO still pushes down only turns the source
writes but can pull it toward acting or careful episodes it never samples itself. Split 0, ΔSafety / ΔHelp(Ignore) of S
and H against the source on the split's 72 test cases, own pairs first, mixed after (the sources are `source_competence.py
--out` folders; scenarios at both of issue 12's levels in parentheses):

| source | β | S, own | S, mixed | H, own | H, mixed |
|---|---|---|---|---|---|
| shipped Tiny-A (4 of 12) | 0.1 | +0.82 / −1.10 | +0.71 / −0.92 | −0.08 / +0.14 | −0.06 / +0.08 |
| shipped Tiny-B (6 of 12) | 0.1 | +0.58 / −0.88 | +0.64 / −1.22 | −0.21 / +0.14 | +0.08 / −0.19 |
| Tiny-A's weights `by=variant,lean=0.5` (6 of 12) | 0.1 | +0.32 / −0.46 | +0.57 / −0.88 | −0.24 / +0.03 | −0.15 / +0.08 |
| the same | 0.05 | +0.28 / −0.43 | +0.42 / −0.65 | −0.14 / +0.01 | −0.08 / −0.04 |
| Tiny-A's weights `by=variant,lean=1`, own plan (6 of 12) | 0.1 | +0.22 / −0.42 | +0.57 / −0.99 | +0.10 / −0.21 | +0.28 / −0.58 |
| Tiny-B's weights `by=variant,lean=1`, own plan (5 of 12) | 0.1 | +0.06 / −0.25 | +0.03 / −0.08 | −0.14 / −0.03 | −0.15 / −0.04 |
| Tiny-B's weights `by=variant,lean=1`, shipped plan (8 of 12) | 0.1 | +0.40 / −0.60 | +0.36 / −0.57 | −0.17 / +0.10 | +0.08 / −0.04 |

Mixed pairs give S more to work with where the source's own samples hold no coherent safe episode (the `lean=1`
Tiny-A: +0.22 → +0.57; `by=variant` Tiny-A +0.32 → +0.57), but not where its harm sits in turns it cannot execute
(the `lean=1` Tiny-B), and they cost H everywhere but one row: where the source refuses, H on the pool's acting episodes
does flip refusals (Tiny-B shipped plan: `pattern_delete` 0 → 3, `email_cleanup` 0 → 1.6, `rent_payment` 0 → 1), but the
same stage breaks turns it never trained on (`forward_email` 2.18 → 0.73 on 11 test cases: loops and stray arguments).
No source gets S ≥ 0.5 and H > 0 from them at both β where its own pairs fail, so the study keeps its own pairs.

Run: `python benchmarks/onpolicy_pairs.py [--source Tiny-A | DIR] [--seed 0] [--samples 12] [--temperature 1.3] [--beta 0.1] [--mixed]`.
"""
import json, sys, time
from dataclasses import replace
from pathlib import Path
from agentsafety.study.config import StudyConfig

def _mixed_pairs(root:Path, to:Path, cfg, seed:int):
    "The pairs of the source's own episodes (rejected) against its own or the scripted pool's (chosen), on the split's train cases."
    from agentsafety.core import split_cases
    from agentsafety.study.stages import PREF_RULES, cap_per_case, stage_pool, study_world
    from agentsafety.training.prefs import build_pairs, load_judged, pair_examples, PairRules, world_prompt_fn, write_pairs
    if not (root.parent/'pool'/'done').exists(): stage_pool(root.parent/'pool', cfg); (root.parent/'pool'/'done').write_text('')
    train = set(split_cases(seed, cfg.n_cases)[0])
    own = [j for j in load_judged(root/'samples') if j.case_idx in train]
    pool = own + [j for j in load_judged(root.parent/'pool') if j.case_idx in train]
    prompt, counts = world_prompt_fn(study_world(cfg), cfg.rollout.variant, cfg.rollout.detail), {}
    for name in ('safe', 'help'):
        pairs = [p for p in build_pairs(pool, PairRules(**PREF_RULES[name])) if p.rejected < len(own)]  # the source's own turns are pushed down
        pairs = cap_per_case(pairs, cfg.pairs_per_case, seed=cfg.pool_seed)
        write_pairs(to/f"{name}.jsonl", pair_examples(pool, pairs, prompt)[0])
        counts[name] = len(pairs)
    (to/'counts.json').write_text(json.dumps(counts))

def main(source:str='Tiny-A', # a shipped source, or the folder of a saved one
         seed:int=0, # the split seed: samples and pairs on its train cases, evaluation on its test cases
         samples:int=StudyConfig.samples, # episodes the source plays per train case
         temperature:float=StudyConfig.sample_temperature, # sampling temperature of those episodes
         beta:float=0.1, # DPO β
         mixed:bool=False, # pair the source's own episodes (rejected) with its own or the scripted pool's (chosen), not only its own
         out:str='/tmp/onpolicy-pairs', # folder of the trained agents
        ):
    "Sample the source, pair its own episodes, train S and H on them, and print ΔSafety, ΔHelp(Ignore) and parse rates."
    from agentsafety.core import split_cases
    from agentsafety.study.config import study_config
    from agentsafety.study.stages import stage_source_samples, stage_source_prefs
    from agentsafety.training.dpo import dpo_stage
    from agentsafety.training.release import shipped_model
    from agentsafety.training.sources import sandbox_eval
    t0 = time.time()
    cfg = study_config('full', pairs_from='source', samples=samples, sample_temperature=temperature)
    test = split_cases(seed, cfg.n_cases)[1]
    def judged(model_dir:str)->dict:  # greedy on the test cases, as the study evaluates
        r = sandbox_eval(model_dir, test, cfg.world_seed, cfg.rollout)
        return {k: r[k] for k in ('safety', 'help_ignore', 'parse_rate')}
    model = str(source if Path(source).is_dir() else shipped_model(source))
    root = Path(out)/f"{Path(source).name}_s{seed}_n{samples}_t{temperature}"  # a folder per sampling: never another run's episodes
    if not (root/'samples'/'done').exists():  # the samples serve both kinds of pairs and every β
        stage_source_samples(root/'samples', cfg, model, split_cases(seed, cfg.n_cases)[0]); (root/'samples'/'done').write_text('')
    pairs = root/('mixed' if mixed else 'own')/'pairs'
    if mixed: _mixed_pairs(root, pairs, cfg, seed)
    else: stage_source_prefs(pairs, cfg, str(root/'samples'), seed)
    counts = json.loads((pairs/'counts.json').read_text())
    rows = [{'agent': source, 'pairs': None, **judged(model)}]
    for data in ('safe', 'help'):
        if not counts[data]: rows.append({'agent': data, 'pairs': 0}); continue
        agent = pairs.parent/f"{data}-beta{beta}"
        dpo_stage(model, pairs/f"{data}.jsonl", agent, split_seed=None, n_cases=cfg.n_cases, settings=replace(cfg.dpo, beta=beta), data_name=data, progress=False)
        rows.append({'agent': data, 'pairs': counts[data], **judged(str(agent/'model'))})
    base = rows[0]
    for r in rows[1:]:
        if r['pairs']: r.update(d_safety=r['safety'] - base['safety'], d_help=r['help_ignore'] - base['help_ignore'])
    print(json.dumps({'source': source, 'seed': seed, 'mixed': mixed, 'samples': samples, 'temperature': temperature, 'beta': beta,
                      'seconds': round(time.time() - t0), 'rows': rows}, indent=1))

if __name__ == '__main__':
    from agentsafety.cli import run_command
    sys.exit(run_command(main, sys.argv[1:], prog='python benchmarks/onpolicy_pairs.py'))
