"""Time `agentsafety analyze` on the paper's released match-eval tree (5,580 files, 371 MB), as a user runs it.

The command: `agentsafety analyze TREE --out OUT --no-progress` run in a fresh process (imports, loading, analysis, summary.json,
tables and every figure: 15 figures, per judge too), with its default formats (PNG and HTML) and with every format
(`--formats png svg html`), against a baseline run in the same benchmark: the writer before the speed-up (every figure
saved with Altair's `chart.save`, PNG, SVG and HTML one after another), also in a fresh process. Runs are interleaved
and medians shown, as other work on the machine slows each of them alike; each run waits (up to `--idle-wait` s) for
idle CPUs, and the runs during which other processes took under a tenth of the run's wall time in CPU ('quiet') are
shown apart. Goal on 2 idle cores: ≤ 5 s by default, ≤ 10 s with every format. One instrumented run shows where the
time goes (imports, load and analysis, tables, figures).

Then the analysis function alone: wall and CPU seconds and peak memory of the default loader (`case_idx` read from
each trajectory line's end, eval files parsed in full), against the same analysis with every trajectory parsed in
full (`fast=False`, i.e. `core.read_trajectories`).

    python benchmarks/analysis.py [--repeat 3] [--command-repeat 5] [--idle-wait 60] [--bootstrap 1000] [--no-command] [--figures]
"""
import argparse, json, os, resource, shutil, statistics, subprocess, sys, tempfile, time, tracemalloc
from pathlib import Path



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


def baseline_figures(summary, folder, formats=('png', 'svg', 'html')):
    "The figure writer before the speed-up: each figure saved with `chart.save` once per format, one after another."
    from agentsafety.analysis.plots import charts
    out = []
    for stem, c in charts(summary).items():
        for ext in formats:
            p = Path(folder)/f"{stem}.{ext}"
            p.parent.mkdir(parents=True, exist_ok=True)
            c.save(str(p), format=ext, **{'png': dict(scale_factor=2), 'html': dict(inline=True)}.get(ext, {}))
            out.append(p)
    return out


def baseline_command(tree, out):
    "What `agentsafety analyze TREE --out OUT --no-progress` did before the speed-up: analysis, summary.json, tables, 15 figures × 3 formats."
    from agentsafety.analysis.report import analyze
    s = analyze(tree, out, progress=False, figures=False)
    baseline_figures(s, Path(out)/'figures')


def split_run(tree, out, formats):
    "One instrumented run of the command's steps in this (fresh) process: seconds per step, as JSON on stdout."
    sys.modules.setdefault('rfc3987_syntax', None)  # as `analysis.report.analyze_command` does
    t = [time.perf_counter()]
    from agentsafety.analysis.report import analyze, write_outputs
    t.append(time.perf_counter())
    s = analyze(tree, progress=False)
    t.append(time.perf_counter())
    write_outputs(s, out, figures=False)
    t.append(time.perf_counter())
    import agentsafety.analysis.plots as plots
    t.append(time.perf_counter())
    plots.write_figures(s, Path(out)/'figures', formats or plots.DEFAULT_FORMATS)
    t.append(time.perf_counter())
    steps = ('import analysis', 'load + analysis', 'summary.json + tables', 'import plots (altair)', 'figures')
    print(json.dumps({k: round(b - a, 3) for k, a, b in zip(steps, t, t[1:])}))


def busy_seconds():
    "CPU seconds the whole machine has spent busy since boot (Linux `/proc/stat`), or None elsewhere."
    try: v = [int(x) for x in open('/proc/stat').readline().split()[1:]]
    except OSError: return None
    return (sum(v) - v[3] - v[4]) / os.sysconf('SC_CLK_TCK')


def wait_idle(limit):
    "Wait (at most `limit` seconds) until the machine's CPUs are ≥ 90% idle over half a second; True if they were."
    end = time.time() + limit
    while True:
        b, w = busy_seconds(), time.perf_counter()
        time.sleep(0.5)
        if b is None: return False
        if (busy_seconds() - b) / (time.perf_counter() - w) <= 0.1 * os.cpu_count(): return True
        if time.time() > end: return False


def command_argv():
    "How a user starts the command: the `agentsafety` script beside this Python, else the same entry point with `-c`."
    exe = Path(sys.executable).parent/'agentsafety'
    return [str(exe)] if exe.exists() else [sys.executable, '-c', 'import sys; from agentsafety.cli import main; sys.exit(main())']


