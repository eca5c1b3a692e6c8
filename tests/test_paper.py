"""The study end to end: the quick preset through the Python API (`Study(config, out).run()`), then the paper notebook
under papermill (`agentsafety paper`) on the same run, kill and resume, replicate mode, explore, and the notebooks as
an installed package ships them."""
import json, os, shutil, signal, subprocess, sys, time
from pathlib import Path
import pytest
from agentsafety.study.config import study_config

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
AGENTSAFETY = str(BIN/'agentsafety')
QUICK = ['--preset', 'quick', '--no-progress']
BARS = ('Loading weights', 'Computing reference', 'it/s]') # progress bars of the stages' worker processes

def _paper(out, *args, **kw):
    return subprocess.run([AGENTSAFETY, 'paper', *QUICK, '--out', str(out), *args], capture_output=True, text=True, cwd=ROOT, **kw)

def _png_ok(p:Path): return p.exists() and p.stat().st_size > 1000 and p.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'

def _stamps(run:Path)->dict: return {p: p.stat().st_mtime for p in (run/'stages').rglob('stage.json')}

@pytest.fixture(scope='session')
def quick_run(quick_study):
    "`agentsafety paper --preset quick` on the API's run: (run directory, stdout, stderr, stage records before the command)."
    run, _ = quick_study
    stamps = _stamps(run)
    r = _paper(run.parent)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return run, r.stdout, r.stderr, stamps

def test_study_api(quick_study):
    "`Study(config, out).run()` runs every stage and writes and returns the analysis summary."
    run, s = quick_study
    assert json.loads((run/'summary.json').read_text()) == json.loads(json.dumps(s))
    fr = s['frontier']
    assert fr['n_points'] == 5
    xs, ys = ({p[k] for p in s['points']} for k in ('delta_help', 'delta_safety'))
    isnum = lambda v: isinstance(v, float) and v == v
    if len(xs) > 1:  # a line through the points exists when ΔHelp varies; r and R² also need ΔSafety to vary
        assert isnum(fr['slope']) and isnum(fr['intercept'])
        if len(ys) > 1: assert isnum(fr['r']) and 0 <= fr['r2'] <= 1
        else: assert (fr['r'], fr['r2'], fr['slope']) == (None, None, 0.0)
    else: assert fr['r2'] is None
    assert s['config']['preset'] == 'quick' and s['config']['dpo']['max_pairs'] == study_config('quick').dpo.max_pairs  # the typed config, as `asdict` writes it
    assert {p['schedule'] for p in s['points']} == {'S', 'H', 'S&H', 'S,H', 'H,S'}
    for p in s['points']:
        assert all(isinstance(p[k], float) and p[k] == p[k] for k in ('help', 'safety', 'delta_help', 'delta_safety'))
    for name in ('delta_by_model', 'overall', 'delta_all'): assert _png_ok(run/'figures'/f'{name}.png'), name
    assert any((run/'tables').glob('*.csv'))

def test_quick_study(quick_study, quick_run):
    "The paper notebook calls the same API: on the API's run it redoes no stage and finds the same numbers."
    run, stdout, stderr, stamps = quick_run
    assert stamps and _stamps(run) == stamps  # nothing redone
    assert 'summary:' in stdout and (run/'paper.ipynb').exists()
    s, before = json.loads((run/'summary.json').read_text()), quick_study[1]
    assert s['frontier'] == before['frontier'] and s['points'] == before['points']
    assert s['config']['preset'] == 'quick'
    nb = json.loads((run/'paper.ipynb').read_text())
    errors = [o for c in nb['cells'] if c['cell_type'] == 'code' for o in c.get('outputs', []) if o.get('output_type') == 'error']
    assert not errors
    shown = ''.join(''.join(o.get('data', {}).get('text/plain', '')) for c in nb['cells'] for o in c.get('outputs', []))
    assert all(k in shown for k in ('policy_help', 'completed', 'parse_rate'))  # the sources per scenario
    html = ''.join(''.join(o.get('data', {}).get('text/html', '')) for c in nb['cells'] for o in c.get('outputs', []))
    assert 'Help(Ignore)' in shown and 'dpo_Tiny-A_safe_prog_s0 · case' in html  # a case before and after S, with its labels

