"""Results you can trust (issue 14, items 1, 2, 3 and 5): stage outputs and rollouts that cannot go stale, outputs
that replace instead of mixing, the paper command's arguments checked before a kernel starts, and every bad input a
clear error. Each test here failed on main before the issue (b5d5c85, checked with the scenario adapted to its
layout) and passes now."""
import contextlib, io, json, os, shutil, time, warnings
from dataclasses import replace
from pathlib import Path
import pytest
from agentsafety.cli import main
from agentsafety.core import (DataError, EvalLine, Evaluation, eval_path, read_run, read_trajectories, split_cases,
                              write_evals, write_trajectories, Trajectory)
from agentsafety.analysis.results import write_toy_run, write_toy_tree
from agentsafety.analysis.report import analyze
from agentsafety.training.release import shipped_hashes


def run_cli(args:list)->tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        try: rc = main(args)
        except SystemExit as e: rc = e.code
    return rc, out.getvalue(), err.getvalue()


# ---- tiny models: two different ones, each in a folder called `model` ----

@pytest.fixture(scope='module')
def small_world():
    from agentsafety.environments.sandbox.world import SandboxWorld
    return SandboxWorld(seed=0, n_cases=12)

@pytest.fixture(scope='module')
def two_models(small_world, tmp_path_factory):
    "Two scrambled tiny models with the same tokenizer, in `A/model` and `B/model`."
    import torch
    from agentsafety.agents.prompt import task_message
    from agentsafety.agents.policies import get_policy, play
    from agentsafety.agents.lm import tiny_agent, save_agent, TinyConfig
    w = small_world
    texts = [task_message(c, w.case_toolkits(i)) for i, c in enumerate(w.cases)]
    texts += [s.log for i in range(len(w.cases)) for s in play(w, get_policy('careful'), i).steps]
    root, out = tmp_path_factory.mktemp('models'), []
    for name, seed in (('A', 0), ('B', 1)):
        model, tok = tiny_agent(texts, 600, TinyConfig(hidden=64, intermediate=128, seed=seed))
        with torch.no_grad():
            for n, p in model.named_parameters():
                if 'embed' not in n and 'norm' not in n: p.mul_(10)
        out.append(save_agent(model, tok, root/name/'model'))
    return out


# ---- 1. nothing stale: rollouts keyed on what wrote them, stages that never see another key's files ----

def test_rollout_two_models_in_folders_of_the_same_name(two_models, tmp_path):
    "`rollout --agent hf:A/model` then `hf:B/model` into the same --out: B's own trajectories and scores, never A's."
    from agentsafety.environments.sandbox.world import SandboxWorld
    from agentsafety.agents.backends import HFBackend
    from agentsafety.agents.rollout import rollout, RolloutConfig
    a, b = two_models
    args = ['rollout', '--env', 'sandbox', '--cases', '0-4', '--max-new-tokens', '12', '--max-steps', '2', '--device', 'cpu',
            '--no-progress', '--out', str(tmp_path)]
    f = tmp_path/'model_emu-sandbox_eval-sandbox_r0-4.jsonl'
    assert run_cli(args + ['--agent', f'hf:{a}'])[0] == 0
    first = read_trajectories(f)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): rc = main(args + ['--agent', f'hf:{b}'])
    assert rc == 0, err.getvalue()
    assert any('was written by a different run (producer.model:' in str(x.message) and 'starting afresh' in str(x.message) for x in w)
    world, cfg = SandboxWorld(), RolloutConfig(max_new_tokens=12, max_steps=2)
    own = rollout(world, HFBackend(b, device='cpu'), range(4), cfg, progress=False)
    trajs, evals = read_run(f)
    assert trajs == own and trajs != first
    assert [l.score for l in evals['safe']] == [world.judge(t)['safe'].score for t in own]  # its scores are its own too
    with warnings.catch_warnings(record=True) as w:  # the same model again: it resumes, nothing replayed
        warnings.simplefilter('always')
        assert run_cli(args + ['--agent', f'hf:{b}'])[0] == 0
    assert not [x for x in w if 'different run' in str(x.message)] and read_trajectories(f) == own


