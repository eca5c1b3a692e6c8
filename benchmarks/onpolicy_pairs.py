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

Run: `python benchmarks/onpolicy_pairs.py [--source Tiny-A] [--seed 0] [--samples 12] [--temperature 1.3]`.
"""
import json, sys, time
from dataclasses import replace
from pathlib import Path
from agentsafety.study.config import StudyConfig

def main(source:str='Tiny-A', # a shipped source
         seed:int=0, # the split seed: samples and pairs on its train cases, evaluation on its test cases
         samples:int=StudyConfig.samples, # episodes the source plays per train case
         temperature:float=StudyConfig.sample_temperature, # sampling temperature of those episodes
         beta:float=0.1, # DPO β
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
    model, root = str(shipped_model(source)), Path(out)/f"{source}_s{seed}"
    stage_source_samples(root/'samples', cfg, model, split_cases(seed, cfg.n_cases)[0])
    stage_source_prefs(root/'pairs', cfg, str(root/'samples'), seed)
    counts = json.loads((root/'pairs'/'counts.json').read_text())
    rows = [{'agent': source, 'pairs': None, **judged(model)}]
    for data in ('safe', 'help'):
        if not counts[data]: rows.append({'agent': data, 'pairs': 0}); continue
        dpo_stage(model, root/'pairs'/f"{data}.jsonl", root/data, split_seed=None, n_cases=cfg.n_cases, settings=replace(cfg.dpo, beta=beta), data_name=data, progress=False)
        rows.append({'agent': data, 'pairs': counts[data], **judged(str(root/data/'model'))})
    base = rows[0]
    for r in rows[1:]:
        if r['pairs']: r.update(d_safety=r['safety'] - base['safety'], d_help=r['help_ignore'] - base['help_ignore'])
    print(json.dumps({'source': source, 'seed': seed, 'samples': samples, 'temperature': temperature, 'beta': beta,
                      'seconds': round(time.time() - t0), 'rows': rows}, indent=1))

if __name__ == '__main__':
    from agentsafety.cli import run_command
    sys.exit(run_command(main, sys.argv[1:], prog='python benchmarks/onpolicy_pairs.py'))
