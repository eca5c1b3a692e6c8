"""DPO with freed memory kept in the heap (`agentsafety.agents.lm.reused_heap`, what `dpo_stage` does) against glibc's
defaults, which hand every block over 32 MB back to the system and fault its pages in again on the next step.

One DPO stage with the `full` preset's settings on one thread (as one worker of the study) from the shipped Tiny-B, on
the first `--pairs` safety pairs of the scripted pool's episodes (every case: no split); each configuration runs
`--runs` times, alternating, in this process. Prints each run's wall time, minor page faults and final training loss (the same in both: only where
memory comes from differs), and the ratio of the mean times.

Run: `python benchmarks/heap.py [--runs 2] [--pairs 256]`.
"""
import contextlib, resource, tempfile, time
from dataclasses import replace
from pathlib import Path
from fastcore.script import call_parse

def pool_pairs(world, n:int)->list:
    "Up to `n` safety pairs of the scripted pool's episodes, with the agents' prompt."
    from agentsafety.agents.policies import play_policy, policy_pool
    from agentsafety.training.prefs import judged_from_runs, build_pairs, pair_examples, world_prompt_fn
    pool = judged_from_runs(play_policy(world, p) for p in policy_pool(0)[:10])
    return pair_examples(pool, build_pairs(pool), world_prompt_fn(world))[0][:n]

def timed_stage(model, pairs, settings, heap:bool)->tuple:
    "(seconds, minor page faults, training loss) of one DPO stage, with `reused_heap` or without it."
    import agentsafety.training.dpo as dpo
    kept = dpo.reused_heap
    if not heap: dpo.reused_heap = contextlib.nullcontext
    try:
        f, t = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.perf_counter()
        with tempfile.TemporaryDirectory() as d:
            rec = dpo.dpo_stage(model, pairs, Path(d), split_seed=None, settings=settings, data_name='safe', progress=False)
        return time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f, rec['train_loss']
    finally: dpo.reused_heap = kept

@call_parse
def main(runs:int=2, # runs of each configuration
         pairs:int=256, # pairs in the stage (the full preset's `max_pairs`)
        ):
    from agentsafety.study.config import STUDY_PRESETS
    from agentsafety.study.stages import study_world
    from agentsafety.training.release import shipped_model
    cfg = STUDY_PRESETS['full']
    data, settings = pool_pairs(study_world(cfg), pairs), replace(cfg.dpo, threads=1, beta=0.1)
    res = {True: [], False: []}
    for k in range(runs):
        for heap in (True, False):
            s, f, loss = timed_stage(shipped_model('Tiny-B'), data, settings, heap)
            res[heap].append(s)
            print(f"{'reused heap' if heap else 'glibc default'}: {s:.1f} s, {f} minor page faults, train loss {loss:.6f}", flush=True)
    mean = lambda xs: sum(xs) / len(xs)
    print(f"{len(data)} pairs; reused heap {mean(res[True]):.1f} s, default {mean(res[False]):.1f} s: {mean(res[False]) / mean(res[True]):.2f}x")
