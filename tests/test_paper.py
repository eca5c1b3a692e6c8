"The paper notebook under papermill: the quick study end to end, kill and resume, replicate mode, and explore."
import json, os, shutil, signal, subprocess, sys, time
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
AGENTSAFETY = str(Path(sys.executable).parent/'agentsafety')
# Quick preset, made smaller still for CI where noted; the numbers it must show are checked in test_quick_study.
QUICK = ['--preset', 'quick', '--no-progress']

def _paper(out, *args, **kw):
    return subprocess.run([AGENTSAFETY, 'paper', *QUICK, '--out', str(out), *args], capture_output=True, text=True, cwd=ROOT, **kw)

def _png_ok(p:Path): return p.exists() and p.stat().st_size > 1000 and p.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'

@pytest.fixture(scope='module')
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp('paper')
    r = _paper(out)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return out/'quick', r.stdout, r.stderr

def test_quick_study(quick_run):
    run, stdout, stderr = quick_run
    # --no-progress: no bar from the stages' worker processes (weight loading, TRL's reference pass, training)
    assert not any(bar in stderr for bar in ('Loading weights', 'Computing reference', 'it/s]')), stderr[-2000:]
    assert 'summary:' in stdout and (run/'paper.ipynb').exists()
    s = json.loads((run/'summary.json').read_text())
    fr = s['frontier']
    assert fr['n_points'] == 5
    deltas = {(p['delta_help'], p['delta_safety']) for p in s['points']}
    if len(deltas) > 1:  # a fit exists only when the trained agents differ from each other
        assert all(isinstance(fr[k], float) and fr[k] == fr[k] for k in ('r2', 'r', 'slope', 'intercept'))
        assert 0 <= fr['r2'] <= 1
    else: assert fr['r2'] is None
    assert s['config']['preset'] == 'quick'
    for p in s['points']:
        assert all(isinstance(p[k], float) and p[k] == p[k] for k in ('help', 'safety', 'delta_help', 'delta_safety'))
    for name in ('delta_by_model', 'overall', 'delta_all'): assert _png_ok(run/'figures'/f'{name}.png'), name
    assert any((run/'tables').glob('*.csv'))
    nb = json.loads((run/'paper.ipynb').read_text())
    errors = [o for c in nb['cells'] if c['cell_type'] == 'code' for o in c.get('outputs', []) if o.get('output_type') == 'error']
    assert not errors
    shown = ''.join(''.join(o.get('data', {}).get('text/plain', '')) for c in nb['cells'] for o in c.get('outputs', []))
    assert 'readable' in shown and 'Help(Ignore)' in shown  # the sources' scores per scenario

def test_scores_by_scenario(quick_run):
    "The per-scenario table of the paper notebook, from the quick run's results tree."
    from agentsafety.study.runner import Study
    from agentsafety.study.config import study_config
    from agentsafety.environments.sandbox.world import SCENARIOS
    study = Study(study_config('quick'), quick_run[0], progress=False)
    t = study.by_scenario()
    assert set(t.index) <= set(SCENARIOS) and len(t) > 1
    assert list(t.columns) == [('Tiny-A', 'Safety'), ('Tiny-A', 'Help(Ignore)'), ('Tiny-A', 'readable')]
    assert t.xs('Safety', axis=1, level=1).stack().between(0, 3).all() and t.xs('readable', axis=1, level=1).stack().between(0, 1).all()
    with pytest.raises(FileNotFoundError, match='has not been evaluated'): study.by_scenario(['Tiny-Z'])

def test_rerun_skips_finished_stages(quick_run, tmp_path):
    run = quick_run[0]
    before = json.loads((run/'summary.json').read_text())
    stamps = {p: p.stat().st_mtime for p in (run/'stages').rglob('stage.json')}
    r = _paper(run.parent)
    assert r.returncode == 0, r.stderr[-3000:]
    assert {p: p.stat().st_mtime for p in (run/'stages').rglob('stage.json')} == stamps  # nothing redone
    after = json.loads((run/'summary.json').read_text())
    assert after['frontier'] == before['frontier'] and after['points'] == before['points']

def test_killed_run_resumes_to_the_same_summary(quick_run, tmp_path):
    "Kill `agentsafety paper` while it trains, run it again: finished stages are kept and the summary is the same."
    run = quick_run[0]
    reference = json.loads((run/'summary.json').read_text())
    # start from the finished run's early stages (world, pool, prefs, tokenizer, sources) so the kill lands in training
    for st in ('world', 'pool', 'prefs', 'tokenizer', 'source'):
        shutil.copytree(run/'stages'/st, tmp_path/'quick'/'stages'/st)
    p = subprocess.Popen([AGENTSAFETY, 'paper', *QUICK, '--out', str(tmp_path)], cwd=ROOT, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    stages = tmp_path/'quick'/'stages'
    deadline = time.time() + 600
    while time.time() < deadline and p.poll() is None:
        if list(stages.glob('train/*/stage.json')): break  # one DPO stage done, others under way: kill mid-training
        time.sleep(0.5)
    assert p.poll() is None, 'the run finished before it could be killed'
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    done_before = {q: q.stat().st_mtime for q in stages.rglob('stage.json')}
    assert done_before and not (tmp_path/'quick'/'summary.json').exists()
    r = _paper(tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    for q, t in done_before.items(): assert q.stat().st_mtime == t, f'{q.parent.name} was redone'
    got = json.loads((tmp_path/'quick'/'summary.json').read_text())
    assert got['frontier'] == reference['frontier'] and got['points'] == reference['points']

def test_replicate_mode(match_eval_dir, tmp_path):
    r = subprocess.run([AGENTSAFETY, 'paper', '--no-progress', '--out', str(tmp_path), '-p', 'mode', 'replicate',
                        '-p', 'results_dir', str(match_eval_dir), '-p', 'bootstrap', '0'], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'R² = 0.7655 over 30 points' in r.stdout
    s = json.loads((tmp_path/'replicate'/'summary.json').read_text())
    assert abs(s['frontier']['r2'] - 0.7655) < 5e-4

def test_explore_notebook_runs_headless(quick_run, tmp_path):
    import papermill as pm
    run = quick_run[0]
    out = tmp_path/'explore.ipynb'
    pm.execute_notebook(str(ROOT/'nbs'/'explore.ipynb'), str(out), cwd=str(ROOT/'nbs'), kernel_name='python3', progress_bar=False,
                        parameters={'results_dir': str(run/'stages'/'eval'), 'summary_path': str(run/'summary.json')})
    nb = json.loads(out.read_text())
    mimes = {k for c in nb['cells'] if c['cell_type'] == 'code' for o in c.get('outputs', []) for k in o.get('data', {})}
    assert 'application/vnd.jupyter.widget-view+json' in mimes

@pytest.mark.parametrize('name, params', [('paper.ipynb', ['mode', 'preset', 'results_dir', 'out_dir', 'run_name', 'bootstrap', 'overrides', 'progress']),
                                          ('explore.ipynb', ['results_dir', 'summary_path', 'left', 'right'])])
def test_parameters_are_inspectable(name, params):
    "papermill reads every parameter of the notebooks (`papermill --help-notebook`): it skips lines with a second `=`, e.g. in a comment."
    import papermill as pm
    from agentsafety.study.paper import notebook_path
    assert list(pm.inspect_notebook(str(notebook_path(name)))) == params
