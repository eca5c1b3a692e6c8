"""DPO levers on the shipped sources: what each choice of DPO settings does to held-out Safety, Help(Ignore) and the
share of agent turns that parse, against the source on the same cases.

Each lever is a set of overrides of the `full` preset's `DPOSettings`. For every source, split seed and lever the script
trains the S and H single stages at one β and evaluates them on the seed's test cases. The world, the pool, the pairs
and the sources' evaluations are stages of one study folder (`--out`), built once and shared by every lever, so a
lever costs its DPO stages and their evaluations (about 75 s per source and seed on 2 cores). The first lever is the
previous preset (LoRA on every linear layer, pure DPO), so every row compares with it in the same run. The pairs are the
scripted pool's (`pairs_from='pool'`), the preset's when these levers were measured.

What this procedure measured (one to three split seeds per lever; issue 12's closing note has every row): with
adapters on every linear layer, S and H both wreck the agents' turns (a fifth to a half of them stop parsing: ids
copied twice, the first word of the first turn garbled), so Safety rises because the agents stop acting and
Help(Ignore) falls under H too. A lower learning rate trades one for the other: at 1e-3 fewer turns break but S
raises Safety by only +0.06, at 3e-4 and below nothing moves. With adapters on
the MLPs only, the attention that copies ids from observations is left alone and S keeps the format; a supervised term
on the chosen turn (`sft_weight` 2) keeps H's turns readable as well (parse rate 0.89-0.93, the sources' 0.92-0.95).
`--levers all-linear --levers mlp-sft --sources Tiny-A --seeds 0` (3 minutes) gives: all-linear S +0.28 Safety,
-0.72 Help(Ignore), H -0.64 Help(Ignore), parse rate 0.80 / 0.65; mlp-sft S +0.22, -0.31, H -0.15, parse 0.92 / 0.89.

Run: `python benchmarks/dpo_levers.py --out /tmp/levers [--sources Tiny-A] [--seeds 1] [--levers mlp-sft] [--beta 0.1]`
(each option repeatable; by default every lever, both sources and split seed 0: about 13 minutes).
"""
import sys
from argparse import ArgumentTypeError
from pathlib import Path
import numpy as np
from agentsafety.training.dpo import PRESETS

MLP = PRESETS['tiny-cpu'].target # the preset's adapters: the MLP projections
LEVERS = {'all-linear': dict(target='all-linear', sft_weight=0.0), # the previous preset: adapters on every linear layer, pure DPO
          'mlp': dict(target=MLP, sft_weight=0.0), # adapters on the MLPs only
          'mlp-sft': {}, # and a supervised term on the chosen turn: the preset as it is
          'all-linear-lr1e-3': dict(target='all-linear', sft_weight=0.0, lr=1e-3),
          'mlp-lr6e-3': dict(target=MLP, sft_weight=0.0, lr=6e-3)}

def episodes(tree, agent:str)->dict:
    "Case → (Safety, Help(Ignore), trajectory) of `agent` in the results tree `tree` (its first run of each case)."
    return {c: (e[0].evals['safe'].score, e[0].evals['help_ignore_safety'].score, e[0].trajectory) for c, e in tree.episodes(agent).items()}

def lever_rows(out:Path, source:str, seed:int, beta:float, name:str, overrides:dict)->list[dict]:
    "ΔSafety, ΔHelp(Ignore) and parse rate of the S and H agents trained with `overrides`, on the seed's test cases."
    from agentsafety.core import split_cases
    from agentsafety.names import agent_name
    from agentsafety.study.config import study_config
    from agentsafety.study.runner import Study
    from agentsafety.study.viewer import ResultsTree
    from agentsafety.training.sources import turn_stats
    full = study_config('full')
    cfg = study_config('full', sources=[s for s in full.sources if s.name == source], schedules=['S', 'H'], betas=[beta], seeds=[seed],
                       workers=1, dpo=overrides, pairs_from='pool', both_mode='both')  # the pool's pairs, on which the numbers above were measured
    study = Study(cfg, out, progress=False)
    study.evaluate()
    test = split_cases(seed, cfg.n_cases)[1]
    tree = ResultsTree(study.root/'eval')
    base = episodes(tree, source)
    mean = lambda eps, i: float(np.mean([eps[c][i] for c in test]))
    rows = []
    for sch in ('S', 'H'):
        eps = episodes(tree, agent_name(source, sch, beta, seed, cfg.judge))
        rows.append({'lever': name, 'source': source, 'seed': seed, 'schedule': sch, 'dSafety': mean(eps, 0) - mean(base, 0),
                     'dHelp': mean(eps, 1) - mean(base, 1), 'parse': turn_stats(eps[c][2] for c in test)['parse_rate'],
                     'source_parse': turn_stats(base[c][2] for c in test)['parse_rate']})
    return rows

def main(out:str='/tmp/dpo-levers', # study folder whose shared stages (world, pool, pairs, sources' evaluations) every lever reuses
         sources:list[str]=('Tiny-A', 'Tiny-B'), # shipped sources
         seeds:list[int]=(0,), # split seeds
         beta:float=0.1, # DPO β
         levers:list[str]=None, # names of `LEVERS` to run (default: all)
        ):
    "Train S and H with each lever's DPO settings and print their mean ΔSafety, ΔHelp(Ignore) and parse rate."
    import pandas as pd
    from tqdm.auto import tqdm
    bad = [n for n in levers or () if n not in LEVERS]
    if bad: raise ArgumentTypeError(f"unknown lever(s) {', '.join(bad)}; expected {', '.join(LEVERS)}")
    todo = [(n, LEVERS[n]) for n in (levers or LEVERS)]
    grid = [(n, o, s, sd) for n, o in todo for s in sources for sd in seeds]
    rows = [r for n, o, s, sd in tqdm(grid, desc='levers') for r in lever_rows(Path(out), s, sd, beta, n, o)]
    df = pd.DataFrame(rows)
    Path(out, 'levers.json').write_text(df.to_json(orient='records', indent=1))
    print(df.groupby(['lever', 'schedule'], sort=False)[['dSafety', 'dHelp', 'parse']].agg(['mean', 'min', 'max']).round(3).to_string())
    print(f"source parse rate on the same cases: {df['source_parse'].mean():.3f}")

if __name__ == '__main__':
    from agentsafety.cli import run_command
    sys.exit(run_command(main, sys.argv[1:], prog='python benchmarks/dpo_levers.py'))