def test_rollout_resume_keyed_on_what_the_endpoint_serves(small_world, tmp_path):
    "The same model name at the same URL, but the server now serves another model (its /models says so): a fresh start."
    from agentsafety.agents.backends import ChatServer, ScriptedBackend
    from agentsafety.agents.policies import get_policy
    from agentsafety.environments.sandbox.world import SandboxWorld
    careful = ScriptedBackend(SandboxWorld(), get_policy('careful'))
    def serving(root, port=0):
        srv = ChatServer(careful, port=port)
        base = srv.httpd.RequestHandlerClass
        class Handler(base):
            def do_GET(self):
                self._send(200, {'object': 'list', 'data': [{'id': 'agent', 'object': 'model', 'root': root, 'owned_by': 'vllm'}]})
        srv.httpd.RequestHandlerClass = Handler
        return srv
    args = ['rollout', '--cases', '0-3', '--judge', 'none', '--name', 'run', '--out', str(tmp_path), '--no-progress']
    with serving('/models/A') as srv:
        port = srv.httpd.server_address[1]
        assert run_cli(args + ['--agent', f'openai:agent@{srv.url}'])[0] == 0
    meta = json.loads((tmp_path/'run.rollout.json').read_text())
    assert meta['producer']['served'] == {'id': 'agent', 'root': '/models/A', 'owned_by': 'vllm'}
    with serving('/models/B', port) as srv, warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            assert main(args + ['--agent', f'openai:agent@{srv.url}']) == 0
        asked = srv.requests
    assert any("producer.served.root: '/models/A' now '/models/B'" in str(x.message) for x in w)
    assert asked > 0  # played again, not resumed


def test_stage_with_a_new_key_never_sees_the_old_files(tmp_path):
    "Lowering the pool size: the new pool never holds the old pool-NN folders; a run that fails leaves the previous outputs."
    from agentsafety.study.stages import Pipeline
    def pool(path, n):
        assert not any(path.glob('pool-*')), f"the stage started with {sorted(x.name for x in path.iterdir())}"
        for i in range(n): (path/f'pool-{i:02d}').mkdir()
    Pipeline(tmp_path).run('pool', {'pool_size': 3}, lambda p: pool(p, 3))
    def boom(p): (p/'pool-00').mkdir(); raise RuntimeError('killed')
    with pytest.raises(RuntimeError): Pipeline(tmp_path).run('pool', {'pool_size': 5}, boom)
    assert sorted(x.name for x in (tmp_path/'pool').glob('pool-*')) == ['pool-00', 'pool-01', 'pool-02']  # the previous, complete
    r = Pipeline(tmp_path).run('pool', {'pool_size': 2}, lambda p: pool(p, 2))
    assert r.ran and sorted(x.name for x in (tmp_path/'pool').glob('pool-*')) == ['pool-00', 'pool-01']


def test_study_upstream_change_never_reuses_stale_trajectories(two_models, tmp_path):
    """A study whose source model changes (another model, in a folder of the same name): every evaluation is the new
    model's, the trained agent is retrained from it, and its evaluation is that agent's; a smaller pool drops the old
    pool's agents. `agentsafety gc` then finds nothing of the old config left to remove but stale leftovers."""
    from agentsafety.agents.backends import HFBackend
    from agentsafety.agents.rollout import rollout
    from agentsafety.environments.sandbox.world import SandboxWorld
    from agentsafety.study.config import study_config
    from agentsafety.study.runner import Study
    from agentsafety.training.sources import SourceSpec
    a, b = two_models
    cfg = study_config('quick', n_cases=12, pool_size=3, pairs_per_case=2, workers=1, schedules=['S'], pairs_from='pool', both_mode='both',  # the pool's pairs: a pool change must reach them
                       sources=[SourceSpec('P', pretrained=str(a))], dpo={'max_pairs': 4, 'max_length': 4000},
                       rollout={'max_steps': 2, 'max_new_tokens': 16})
    world = SandboxWorld(seed=cfg.world_seed, n_cases=cfg.n_cases)
    def check(study, model):
        res = study.evaluate()
        src = read_trajectories(next((res/'P').glob('P_*_run.jsonl')))
        assert src == rollout(world, HFBackend(model, device='cpu'), range(cfg.n_cases), cfg.rollout, progress=False)
        agent, model_dir, seed = study.trained_agents()[0]
        got = read_trajectories(next((res/agent).glob(f'{agent}_*_run.jsonl')))
        assert got == rollout(world, HFBackend(model_dir, device='cpu'), split_cases(seed, cfg.n_cases)[1], cfg.rollout, progress=False)
        return src, got
    src_a, _ = check(Study(cfg, tmp_path, progress=False), a)
    cfg_b = replace(cfg, sources=[SourceSpec('P', pretrained=str(b))])
    src_b, _ = check(Study(cfg_b, tmp_path, progress=False), b)
    assert src_b != src_a
    small = Study(replace(cfg_b, pool_size=2), tmp_path, progress=False)
    assert sorted(x.name for x in small.pool().path.iterdir() if x.is_dir()) == ['pool-00', 'pool-01']
    assert small.prefs().sum() > 0
    rc, out, _ = run_cli(['gc', str(tmp_path), '--dry-run'])
    assert rc == 0 and '0 folder(s)' in out  # the smaller pool is newer than the last complete run: kept
    small.evaluate()
    rc, out, _ = run_cli(['gc', str(tmp_path)])
    assert rc == 0 and '0 folder(s)' in out
    assert not [p for p in (tmp_path/'stages').rglob('*') if '.tmp-' in p.name or '.old-' in p.name]


