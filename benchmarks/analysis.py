"""Time `agentsafety.analysis.analyze` on the paper's released match-eval tree (5,580 files, 371 MB).

Prints wall and CPU seconds and peak memory of the default loader (`case_idx` read from each trajectory line's end,
eval files parsed in full), and of a straightforward baseline measured in the same run: the same analysis with every
trajectory parsed in full (`fast=False`, i.e. `core.read_trajectories`). Goal: under 5 s without bootstrap on 2 cores.

    python benchmarks/analysis.py [--repeat 3] [--bootstrap 1000] [--figures]
"""
import argparse, resource, statistics, sys, tempfile, time, tracemalloc

from agentsafety.analysis.report import analyze, write_outputs
from agentsafety.core import paper_data


def timed(fn):
    "Wall seconds, CPU seconds and result of `fn()`."
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w, time.process_time() - c, out


def peak_mib(fn):
    "Peak Python-allocated memory (MiB, tracemalloc) of `fn()`."
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally: tracemalloc.stop()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--repeat', type=int, default=3, help='timed runs of the default loader (best and median shown)')
    p.add_argument('--bootstrap', type=int, default=1000, help='also time a run with this many bootstrap iterations (0: skip)')
    p.add_argument('--figures', action='store_true', help='also time writing summary.json, tables and figures')
    a = p.parse_args(argv)
    tree = paper_data('match_eval_results')
    if tree is None:
        print('benchmarks/analysis.py: the paper data (../shared/paper/match_eval_results.tar.xz) is absent; nothing to time')
        return 0
    run = lambda **kw: analyze(tree, progress=False, **kw)
    run()  # warm the page cache and imports, untimed
    fast = [timed(run) for _ in range(a.repeat)]
    walls, cpus = [t[0] for t in fast], [t[1] for t in fast]
    s = fast[0][2]
    base_wall, base_cpu, b = timed(lambda: run(fast=False))
    assert b['frontier'] == s['frontier'] and b['persistence'] == s['persistence'], 'baseline and fast loader disagree'
    f = s['frontier']
    print(f"tree: {tree}")
    print(f"result: {s['n_runs']} runs, {f['n_points']} points, R2 {f['r2']:.4f}, r {f['r']:.4f}, "
          f"Persist(S) {s['persistence']['S']['0.05']['average']:.4f}/{s['persistence']['S']['0.1']['average']:.4f}, "
          f"Persist(H) {s['persistence']['H']['0.05']['average']:.4f}/{s['persistence']['H']['0.1']['average']:.4f}")
    print(f"analyze (no bootstrap), {a.repeat} runs: wall best {min(walls):.2f} s, median {statistics.median(walls):.2f} s; "
          f"CPU median {statistics.median(cpus):.2f} s  (goal < 5 s)")
    print(f"baseline, full JSON parse of every trajectory: wall {base_wall:.2f} s, CPU {base_cpu:.2f} s")
    print(f"speed-up over the baseline: wall x{base_wall / statistics.median(walls):.1f}, CPU x{base_cpu / statistics.median(cpus):.1f}")
    print(f"peak Python memory (tracemalloc): analyze {peak_mib(run):.0f} MiB, baseline {peak_mib(lambda: run(fast=False)):.0f} MiB; "
          f"process peak RSS so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if a.bootstrap:
        w, c, sb = timed(lambda: run(bootstrap=a.bootstrap, seed=0))
        lo, hi = sb['frontier']['r2_ci']
        print(f"analyze with bootstrap {a.bootstrap}: wall {w:.2f} s, CPU {c:.2f} s; R2 95% CI [{lo:.3f}, {hi:.3f}]")
    if a.figures:
        with tempfile.TemporaryDirectory() as d:
            w, c, paths = timed(lambda: write_outputs(s, d))
        print(f"write_outputs (summary, tables, {sum(str(x).endswith('.png') for x in paths)} figures x 3 formats): "
              f"wall {w:.2f} s, CPU {c:.2f} s")
    return 0


if __name__ == '__main__': sys.exit(main())
