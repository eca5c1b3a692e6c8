"""One stream of samples against one rollout per sample: a shipped source plays each train case of split seed 0
`--samples` times at the study's sampling temperature, as the `source-samples` stage does. Checks that both give the same
trajectories and prints both times and their ratio.

    python benchmarks/sampling.py [--source Tiny-B] [--samples 12] [--cases 72]
"""
import time
from dataclasses import replace
from fastcore.script import call_parse
from agentsafety.core import split_cases
from agentsafety.study.config import STUDY_PRESETS
from agentsafety.study.stages import study_world
from agentsafety.agents.backends import HFBackend
from agentsafety.agents.rollout import rollout, sample_rollouts
from agentsafety.agents.lm import torch_threads
from agentsafety.training.release import shipped_model

@call_parse
def main(source:str='Tiny-B', # a shipped source
         samples:int=12, # episodes per case
         cases:int=72, # the first this many train cases of split seed 0
         batch:int=None, # the stream's batch size (default: the study's)
        ):
    cfg = STUDY_PRESETS['full']
    world, backend = study_world(cfg), HFBackend(shipped_model(source))
    train, rc = split_cases(0, cfg.n_cases)[0][:cases], replace(cfg.rollout, temperature=cfg.sample_temperature)
    with torch_threads(1):  # as one worker of the study
        t = time.perf_counter(); one = [rollout(world, backend, train, replace(rc, seed=k), progress=False) for k in range(samples)]
        t_one = time.perf_counter() - t
        t = time.perf_counter(); stream = sample_rollouts(world, backend, train, samples, replace(rc, batch_size=batch or rc.batch_size), progress=False)
        t_stream = time.perf_counter() - t
    same = sum(a == b for r1, r2 in zip(one, stream) for a, b in zip(r1, r2))
    print(f"{source}, {len(train)} cases x {samples} samples at T {rc.temperature}, batch {rc.batch_size} (stream {batch or rc.batch_size}), 1 thread")
    print(f"one rollout per sample {t_one:.1f} s, one stream {t_stream:.1f} s: {t_one / t_stream:.2f}x; "
          f"identical episodes {same} of {samples * len(train)}")