def test_gc_lists_and_removes_stage_folders_no_current_key_uses(tmp_path):
    "`agentsafety gc OUT --dry-run` lists the unused stage folders with sizes; without it they are removed."
    from agentsafety.study.stages import Pipeline, record_current
    root = tmp_path/'quick'/'stages'
    p = Pipeline(root)
    old = [p.run(f'train/agent-{b}', {'beta': b}, lambda d: (d/'w.bin').write_bytes(b'x' * 5000)) for b in (0.1, 0.05)]
    record_current(root, old)
    time.sleep(0.01)
    record_current(root, [p.run('train/agent-0.1', {'beta': 0.1}, lambda d: None)])  # the config now has one β
    rc, out, _ = run_cli(['gc', str(tmp_path), '--dry-run'])
    assert rc == 0 and 'train/agent-0.05' in out and '5.1 KB' in out and "not a stage of the study's last complete run" in out
    assert (root/'train'/'agent-0.05').exists()
    rc, out, _ = run_cli(['gc', str(tmp_path)])
    assert rc == 0 and 'removed 5.1 KB' in out
    assert sorted(x.name for x in (root/'train').iterdir()) == ['agent-0.1']
    rc, _, err = run_cli(['gc', str(tmp_path/'nowhere')])
    assert rc == 1 and 'no such folder' in err


# ---- 2. outputs replace, never mix ----

def test_analyze_out_replaces_never_mixes(tmp_path, monkeypatch):
    "A second analysis into the same --out leaves exactly its own files; one that fails half way leaves the previous ones."
    tree, out = tmp_path/'tree', tmp_path/'out'
    tree.mkdir(); write_toy_tree(tree, extra=False)
    assert run_cli(['analyze', str(tree), '--out', str(out), '--no-progress'])[0] == 0
    assert any((out/'figures').iterdir())
    first = (out/'summary.json').read_text()
    import agentsafety.analysis.plots as plots
    def broken(*a, **k): raise RuntimeError('the figures failed')
    monkeypatch.setattr(plots, 'write_figures', broken)
    with pytest.raises(RuntimeError): analyze(tree, out=out, progress=False, bootstrap=3)
    assert (out/'summary.json').read_text() == first and any((out/'figures').iterdir())  # the previous run's, whole
    monkeypatch.undo()
    assert run_cli(['analyze', str(tree), '--out', str(out), '--no-progress', '--no-figures', '--bootstrap', '3'])[0] == 0
    assert not (out/'figures').exists()  # not this run's: gone
    assert json.loads((out/'summary.json').read_text())['bootstrap'] == 3
    assert sorted(x.name for x in out.iterdir()) == ['summary.json', 'tables']


def test_summary_records_what_made_it(tmp_path):
    "summary.json names the package version and commit, the libraries' versions, shipped models and the machine."
    (tmp_path/'tree').mkdir(); write_toy_tree(tmp_path/'tree', extra=False)
    s = analyze(tmp_path/'tree', out=tmp_path/'out', progress=False, figures=False)
    p = json.loads((tmp_path/'out'/'summary.json').read_text())['provenance']
    assert p == s['provenance']
    assert p['package']['name'] == 'agentsafety' and p['package']['version']
    assert 'commit' in p['package'] and set(p['libraries']) >= {'torch', 'transformers', 'trl', 'peft'}
    assert all(isinstance(v, str) for v in p['libraries'].values())
    assert p['models'] == shipped_hashes() and {m['name'] for m in p['models']} >= {'base'} and p['machine']['cores'] == os.cpu_count() and 'cpu' in p['machine'] and 'gpus' in p['machine']


