"""The study's progress on the console (issue 12): the executor's stage events (`StageLog`), what `ProgressView` makes
of them (k of n stages per group, elapsed, time left), the same events from the `ray` executor, and
`agentsafety paper --preset quick` printing them while its kernel runs the study."""
import io, json, os, re, shutil, subprocess, sys
from dataclasses import replace
from pathlib import Path
import pytest
from agentsafety.study.executor import PROGRESS_FILE, Job, execute
from agentsafety.study.paper import ProgressView, Tail, _shown, eta, showing_progress

ROOT = Path(__file__).resolve().parents[1]
AGENTSAFETY = str(Path(sys.executable).parent/'agentsafety')
STEP = re.compile(r'^\[\d+:\d\d\] (?P<group>[^:]+): (?P<k>\d+)/(?P<n>\d+) stages done') # a progress line's group and k/n

def _events(group, n, cached, workers, durations, t0=100.0):
    "A group's events as the executor writes them, its stages finishing `durations` apart in rounds of `workers`."
    evs, t = [{'event': 'start', 'group': group, 'n': n, 'cached': cached, 'workers': workers, 't': t0}], t0
    for k, s in enumerate(durations):
        if k % workers == 0: t += s
        evs.append({'event': 'stage', 'group': group, 'name': f'{group}/{k}', 'seconds': s, 'ran': True, 't': t})
    return evs + [{'event': 'end', 'group': group, 't': t}]

def test_counts_and_time_left_from_fake_events():
    "k counts the stages found finished at the start; the time left is the mean stage time × the rounds left on the workers."
    view = ProgressView(t0=100.0)
    lines = [l for l in map(view.add, _events('DPO, first stages', 10, 2, 2, [60.0, 60.0, 90.0, 90.0])[:-1]) if l]  # still running
    steps = [STEP.match(l) for l in lines]
    assert all(steps), lines
    assert [(m['k'], m['n']) for m in steps] == [('2', '10'), ('3', '10'), ('4', '10'), ('5', '10'), ('6', '10')]
    assert lines[0] == '[0:00] DPO, first stages: 2/10 stages done, 8 to run on 2 workers'
    assert lines[1].endswith('1:00 elapsed, about 4:00 left')  # 7 left: 4 rounds of 60 s
    assert lines[4].endswith('2:30 elapsed, about 2:30 left')  # 4 left: 2 rounds of the mean, 75 s
    assert eta([60.0, 90.0], 4, 2) == 150.0 and eta([60.0, 90.0], 4, 1) == 300.0 and eta([], 4) is None
    assert view.heartbeat(now=250.0, every=60.0) == []  # shown at 250: nothing to repeat yet
    assert view.heartbeat(now=400.0, every=60.0) == ['[5:00] DPO, first stages: 6/10 stages done, 5:00 elapsed']  # 150 s since the last stage: the estimate ran out

def test_every_event_of_a_group_done_earlier_is_one_line():
    "A group found finished shows n/n at its start and nothing more."
    view = ProgressView(t0=0.0)
    lines = [l for l in map(view.add, _events('world', 1, 1, 1, [])) if l]
    assert lines == ['[1:40] world: 1/1 stages done earlier'] and view.heartbeat(now=1000.0) == []

def test_a_line_that_is_no_event_is_named(tmp_path):
    p = tmp_path/PROGRESS_FILE
    p.write_text(json.dumps({'event': 'start', 'group': 'pool', 'n': 1, 'cached': 0, 'workers': 1, 't': 5.0}) + '\n{"event": "stage"\n')
    lines = _shown(Tail(p), ProgressView(t0=0.0))
    assert lines[0] == '[0:05] pool: 0/1 stages done, 1 to run'
    assert lines[1].startswith(f"{p}: line 2 is not a stage event (JSONDecodeError")

def _worlds(*ns):
    from agentsafety.study.config import study_config
    cfg = study_config('quick')
    return [Job(f"world/{n}", {'n_cases': n}, 'stage_world', {'cfg': replace(cfg, n_cases=n)}) for n in ns]