def test_by_scenario(quick_study):
    """summary.json's `by_scenario`: one record per source × scenario of the world, values in range, the source's means
    as its judged trajectories give them, the policy's as playing it here gives them; `Study.by_scenario` shows the same records."""
    from agentsafety.study.runner import Study
    from agentsafety.study.config import study_config
    from agentsafety.study.stages import study_world
    from agentsafety.agents.policies import get_policy, play
    from agentsafety.environments.sandbox.world import case_scenario
    from agentsafety.training.prefs import load_judged
    run, s = quick_study
    cfg, recs = study_config('quick'), s['by_scenario']
    world = study_world(cfg)
    scenario = [case_scenario(c) for c in world.cases]
    names = sorted(src.name for src in cfg.sources)
    assert [(r['source'], r['scenario']) for r in recs] == [(n, sc) for n in names for sc in dict.fromkeys(scenario)]
    for r in recs:
        assert set(r) == {'source', 'scenario', 'cases', 'safety', 'help', 'policy_help', 'completed', 'parse_rate'}
        assert r['cases'] == scenario.count(r['scenario'])  # a source is evaluated, and scored, on every case
        assert 0 <= r['safety'] <= 3 and 0 <= r['help'] <= 3 and 0 <= r['policy_help'] <= 3, r
        assert 0 <= r['completed'] <= 1 and 0 <= r['parse_rate'] <= 1, r
    mean = lambda xs: sum(xs) / len(xs)
    for src in cfg.sources:
        judged = {j.case_idx: j for j in load_judged(run/'stages'/'eval'/src.name)}
        pol = get_policy(src.policy, src.seed)
        policy = [world.judge(play(world, pol, i, cfg.rollout.max_steps))['help_ignore_safety'].score for i in range(cfg.n_cases)]
        for r in (r for r in recs if r['source'] == src.name):
            cases = [i for i in range(cfg.n_cases) if scenario[i] == r['scenario']]
            helps = [judged[i].score('help_ignore_safety') for i in cases]
            assert r['safety'] == pytest.approx(mean([judged[i].score('safe') for i in cases]))
            assert (r['help'], r['completed']) == pytest.approx((mean(helps), mean([h >= 2 for h in helps])))
            assert r['policy_help'] == pytest.approx(mean([policy[i] for i in cases]))
    study = Study(cfg, run, progress=False)
    assert study.by_scenario().reset_index().to_dict('records') == recs  # one computation, one name, one meaning

def test_before_after(quick_study):
    "A held-out case before and after S: the source's and its S-trained agent's episodes, by default where Safety rose most."
    from agentsafety.study.runner import Study
    from agentsafety.study.config import study_config
    from agentsafety.core import split_cases
    from agentsafety.training.prefs import load_judged
    run = quick_study[0]
    study = Study(study_config('quick'), run, progress=False)
    before, after = study.before_after()
    assert (before.agent, after.agent) == ('Tiny-A', 'dpo_Tiny-A_safe_prog_s0')
    train, test = split_cases(0, study.cfg.n_cases)
    case = before.trajectory.case_idx
    assert case == after.trajectory.case_idx and case in test
    safety = {a: {j.case_idx: j.score('safe') for j in load_judged(run/'stages'/'eval'/a)} for a in (before.agent, after.agent)}
    rise = {c: safety[after.agent][c] - safety[before.agent][c] for c in test}
    assert rise[case] == max(rise.values())
    assert (before.evals['safe'].score, after.evals['safe'].score) == (safety[before.agent][case], safety[after.agent][case])
    assert study.before_after(case=test[-1])[1].trajectory.case_idx == test[-1]
    with pytest.raises(ValueError, match='not a test case'): study.before_after(case=train[0])

def test_killed_run_resumes_to_the_same_summary(quick_study, tmp_path):
    "Kill `agentsafety paper` while it trains, run it again: finished stages are kept and the summary is the same."
    run, reference = quick_study
    # start from the finished run's early stages (the world, the source's own episodes and their pairs; the sources are shipped) so the kill lands in training
    for st in ('world', 'source-samples', 'source-prefs'):
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
    # --no-progress: no bar from the stages' worker processes (weight loading, TRL's reference pass, training)
    assert not any(bar in r.stderr for bar in BARS), r.stderr[-2000:]
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
    assert 'by_scenario' not in s  # no scenarios in the released ToolEmu tree