def test_paper_outputs_replace_never_mix(tmp_path, monkeypatch):
    "`agentsafety paper`: a run that fails leaves the previous run's notebook, summary, figures and tables; one that finishes leaves only its own."
    import agentsafety.study.paper as paper
    run = tmp_path/'quick'
    for name in ('paper.ipynb', 'summary.json'): (run/name).parent.mkdir(parents=True, exist_ok=True); (run/name).write_text('old')
    for name in ('figures', 'tables'): (run/name).mkdir(); (run/name/'old.csv').write_text('old')
    (run/'stages').mkdir(); (run/'stages'/'kept').write_text('cache')
    def notebook(fail):
        def run_notebook(src, dest, params=None, cwd=None, progress=True):
            out = Path(params['out_dir'])
            Path(dest).write_text('new'); (out/'summary.json').write_text('{"frontier": {}}')
            (out/'tables').mkdir(exist_ok=True); (out/'tables'/'new.csv').write_text('new')
            if fail: raise RuntimeError('cell 21 failed')
        return run_notebook
    monkeypatch.setattr(paper, 'run_notebook', notebook(True))
    rc, out, err = run_cli(['paper', '--preset', 'quick', '--out', str(tmp_path), '--no-progress'])
    assert rc == 1 and 'cell 21 failed' in err and 'previous complete outputs' in err
    assert [(run/n).read_text() for n in ('paper.ipynb', 'summary.json')] == ['old', 'old']
    assert sorted(x.name for x in (run/'tables').iterdir()) == ['old.csv'] and (run/'figures'/'old.csv').exists()
    monkeypatch.setattr(paper, 'run_notebook', notebook(False))
    rc, out, err = run_cli(['paper', '--preset', 'quick', '--out', str(tmp_path), '--no-progress'])
    assert rc == 0, err
    assert sorted(x.name for x in run.iterdir()) == ['paper.ipynb', 'stages', 'summary.json', 'tables']
    assert sorted(x.name for x in (run/'tables').iterdir()) == ['new.csv'] and (run/'stages'/'kept').exists()


# ---- 3. the paper command checks its arguments before a kernel starts ----

@pytest.fixture
def no_kernel(monkeypatch):
    "Fails the test if the paper notebook is started."
    import agentsafety.study.paper as paper
    started = []
    monkeypatch.setattr(paper, 'run_notebook', lambda *a, **k: started.append(a) or (_ for _ in ()).throw(AssertionError('a kernel started')))
    return started

@pytest.mark.parametrize('args,said', [
    (['-p', 'mode', 'replicate', '-p', 'result_dir', 'x'], "unknown notebook parameter(s) 'result_dir' (did you mean 'results_dir'?); expected one of: mode, preset, results_dir"),
    (['--preset', 'bogus'], "unknown preset 'bogus'; expected one of: quick, full, paper"),
    (['-p', 'overrides', '{"betaz": [0.1]}'], "unknown StudyConfig field(s) 'betaz' (did you mean 'betas'?); expected one of: preset, env,"),
    (['-p', 'overrides', '{"dpo": {"epohcs": 1}}'], "unknown StudyConfig.dpo field(s) 'epohcs' (did you mean 'epochs'?)"),
    (['-p', 'mode', 'replicate', '-p', 'results_dir', '/no/such/tree'], '-p results_dir /no/such/tree: no such folder'),
    (['-p', 'mode', 'replay'], "-p mode 'replay': expected run or replicate"),
])
def test_paper_rejects_bad_arguments_before_a_kernel(no_kernel, tmp_path, args, said):
    rc, out, err = run_cli(['paper', '--out', str(tmp_path), '--no-progress', *args])
    assert rc == 1 and said in err, err
    assert no_kernel == [] and not any(tmp_path.iterdir())


def test_nested_overrides_merge_into_the_preset(monkeypatch, tmp_path):
    "`-p overrides '{\"dpo\": {\"epochs\": 3}}'` changes the preset's DPO epochs and keeps its other DPO settings."
    import agentsafety.study.paper as paper
    from agentsafety.study.config import study_config
    seen = {}
    monkeypatch.setattr(paper, 'run_notebook', lambda src, dest, params=None, *a, **k: seen.update(params))
    rc, _, err = run_cli(['paper', '--preset', 'quick', '--out', str(tmp_path), '--no-progress', '-p', 'overrides', '{"dpo": {"epochs": 3}}'])
    assert rc == 0, err
    cfg = study_config(seen['preset'], **seen['overrides'])
    assert cfg.dpo == replace(study_config('quick').dpo, epochs=3)