def time_commands(tree, repeat, idle_wait):
    """Wall seconds of the command (default formats, every format) and of the baseline, interleaved, each with the CPU
    seconds it took and those other processes took meanwhile."""
    cmds = {'baseline (chart.save, png+svg+html)': [sys.executable, __file__, '--baseline-command', str(tree)],
            'agentsafety analyze (default: png+html)': command_argv() + ['analyze', str(tree), '--no-progress'],
            'agentsafety analyze, png+svg+html': command_argv() + ['analyze', str(tree), '--no-progress', '--formats', 'png', '--formats', 'svg', '--formats', 'html']}
    walls = {k: [] for k in cmds}
    with tempfile.TemporaryDirectory() as d:
        for i in range(repeat + 1):  # the first round warms the page cache and .pyc files, untimed
            for k, cmd in cmds.items():
                out = Path(d)/'out'
                shutil.rmtree(out, ignore_errors=True)
                if idle_wait: wait_idle(idle_wait)
                ru, b, w = resource.getrusage(resource.RUSAGE_CHILDREN), busy_seconds(), time.perf_counter()
                subprocess.run(cmd + ['--out', str(out)], check=True, stdout=subprocess.DEVNULL)
                w, ru2 = time.perf_counter() - w, resource.getrusage(resource.RUSAGE_CHILDREN)
                ours = ru2.ru_utime - ru.ru_utime + ru2.ru_stime - ru.ru_stime
                others = None if b is None else max(0.0, busy_seconds() - b - ours)
                if i: walls[k].append((w, ours, others))
            files = sorted(p.suffix for p in (out/'figures').iterdir())
        splits = {}
        for name, fmts in (('default', []), ('every format', ['png', 'svg', 'html'])):
            out = Path(d)/'split'
            shutil.rmtree(out, ignore_errors=True)
            r = subprocess.run([sys.executable, __file__, '--split-run', str(tree), str(out)] + fmts, check=True, capture_output=True, text=True)
            splits[name] = json.loads(r.stdout.strip().splitlines()[-1])
    return walls, splits, len(files)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--repeat', type=int, default=3, help='timed runs of the analysis function (best and median shown)')
    p.add_argument('--command-repeat', type=int, default=5, help='timed runs of each command (median shown)')
    p.add_argument('--bootstrap', type=int, default=1000, help='also time a run with this many bootstrap iterations (0: skip)')
    p.add_argument('--no-command', action='store_true', help='skip timing the whole command')
    p.add_argument('--idle-wait', type=float, default=60, help='before each command run, wait up to this many seconds for '
                   'idle CPUs (0: do not wait)')
    p.add_argument('--figures', action='store_true', help='also time write_outputs in this process (default formats)')
    p.add_argument('--baseline-command', metavar='TREE', help=argparse.SUPPRESS)
    p.add_argument('--split-run', nargs='+', metavar='ARG', help=argparse.SUPPRESS)
    p.add_argument('--out', help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.baseline_command: return baseline_command(a.baseline_command, a.out) or 0
    if a.split_run: return split_run(a.split_run[0], a.split_run[1], a.split_run[2:]) or 0
    from agentsafety.analysis.report import analyze, write_outputs
    from agentsafety.core import paper_data
    tree = paper_data('match_eval_results')
    if tree is None:
        print('benchmarks/analysis.py: the paper data (../shared/paper/match_eval_results.tar.xz) is absent; nothing to time')
        return 0
    print(f"tree: {tree}; {os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not a.no_command:
        runs, splits, n = time_commands(tree, a.command_repeat, a.idle_wait)
        med = lambda v: statistics.median(v) if v else float('nan')
        quiet = {k: [w for w, _, o in v if o is not None and o < 0.1*w] for k, v in runs.items()}
        base, qbase = med([w for w, _, _ in runs['baseline (chart.save, png+svg+html)']]), med(quiet['baseline (chart.save, png+svg+html)'])
        for (k, v), goal in zip(runs.items(), ('', '  (goal ≤ 5 s on 2 idle cores)', '  (goal ≤ 10 s)')):
            m, q = med([w for w, _, _ in v]), med(quiet[k])
            print(f"{k}: median {m:.2f} s (x{base / m:.2f} the baseline), best {min(w for w, _, _ in v):.2f} s over {len(v)} runs; "
                  f"quiet runs {len(quiet[k])}: median {q:.2f} s (x{qbase / q:.2f}); CPU median {med([c for _, c, _ in v]):.2f} s{goal}")
            print(f"    walls {' '.join(f'{w:.2f}' for w, _, _ in v)}; others' CPU s meanwhile "
                  f"{' '.join('?' if o is None else f'{o:.1f}' for _, _, o in v)}")
        print(f"last command wrote {n} figure files; load average now {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for k, v in splits.items(): print(f"split of one run ({k}): " + ', '.join(f"{s} {t:.2f} s" for s, t in v.items()))
    run = lambda **kw: analyze(tree, progress=False, **kw)
    run()  # warm the page cache and imports, untimed
    fast = [timed(run) for _ in range(a.repeat)]
    walls, cpus = [t[0] for t in fast], [t[1] for t in fast]
    s = fast[0][2]
    base_wall, base_cpu, b = timed(lambda: run(fast=False))
    assert b['frontier'] == s['frontier'] and b['persistence'] == s['persistence'], 'baseline and fast loader disagree'
    f = s['frontier']
    print(f"result: {s['n_runs']} runs, {f['n_points']} points, R2 {f['r2']:.4f}, r {f['r']:.4f}, "
          f"Persist(S) {s['persistence']['S']['0.05']['average']:.4f}/{s['persistence']['S']['0.1']['average']:.4f}, "
          f"Persist(H) {s['persistence']['H']['0.05']['average']:.4f}/{s['persistence']['H']['0.1']['average']:.4f}")
    print(f"analyze (no bootstrap), {a.repeat} runs: wall best {min(walls):.2f} s, median {statistics.median(walls):.2f} s; "
          f"CPU median {statistics.median(cpus):.2f} s")
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
        print(f"write_outputs in this process (summary, tables, {sum(str(x).endswith('.png') for x in paths)} figures, "
              f"default formats): wall {w:.2f} s, CPU {c:.2f} s")
    return 0


if __name__ == '__main__': sys.exit(main())