def test_explore_notebook_runs_headless(quick_study, tmp_path):
    from agentsafety.study.paper import notebook_path, run_notebook
    run = quick_study[0]
    out = run_notebook(notebook_path('explore.ipynb'), tmp_path/'explore.ipynb', progress=False,
                       params={'results_dir': str(run/'stages'/'eval'), 'summary_path': str(run/'summary.json')})
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

def test_kernel_finds_the_environment_first_on_its_path(tmp_path, monkeypatch):
    "The notebook's kernel has this environment's `bin` first on its PATH; the calling process's environment is not touched."
    import nbformat
    from agentsafety.study.paper import run_notebook
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("dest = None", metadata={'tags': ['parameters']}),
                                         nbformat.v4.new_code_cell("import os, pathlib; pathlib.Path(dest).write_text(os.environ['PATH'])")],
                                  metadata={'kernelspec': {'name': 'python3', 'language': 'python', 'display_name': 'Python 3'}})
    nbformat.write(nb, tmp_path/'path.ipynb')
    monkeypatch.setenv('PATH', os.pathsep.join(p for p in os.environ['PATH'].split(os.pathsep) if Path(p) != BIN) or '/usr/bin')
    before = dict(os.environ)
    run_notebook(tmp_path/'path.ipynb', tmp_path/'out.ipynb', {'dest': str(tmp_path/'path.txt')}, progress=False)
    assert dict(os.environ) == before
    assert (tmp_path/'path.txt').read_text().split(os.pathsep) == [str(BIN)] + before['PATH'].split(os.pathsep)

def test_installed_package_ships_the_notebooks(tmp_path):
    "A wheel built from the checkout carries paper.ipynb and explore.ipynb, and `notebook_path` finds them where it is installed; it carries the shipped source models too, intact."
    src = tmp_path/'src'  # build from a copy: the checkout gets no build/ or egg-info
    src.mkdir()
    for f in ('setup.py', 'settings.ini', 'pyproject.toml', 'README.md', 'MANIFEST.in'): shutil.copy(ROOT/f, src/f)
    shutil.copytree(ROOT/'agentsafety', src/'agentsafety', ignore=shutil.ignore_patterns('__pycache__', '*.pyc', 'notebooks'))
    (src/'nbs').mkdir()
    for nb in ('paper.ipynb', 'explore.ipynb'): shutil.copy(ROOT/'nbs'/nb, src/'nbs'/nb)
    pip = [sys.executable, '-m', 'pip', '-q', '--disable-pip-version-check']
    r = subprocess.run(pip + ['wheel', '--no-deps', '--no-build-isolation', '-w', str(tmp_path/'dist'), str(src)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    r = subprocess.run(pip + ['install', '--no-deps', '--target', str(tmp_path/'site'), *map(str, (tmp_path/'dist').glob('*.whl'))], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    code = ("import agentsafety, papermill as pm; from agentsafety.study.paper import notebook_path, NOTEBOOKS; "
            "print(agentsafety.__file__); print([str(notebook_path(n)) for n in NOTEBOOKS]); print(list(pm.inspect_notebook(str(notebook_path())))); "
            "from agentsafety.training.release import RELEASE_DIR, check_release; print(RELEASE_DIR); print(sorted(check_release()['models']))")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=tmp_path, env={**os.environ, 'PYTHONPATH': str(tmp_path/'site')})
    assert r.returncode == 0, r.stderr[-3000:]
    pkg, paths, params, release, models = r.stdout.splitlines()
    site = tmp_path/'site'/'agentsafety'
    assert pkg == str(site/'__init__.py')  # the installed copy, not the checkout
    assert eval(paths) == [str(site/'notebooks'/n) for n in ('paper.ipynb', 'explore.ipynb')]
    assert eval(params)[:2] == ['mode', 'preset']
    assert release == str(site/'release') and 'base' in eval(models)


def test_a_preset_parameter_names_the_run(tmp_path, monkeypatch):
    "`-p preset quick` runs the quick study, so its outputs land in out/quick, never in the folder of the preset argument."
    import agentsafety.study.paper as paper
    ran = []
    monkeypatch.setattr(paper, 'run_notebook', lambda nb, out, params, cwd, progress: ran.append(params['preset']))
    run_dir = paper.run_paper(tmp_path, 'full', {'preset': 'quick'}, progress=False)
    assert (run_dir.name, ran) == ('quick', ['quick'])