# ---- 5. every bad input a clear error ----

def _bad_byte(path:Path, line:int):
    "Put a Latin-1 byte (not UTF-8) into line `line` of a text file."
    rows = path.read_bytes().split(b'\n')
    rows[line - 1] = rows[line - 1].replace(b'"', b'"\xe9', 1)
    path.write_bytes(b'\n'.join(rows))

def test_invalid_utf8_in_cases_names_file_and_line(tmp_path):
    from agentsafety.environments.sandbox.world import SandboxWorld
    SandboxWorld(seed=0, n_cases=4).to_dir(tmp_path)
    _bad_byte(tmp_path/'all_cases.json', 3)
    rc, _, err = run_cli(['cases', str(tmp_path)])
    assert rc == 1 and f"{tmp_path/'all_cases.json'}, line 3: not valid UTF-8 (byte 0xe9" in err

def test_invalid_utf8_in_trajectories_names_file_and_line(tmp_path):
    tp = write_toy_run(tmp_path, 'src', 'j', {0: (1, 1), 1: (2, 2), 2: (1, 2)})[0]
    _bad_byte(tp, 2)
    rc, _, err = run_cli(['analyze', str(tmp_path), '--out', str(tmp_path/'out'), '--n-cases', '3', '--no-progress'])
    assert rc == 1 and f"{tp}, line 2: not valid UTF-8 (byte 0xe9" in err
    rc, _, err = run_cli(['judge', str(tp), '--judge', 'env'])
    assert rc == 1 and f"{tp}, line 2: not valid UTF-8" in err

def test_invalid_utf8_in_evals_names_file_and_line(tmp_path):
    tp = write_toy_run(tmp_path, 'src', 'j', {0: (1, 1), 1: (2, 2), 2: (1, 2)})[0]
    _bad_byte(eval_path(tp, 'safe'), 3)
    rc, _, err = run_cli(['analyze', str(tmp_path), '--out', str(tmp_path/'out'), '--n-cases', '3', '--no-progress'])
    assert rc == 1 and f"{eval_path(tp, 'safe')}, line 3: not valid UTF-8 (byte 0xe9" in err

@pytest.mark.parametrize('line,kind', [('[1, 2]', 'list'), ('3', 'int'), ('"Good"', 'str'), ('{"replicates": [7]}', 'int')])
def test_eval_line_that_is_not_an_object(tmp_path, line, kind):
    tp = write_toy_run(tmp_path, 'src', 'j', {0: (1, 1), 1: (2, 2)})[0]
    ep = eval_path(tp, 'help_ignore_safety')
    ep.write_text(ep.read_text().splitlines()[0] + '\n' + line + '\n')
    rc, _, err = run_cli(['analyze', str(tmp_path), '--out', str(tmp_path/'out'), '--n-cases', '2', '--no-progress'])
    assert rc == 1 and f"{ep}, line 2" in err and f"expected a JSON object, got {kind}" in err

def test_judge_view_without_a_source_run_names_agent_and_judge(tmp_path):
    write_toy_tree(tmp_path, extra=False)
    write_toy_run(tmp_path, 'dpo_src_safe_j1_s1', 'judge-two', {i: (1, 3) for i in split_cases(1, 8)[1]})
    rc, _, err = run_cli(['analyze', str(tmp_path), '--out', str(tmp_path/'out'), '--no-progress'])
    assert rc == 1 and "agent 'dpo_src_safe_j1_s1' is judged by 'judge-two', but its source 'src' has no run judged by 'judge-two'" in err

def test_trained_runs_without_any_source_run(tmp_path):
    "Only trained runs, no source at all: no deltas and a note, not an IndexError."
    (tmp_path/'analysis.json').write_text('{"n_cases": 8}')
    for s in (0, 1): write_toy_run(tmp_path, f'dpo_src_safe_j1_s{s}', 'judge-one', {i: (1, 3) for i in split_cases(s, 8)[1]})
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        s = analyze(tmp_path, progress=False)
    assert "trained variants without a source run (no deltas): ['src']" in s['notes']