def test_local_executor_on_two_workers_writes_each_stage(tmp_path):
    "Two spawned workers: the events come from the process that submitted the stages, one per finished stage."
    out = io.StringIO()
    with showing_progress(tmp_path, out=out, poll=0.05):
        execute(tmp_path, _worlds(3, 4, 5), workers=2, progress=False, desc='worlds')
    events = [json.loads(l) for l in (tmp_path/PROGRESS_FILE).read_text().splitlines()]
    assert [e['event'] for e in events] == ['start', 'stage', 'stage', 'stage', 'end'] and events[0]['workers'] == 2
    assert sorted(e['name'] for e in events if e['event'] == 'stage') == ['world/3', 'world/4', 'world/5']
    assert [STEP.match(l)['k'] for l in out.getvalue().splitlines()] == ['0', '1', '2', '3']

def test_ray_executor_writes_the_same_events(tmp_path):
    "A Ray run writes the events from its driver: a group started with its stages, each one finished, its end."
    ray = pytest.importorskip('ray')
    if ray.is_initialized(): pytest.skip('Ray is already connected in this process')
    for k in ('RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER', 'RAY_USAGE_STATS_ENABLED'): os.environ.setdefault(k, '0')
    ray.init(address='local', num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        execute(tmp_path, _worlds(3), progress=False, desc='worlds')
        execute(tmp_path, _worlds(3, 4), executor='ray', progress=False, desc='worlds on ray')
    finally: ray.shutdown()
    events = [json.loads(l) for l in (tmp_path/PROGRESS_FILE).read_text().splitlines()]
    ours = [(e['event'], e.get('n'), e.get('cached'), e.get('workers'), e.get('name')) for e in events if e['group'] == 'worlds on ray']
    assert ours == [('start', 2, 1, 1, None), ('stage', None, None, None, 'world/4'), ('end', None, None, None, None)]

def test_paper_command_prints_the_study_progress(quick_study, tmp_path):
    """`agentsafety paper --preset quick` prints, while the kernel runs, each group's name and k/n lines: on a copy of
    the quick run, with two evaluations removed so that they run again, and no papermill cell counter."""
    src = quick_study[0]/'stages'
    run = tmp_path/'quick'
    shutil.copytree(src, run/'stages', ignore=shutil.ignore_patterns(PROGRESS_FILE))
    seconds = {p.parent: json.loads(p.read_text())['seconds'] for p in (run/'stages'/'eval').glob('*/stage.json')}
    for d in sorted(seconds, key=seconds.get)[:2]: shutil.rmtree(d)  # the two quickest evaluations run again
    r = subprocess.run([AGENTSAFETY, 'paper', '--preset', 'quick', '--out', str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    steps = [m for m in map(STEP.match, r.stderr.splitlines()) if m]
    groups = {m['group'] for m in steps}
    assert {'world', "pairs of the sources' own episodes", 'DPO, first stages', 'DPO, second stages', 'evaluation rollouts'} <= groups, r.stderr  # shipped sources: no 'source agents' stage
    rollouts = [l for l in r.stderr.splitlines() if 'evaluation rollouts:' in l]
    first = re.search(r'evaluation rollouts: (\d+)/(\d+) stages done, 2 to run on 2 workers$', rollouts[0])
    assert first and int(first[1]) == int(first[2]) - 2, rollouts
    n = int(first[2])
    assert f"evaluation rollouts: {n-1}/{n} stages done" in rollouts[1] and rollouts[1].endswith(' left'), rollouts  # the time left, from the stage that ran
    assert re.search(rf"evaluation rollouts: {n}/{n} stages done in \d+:\d\d$", rollouts[2]) and len(rollouts) == 3, rollouts
    assert 'DPO, first stages: ' in r.stderr and 'stages done earlier' in r.stderr
    assert 'Executing' not in r.stderr and 'cell/s' not in r.stderr  # papermill's counter stays quiet
    assert 'summary:' in r.stdout