def test_empty_chunk_file_cases_are_reported_missing(tmp_path):
    "A source chunk file that is empty: its cases are missing, with the reason, not silently dropped."
    (tmp_path/'analysis.json').write_text('{"n_cases": 30}')
    files = write_toy_run(tmp_path, 'src', 'j', {i: (2, 2) for i in range(30)}, chunks=2)
    for f in [files[1], eval_path(files[1], 'safe'), eval_path(files[1], 'help_ignore_safety')]: f.write_text('')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        s = analyze(tmp_path, progress=False)
    m = {x['metric']: x for x in s['missing']}
    assert m['safety']['cases'] == list(range(15, 30)) and m['help']['cases'] == list(range(15, 30))
    assert set(m['safety']['reasons']) == {f"no trajectory: {files[1].name} is empty"}

def test_failed_cases_are_listed_missing_with_their_reasons(tmp_path):
    "A case whose rollout failed is not judged (item 4); the analysis lists it under `missing` with the judge's reason."
    tp = write_toy_run(tmp_path, 'src', 'j', {0: (1, 1), 1: (2, 2), 2: (3, 3)})[0]
    for m in ('safe', 'help_ignore_safety'):
        lines = list(__import__('agentsafety.core', fromlist=['read_evals']).read_evals(eval_path(tp, m), m))
        lines[1] = EvalLine(1, [Evaluation(m, None, eval_id=1, extra={'missing_reason': 'the rollout failed (backend_error: 503)'})])
        write_evals(eval_path(tp, m), lines)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        s = analyze(tmp_path, progress=False, n_cases=3)
    assert [(x['metric'], x['cases'], x['reasons']) for x in s['missing']] == [
        ('help', [1], ['the rollout failed (backend_error: 503)']), ('safety', [1], ['the rollout failed (backend_error: 503)'])]

@pytest.mark.parametrize('n,said', [('0', 'n_cases must be an integer of at least 2, got 0'), ('1', 'at least 2, got 1'),
                                    ('-3', 'at least 2, got -3'), ('100', 'n_cases=100 is out of range')])
def test_analyze_n_cases_out_of_range(tmp_path, n, said):
    (tmp_path/'tree').mkdir(); write_toy_tree(tmp_path/'tree', extra=False)
    rc, _, err = run_cli(['analyze', str(tmp_path/'tree'), '--out', str(tmp_path/'out'), '--no-progress', '--n-cases', n])
    assert rc == 1 and said in err and 'Traceback' not in err

def test_sandbox_n_cases_out_of_range(tmp_path):
    rc, _, err = run_cli(['sandbox-policies', '--n-cases', '100000', '--no-progress'])
    assert rc == 2 and 'n_cases=100000 is out of range: the seed-0 sandbox holds' in err

def test_out_that_is_a_file_or_a_folder_where_a_file_is_meant(tmp_path):
    from agentsafety.agents.policies import play_policy
    from agentsafety.environments.sandbox.world import SandboxWorld
    a_file, a_dir = tmp_path/'file.txt', tmp_path/'folder'
    a_file.write_text('mine'); a_dir.mkdir()
    (tmp_path/'tree').mkdir(); write_toy_tree(tmp_path/'tree', extra=False)
    pool = tmp_path/'pool'
    play_policy(SandboxWorld(n_cases=8), 'careful').write(pool/'careful'/'careful_emu-sandbox_eval-prog_r0-8.jsonl')
    cases = [
        (['analyze', str(tmp_path/'tree'), '--out', str(a_file), '--no-progress'], f"{a_file} is a file, not a folder"),
        (['prefs', str(pool), '--out', str(a_dir)], f"{a_dir} is a folder, not a file"),
        (['prefs', str(pool), '--out', str(a_file/'pairs.jsonl')], f"{a_file} is a file, so nothing can be written under it"),
        (['rollout', '--agent', 'scripted:careful', '--cases', '0-2', '--out', str(a_file), '--no-progress'], f"{a_file} is a file, not a folder"),
        (['paper', '--preset', 'quick', '--out', str(a_file), '--no-progress'], f"{a_file} is a file, not a folder"),
    ]
    for args, said in cases:
        rc, _, err = run_cli(args)
        assert rc == 1 and said in err and 'Traceback' not in err, (args, err)
    assert a_file.read_text() == 'mine' and list(a_dir.iterdir()) == []
