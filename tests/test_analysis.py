"""Tests of agentsafety.analysis (results, frontier, tables, plots, report): hand-made trees for the rules, the paper's released tree for the numbers."""
import json, warnings
from pathlib import Path

import numpy as np
import pytest

from agentsafety.analysis.results import AnalysisConfig, load_runs, read_case_indices, write_toy_run
from agentsafety.analysis.report import analyze
from agentsafety.cli import main
from agentsafety.analysis.frontier import make_reports, persistence
from agentsafety.names import parse_agent_name
from agentsafety.core import DataError, EvalLine, Evaluation, eval_path, paper_data, split_cases, write_evals

# ---------------------------------------------------------------------------------------------------------------------
# Hand-made trees

def _cfg(d, n):
    Path(d).mkdir(parents=True, exist_ok=True)
    (Path(d)/'analysis.json').write_text(json.dumps({'n_cases': n}))

def _quiet(f, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return f(*a, **k)


def test_split_matches_pipeline():
    assert split_cases(0)[1][:6] == [0, 1, 7, 8, 9, 10]
    assert split_cases(2)[1][-3:] == [140, 141, 142]
    assert split_cases(1, 8) == split_cases(1, 8)  # deterministic, and leaves the global random state alone


@pytest.mark.parametrize('name,want', [
    ('dpo_Llama3.1-8B_safe_q32_beta-0.05_s0_help_q32_beta-0.05_s0', ('Llama3.1-8B', 'S,H', 0.05, 0, 'q32', 'S,H-0.05')),
    ('dpo_Phi-4_help_gpt5m_beta-0.05_s2_safe_gpt5m_beta-0.05_s2', ('Phi-4', 'H,S', 0.05, 2, 'gpt5m', 'H,S-0.05')),
    ('dpo_Qwen2.5-7B_both_q32_s1', ('Qwen2.5-7B', 'S&H', 0.1, 1, 'q32', 'S&H-0.1')),
    ('dpo_sandbox-src0_safe_prog_s0', ('sandbox-src0', 'S', 0.1, 0, 'prog', 'S-0.1')),
    ('microsoft_phi-4', ('Phi-4', 'base', None, None, None, 'base')),
    ('sandbox-src0', ('sandbox-src0', 'base', None, None, None, 'base')),
])
def test_parse_agent_name(name, want):
    a = parse_agent_name(name)
    assert (a.source, a.schedule, a.beta, a.seed, a.data_judge, a.label) == want


@pytest.mark.parametrize('bad,msg', [('dpo_Phi-4', 'not a trained-variant name'), ('dpo_Phi-4_safe_q32_s0_help_gpt5m_s0', 'disagree')])
def test_parse_agent_name_errors(bad, msg):
    with pytest.raises(DataError, match=msg): parse_agent_name(bad)


def _seeded_tree(d, n=8):
    """Source `src` (safety = case % 4, help = 2) and S/H/S,H/H,S variants at seeds 0 and 1 under judge `prog`.
    Seed 0: safety S 3, H 1, S,H 2 (ratio 0.5); seed 1: S 3, H 2, S,H 3 (ratio 1). Help: S 1, H 3, H,S 2 for both."""
    _cfg(d, n)
    write_toy_run(d, 'src', 'prog', {i: (2, i % 4) for i in range(n)}, chunks=2)
    safety = {0: {'S': 3, 'H': 1, 'S,H': 2, 'H,S': 2}, 1: {'S': 3, 'H': 2, 'S,H': 3, 'H,S': 2}}
    helps = {'S': 1, 'H': 3, 'S,H': 2, 'H,S': 2}
    names = {'S': 'safe_prog_s{s}', 'H': 'help_prog_s{s}', 'S,H': 'safe_prog_s{s}_help_prog_s{s}',
             'H,S': 'help_prog_s{s}_safe_prog_s{s}'}
    for s in (0, 1):
        for sched, nm in names.items():
            # seed-1 S runs cover every case; the non-test cases must not count
            cases = range(n) if (s, sched) == (1, 'S') else split_cases(s, n)[1]
            write_toy_run(d, 'dpo_src_' + nm.format(s=s), 'prog',
                          {i: (helps[sched], safety[s][sched] if i in split_cases(s, n)[1] else 0) for i in cases})


def test_reports_deltas_and_source_seeds(tmp_path):
    _seeded_tree(tmp_path)
    s = analyze(tmp_path, progress=False)
    t0, t1 = split_cases(0, 8)[1], split_cases(1, 8)[1]
    base_safety = (np.mean([i % 4 for i in t0]) + np.mean([i % 4 for i in t1])) / 2
    b = s['bases'][0]
    assert (b['source'], b['help'], b['n_runs'], b['n_cases']) == ('src', 2, 2, 8)
    assert b['safety'] == pytest.approx(base_safety)
    pt = {p['label']: p for p in s['points']}
    assert pt['S-0.1']['safety'] == 3 and pt['S-0.1']['n_runs'] == 2 and pt['S-0.1']['n_cases'] == 8
    assert pt['H-0.1']['safety'] == pytest.approx(1.5)
    assert pt['S,H-0.1']['delta_safety'] == pytest.approx(2.5 - base_safety)
    assert pt['S-0.1']['delta_help'] == -1 and pt['H-0.1']['delta_help'] == 1
    assert [p['label'] for p in s['points']] == ['S-0.1', 'H-0.1', 'S,H-0.1', 'H,S-0.1']
    assert s['judges'] == ['prog'] and s['n_reports'] == 8 + 2


def test_persistence_pools_seeds_before_the_ratio(tmp_path):
    _seeded_tree(tmp_path)
    runs = load_runs(tmp_path, progress=False)[0]
    p, notes = persistence(runs, 8)
    # pooled: Safety(S) 3, Safety(H) 1.5, Safety(S,H) 2.5 -> 2/3 (the mean of the per-seed ratios would be 0.75)
    assert p['S']['0.1']['average'] == pytest.approx(2/3)
    assert p['S']['0.1']['by_model_judge'] == {'src': {'prog': pytest.approx(2/3)}}
    assert p['H']['0.1']['by_model'] == {'src': pytest.approx(0.5)}
    assert p['S']['0.1']['n_seeds'] == {'src': {'prog': 2}} and notes == []


def test_persistence_none_rule(tmp_path):
    _seeded_tree(tmp_path)
    runs = load_runs(tmp_path, progress=False)[0]
    for r in runs:  # H as safe as S: zero denominator
        if r.agent.schedule == 'H': r.safety[:] = 3.0
    p, _ = persistence(runs, 8, bootstrap=20, rng=np.random.default_rng(0))
    assert p['S']['0.1']['average'] is None and p['S']['0.1']['average_ci'] is None
    assert p['H']['0.1']['average'] == pytest.approx(0.5)
    for r in runs:  # negative denominator: None as well
        if r.agent.schedule == 'H': r.safety[:] = 3.5
    assert persistence(runs, 8)[0]['S']['0.1']['by_model'] == {'src': None}


def test_persistence_skips_seed_with_different_case_sets(tmp_path):
    _seeded_tree(tmp_path)
    runs = load_runs(tmp_path, progress=False)[0]
    r = next(r for r in runs if r.agent.label == 'S,H-0.1' and r.agent.seed == 1)
    r.present[split_cases(1, 8)[1][0]] = False
    p, notes = persistence(runs, 8)
    assert p['S']['0.1']['n_seeds'] == {'src': {'prog': 1}} and 'do not cover the same test cases' in notes[0]
    assert p['S']['0.1']['average'] == pytest.approx(0.5)


def test_bootstrap_is_seeded_and_brackets(tmp_path):
    _seeded_tree(tmp_path)
    a, b = (analyze(tmp_path, bootstrap=200, seed=7, progress=False) for _ in range(2))
    assert a == b
    c = analyze(tmp_path, bootstrap=200, seed=8, progress=False)
    assert c['bases'][0]['safety_ci'] != a['bases'][0]['safety_ci']
    p = a['points'][1]
    assert p['safety_ci'][0] <= p['safety'] <= p['safety_ci'][1]


def test_median_over_replicates(tmp_path):
    tp = write_toy_run(tmp_path, 'src', 'j', {0: (1, 1), 1: (2, 2)})[0]
    write_evals(eval_path(tp, 'safe'), [
        EvalLine(0, [Evaluation('safe', s) for s in (3, 1, None)], {'agree': 0.5}, True),
        EvalLine(1, [Evaluation('safe', None)], None, True)])
    runs, _, missing = _quiet(load_runs, tmp_path, AnalysisConfig(2), False)
    assert runs[0].safety[0] == 2 and np.isnan(runs[0].safety[1])
    assert missing == [dict(agent='src', judge='j', tag='', metric='safety', cases=[1], reasons=['no score'])]


def test_missing_and_out_of_range_scores_are_missing_not_zero(tmp_path):
    _cfg(tmp_path, 4)
    write_toy_run(tmp_path, 'src', 'j', {0: (3, 3), 1: (None, 3), 2: (7, -1), 3: (1, 3)})
    with pytest.warns(UserWarning, match=r'3 missing or out-of-range score\(s\)'):
        s = analyze(tmp_path, progress=False)
    assert s['bases'][0]['help'] == 2 and s['bases'][0]['safety'] == 3
    assert [(m['metric'], m['cases']) for m in s['missing']] == [('help', [1, 2]), ('safety', [2])]


def test_skipped_runs_and_files(tmp_path):
    _cfg(tmp_path, 4)
    write_toy_run(tmp_path, 'src', 'j', {i: (1, 1) for i in range(4)})
    tp = write_toy_run(tmp_path, 'src', 'k', {i: (1, 1) for i in range(4)})[0]
    eval_path(tp, 'help_ignore_safety').unlink()
    (tmp_path/'src'/'notes.jsonl').write_text('{}\n')
    (tmp_path/'src'/'src_emu-x_eval-z_r0-4_1_eval_agent_safe.jsonl').write_text('{}\n')
    with pytest.warns(UserWarning, match='skipped'):
        s = analyze(tmp_path, progress=False)
    reasons = sorted(x['reason'].split(':')[0].split(' (')[0] for x in s['skipped'])
    assert reasons == ['eval file without its trajectory file', 'missing eval file(s)', "not a trajectory file name of agent 'src'"]
    assert next(x for x in s['skipped'] if 'judge' in x)['judge'] == 'k' and s['n_runs'] == 1


@pytest.mark.parametrize('damage,msg', [
    ('drop', 'has 1 lines but'), ('swap', 'eval_id 1 does not match its line in')])
def test_alignment_errors_name_both_files(tmp_path, damage, msg):
    tp = write_toy_run(tmp_path, 'src', 'j', {0: (1, 1), 1: (2, 2)})[0]
    ep = eval_path(tp, 'help_ignore_safety')
    lines = ep.read_text().splitlines()
    ep.write_text(lines[0] + '\n' if damage == 'drop' else lines[1] + '\n' + lines[0] + '\n')
    with pytest.raises(DataError, match=msg) as e: load_runs(tmp_path, AnalysisConfig(2), False)
    assert ep.name in str(e.value) and tp.name in str(e.value)


def _rename_run(tp, old, new):
    for m in ('', '_eval_agent_safe', '_eval_agent_help_ignore_safety'):
        f = tp.with_name(tp.stem + m + '.jsonl')
        f.with_name(f.name.replace(old, new)).write_text(f.read_text())


def test_case_errors(tmp_path):
    write_toy_run(tmp_path/'a', 'src', 'j', {0: (1, 1), 5: (2, 2)})
    with pytest.raises(DataError, match=r'case_idx 5 is outside 0..3'): load_runs(tmp_path/'a', AnalysisConfig(4), False)
    tp = write_toy_run(tmp_path/'b', 'src', 'j', {0: (1, 1), 1: (2, 2)})[0]
    _rename_run(tp, '0101', '0202')  # a second copy of the same cases
    with pytest.raises(DataError, match='appears twice'): load_runs(tmp_path/'b', AnalysisConfig(4), False)
    tp = write_toy_run(tmp_path/'c', 'src', 'j', {0: (1, 1), 1: (2, 2)})[0]
    _rename_run(tp, '_r0-2_', '_r1-2_')
    for f in tp.parent.glob('*_r0-2_*'): f.unlink()
    with pytest.raises(DataError, match="outside the file's range r1-2"): load_runs(tmp_path/'c', AnalysisConfig(4), False)


def test_empty_tree_is_an_error(tmp_path):
    with pytest.raises(DataError, match='no agent runs found'): analyze(tmp_path, progress=False)
    with pytest.raises(DataError, match='does not exist'): analyze(tmp_path/'nope', progress=False)
    (tmp_path/'a').mkdir(); (tmp_path/'a'/'a_notes.jsonl').write_text('{}\n')
    with pytest.raises(DataError, match='no complete run'): _quiet(analyze, tmp_path, progress=False)
    assert main(['analyze', str(tmp_path/'nope'), '--out', str(tmp_path/'o'), '--no-progress']) == 1


def test_n_cases_from_config_or_argument(tmp_path):
    write_toy_run(tmp_path, 'src', 'j', {i: (1, 1) for i in range(10)})
    write_toy_run(tmp_path, 'dpo_src_safe_j_s3', 'j', {i: (0, 3) for i in split_cases(3, 10)[1]})
    assert analyze(tmp_path, progress=False, n_cases=10)['n_cases'] == 10
    with pytest.raises(DataError, match='outside 0..7'): analyze(tmp_path, progress=False, n_cases=8)
    _cfg(tmp_path, 10)
    s = analyze(tmp_path, progress=False)
    assert (s['n_cases'], s['points'][0]['delta_safety'], s['frontier']['n_points'], s['frontier']['r2']) == (10, 2, 1, None)
    assert any('at least 3' in n for n in s['notes'])


def test_case_index_reader_fallback(tmp_path):
    p = tmp_path/'t.jsonl'
    p.write_text('{"case_idx": 2, "x": 1}\n{"a": "\\"case_idx\\": 1}", "case_idx": 3}\r\n\n{"case_idx" :4 }\n')
    assert read_case_indices(p) == [2, 3, 4]


def test_cli_writes_the_output_contract(tmp_path):
    _seeded_tree(tmp_path/'tree')
    out = tmp_path/'out'
    assert main(['analyze', str(tmp_path/'tree'), '--out', str(out), '--bootstrap', '30', '--no-progress',
                 '--formats', 'png', '--formats', 'svg', '--formats', 'html']) == 0
    s = json.loads((out/'summary.json').read_text())
    assert {'frontier', 'points', 'persistence', 'skipped'} <= set(s)
    assert {'r2', 'r', 'slope', 'intercept', 'p', 'n_points', 'r2_ci'} <= set(s['frontier'])
    assert {'source', 'schedule', 'beta', 'help', 'safety', 'delta_help', 'delta_safety', 'n_runs'} <= set(s['points'][0])
    assert set(s['persistence']) == {'S', 'H'} and {'average', 'by_model'} <= set(s['persistence']['S']['0.1'])
    figs = {p.name for p in (out/'figures').iterdir()}
    for stem in ('overall', 'delta_by_model', 'delta_all', 'help_with_intermediates', 'safe_with_intermediates'):
        for suffix in ('', '_eval-prog'):
            assert {f"{stem}{suffix}.{e}" for e in ('png', 'svg', 'html')} <= figs
    html = (out/'figures'/'overall.html').read_text()
    assert 'cdn.jsdelivr' not in html and '"tooltip"' in html
    tabs = {p.name for p in (out/'tables').iterdir()}
    for t in ('results', 'results_eval-prog', 'aggregated_results', 'aggregated_deltas', 'persistence', 'frontier', 'points'):
        assert {f"{t}.{e}" for e in ('csv', 'md', 'tex')} <= tabs
    assert r'\begin{tabular}' in (out/'tables'/'persistence.tex').read_text()

def test_cli_default_figures_are_png_and_offline_html(tmp_path):
    _seeded_tree(tmp_path/'tree')
    out = tmp_path/'out'
    assert main(['analyze', str(tmp_path/'tree'), '--out', str(out), '--no-progress']) == 0
    figs = sorted(p.name for p in (out/'figures').iterdir())
    assert len(figs) == 20 and {Path(f).suffix for f in figs} == {'.png', '.html'}  # 10 figures; SVG only when asked
    for f in figs:
        if f.endswith('.html'):
            html = (out/'figures'/f).read_text()
            assert 'vegaEmbed(' in html and '"tooltip"' in html and len(html) > 500_000  # the libraries are inlined
            assert not any(x in html for x in ('src="http', "src='http", 'href="http', 'cdn.jsdelivr'))  # nothing to fetch


def test_figures_as_chart_save_writes_them(tmp_path):
    "The writer renders each spec once, without validating it: every spec is valid, the files are `chart.save`'s."
    from agentsafety.analysis.plots import FORMATS, charts, save_chart
    _seeded_tree(tmp_path/'tree')
    cs = charts(analyze(tmp_path/'tree', progress=False))
    for c in cs.values(): c.to_dict()  # validates against Vega-Lite's schema
    c = cs['delta_by_model']
    save_chart(c, tmp_path/'new', FORMATS)
    for ext in FORMATS:
        c.save(str(tmp_path/f"old.{ext}"), format=ext, **{'png': dict(scale_factor=2), 'html': dict(inline=True)}.get(ext, {}))
        assert (tmp_path/f"new.{ext}").read_bytes() == (tmp_path/f"old.{ext}").read_bytes(), ext
    with pytest.raises(ValueError, match='pdf'): save_chart(c, tmp_path/'x', ('pdf',))


def test_figures_without_a_child_process(tmp_path, monkeypatch):
    """The HTML's JavaScript comes from a child process the first time, then from the bundle it kept; where no child can
    start and nothing is kept, it is bundled in this process: the same files every way."""
    import subprocess
    from agentsafety.analysis.plots import write_figures
    monkeypatch.setenv('AGENTSAFETY_CACHE', str(tmp_path/'cache'))  # no bundle kept from an earlier run
    _seeded_tree(tmp_path/'tree')
    s = analyze(tmp_path/'tree', progress=False)
    a = write_figures(s, tmp_path/'a')
    kept = list((tmp_path/'cache'/'vega').iterdir())
    assert len(kept) == 1 and kept[0].stat().st_size > 500_000
    def no_child(*a, **k): raise OSError('no processes here')
    monkeypatch.setattr(subprocess, 'Popen', no_child)
    b = write_figures(s, tmp_path/'b')  # from the kept bundle
    kept[0].unlink()
    c = write_figures(s, tmp_path/'c')  # bundled here
    assert [p.name for p in a] == [p.name for p in b] == [p.name for p in c] and len(a) == 20
    assert all(x.read_bytes() == y.read_bytes() == z.read_bytes() for x, y, z in zip(a, b, c))


def test_judge_agreement_in_summary_and_tables(match_eval_dir, tmp_path):
    "Where two judges scored the same trajectories, `analyze` records their agreement per metric and writes its table."
    s = analyze(match_eval_dir, tmp_path/'out', progress=False, figures=False)
    ja = s['judge_agreement']
    assert set(ja) == {'safety', 'help'} and {ja[m]['n'] for m in ja} == {432}
    assert round(ja['safety']['kappa'], 4) == 0.2598 and round(ja['help']['kappa_quadratic'], 4) == 0.5010
    assert (tmp_path/'out'/'tables'/'judge_agreement.md').exists()


# ---------------------------------------------------------------------------------------------------------------------
# The paper's released match-eval tree (PIPELINE.md §10–11)

PAPER_POINTS = {  # (source, label): (help, safety)
    ('Llama3.1-8B', 'S-0.05'): (1.056, 2.576), ('Phi-4', 'S-0.05'): (1.785, 2.669), ('Qwen2.5-7B', 'S-0.05'): (1.750, 2.095),
    ('Llama3.1-8B', 'S-0.1'): (1.343, 2.505), ('Phi-4', 'S-0.1'): (2.007, 2.458), ('Qwen2.5-7B', 'S-0.1'): (1.694, 1.817),
    ('Llama3.1-8B', 'H-0.05'): (1.956, 1.532), ('Phi-4', 'H-0.05'): (2.701, 1.576), ('Qwen2.5-7B', 'H-0.05'): (2.248, 1.333),
    ('Llama3.1-8B', 'H-0.1'): (2.097, 1.403), ('Phi-4', 'H-0.1'): (2.602, 1.623), ('Qwen2.5-7B', 'H-0.1'): (2.303, 1.322),
    ('Llama3.1-8B', 'S&H-0.05'): (1.275, 2.440), ('Phi-4', 'S&H-0.05'): (2.053, 2.414), ('Qwen2.5-7B', 'S&H-0.05'): (1.961, 2.002),
    ('Llama3.1-8B', 'S&H-0.1'): (1.502, 2.301), ('Phi-4', 'S&H-0.1'): (1.938, 2.479), ('Qwen2.5-7B', 'S&H-0.1'): (2.076, 1.822),
    ('Llama3.1-8B', 'S,H-0.05'): (1.322, 2.440), ('Phi-4', 'S,H-0.05'): (2.072, 2.475), ('Qwen2.5-7B', 'S,H-0.05'): (1.764, 2.076),
    ('Llama3.1-8B', 'S,H-0.1'): (1.581, 2.271), ('Phi-4', 'S,H-0.1'): (2.257, 2.243), ('Qwen2.5-7B', 'S,H-0.1'): (1.898, 1.907),
    ('Llama3.1-8B', 'H,S-0.05'): (1.079, 2.252), ('Phi-4', 'H,S-0.05'): (2.088, 2.519), ('Qwen2.5-7B', 'H,S-0.05'): (1.725, 1.868),
    ('Llama3.1-8B', 'H,S-0.1'): (1.296, 2.266), ('Phi-4', 'H,S-0.1'): (2.213, 2.472), ('Qwen2.5-7B', 'H,S-0.1'): (1.847, 2.079),
}
PAPER_BASES = {'Llama3.1-8B': (2.257, 1.197), 'Phi-4': (2.435, 1.539), 'Qwen2.5-7B': (2.079, 1.278)}
PAPER_PERSIST = {  # (β, source): (S q32, S gpt5m, S mean, H q32, H gpt5m, H mean)
    ('0.05', 'Llama3.1-8B'): (0.805, 0.914, 0.859, 0.142, -0.070, 0.036),
    ('0.05', 'Phi-4'): (0.725, 0.889, 0.807, 0.413, 0.263, 0.338),
    ('0.05', 'Qwen2.5-7B'): (0.639, 1.204, 0.922, 0.167, -0.326, -0.080),
    ('0.1', 'Llama3.1-8B'): (0.730, 0.826, 0.778, 0.069, -0.166, -0.048),
    ('0.1', 'Phi-4'): (0.731, 0.749, 0.740, 0.363, 0.337, 0.350),
    ('0.1', 'Qwen2.5-7B'): (1.275, 1.138, 1.207, -0.028, 0.356, 0.164),
}


@pytest.fixture(scope='module')
def paper_tree():
    p = paper_data('match_eval_results')
    if p is None: pytest.skip('the paper data (../shared/paper/match_eval_results.tar.xz) is absent: real-data checks skipped')
    return p


@pytest.fixture(scope='module')
def paper_summary(paper_tree):
    return analyze(paper_tree, progress=False)


def test_paper_frontier(paper_summary):
    s = paper_summary
    f = s['frontier']
    assert (f['n_points'], s['n_runs'], s['n_reports'], s['skipped'], s['missing']) == (30, 186, 198, [], [])
    assert f['r2'] == pytest.approx(0.7655, abs=5e-4) and f['r'] == pytest.approx(-0.8749, abs=5e-5)
    assert f['slope'] == pytest.approx(-0.857, abs=5e-4) and f['intercept'] == pytest.approx(0.421, abs=5e-4)
    assert f['p'] < 1e-8
    assert f['absolute']['r'] == pytest.approx(-0.520, abs=5e-4) and f['absolute']['r2'] == pytest.approx(0.270, abs=5e-4)
    q, g = s['by_judge']['q32']['frontier'], s['by_judge']['gpt5m']['frontier']
    assert (q['r'], q['r2'], q['slope'], q['intercept']) == pytest.approx((-0.8136, 0.662, -0.688, 0.217), abs=5e-4)
    assert (g['r'], g['r2'], g['slope'], g['intercept']) == pytest.approx((-0.8775, 0.770, -0.883, 0.673), abs=5e-4)


def test_paper_points_and_bases(paper_summary):
    pts = {(p['source'], p['label']): p for p in paper_summary['points']}
    assert set(pts) == set(PAPER_POINTS)
    for k, (h, s) in PAPER_POINTS.items():
        assert (pts[k]['help'], pts[k]['safety']) == pytest.approx((h, s), abs=6e-4), k
        assert pts[k]['n_runs'] == 6
    bases = {b['source']: (b['help'], b['safety']) for b in paper_summary['bases']}
    assert set(bases) == set(PAPER_BASES)
    for k, want in PAPER_BASES.items(): assert bases[k] == pytest.approx(want, abs=6e-4), k
    ll = pts[('Llama3.1-8B', 'S-0.05')]
    assert (ll['delta_help'], ll['delta_safety']) == pytest.approx((-1.201, 1.380), abs=6e-4)
    agg = {p['label']: (p['delta_help'], p['delta_safety']) for p in paper_summary['aggregated']['points']}
    assert agg['S-0.05'] == pytest.approx((-0.73, 1.11), abs=6e-3) and agg['H-0.1'] == pytest.approx((0.08, 0.11), abs=6e-3)


def test_paper_persistence(paper_summary):
    P = paper_summary['persistence']
    got = [P[k][b]['average'] for k in 'SH' for b in ('0.05', '0.1')]
    assert got == pytest.approx([0.8627, 0.9082, 0.0980, 0.1552], abs=5e-5)
    for (b, m), want in PAPER_PERSIST.items():
        S, H = P['S'][b], P['H'][b]
        row = (S['by_model_judge'][m]['q32'], S['by_model_judge'][m]['gpt5m'], S['by_model'][m],
               H['by_model_judge'][m]['q32'], H['by_model_judge'][m]['gpt5m'], H['by_model'][m])
        assert row == pytest.approx(want, abs=6e-4), (b, m)
        assert S['n_seeds'][m] == {'gpt5m': 3, 'q32': 3}


def test_paper_bootstrap(paper_tree):
    s = analyze(paper_tree, bootstrap=60, seed=1, progress=False)
    lo, hi = s['frontier']['r2_ci']
    assert 0.4 < lo < 0.7655 < hi < 0.95
    lo, hi = s['persistence']['S']['0.05']['average_ci']
    assert 0.7 < lo < 0.8627 < hi < 1.0
    assert s['frontier']['r2'] == pytest.approx(0.7655, abs=5e-4)  # point estimates unchanged by the bootstrap


def test_paper_case_indices_match_a_full_parse(paper_tree):
    files = sorted(f for f in paper_tree.rglob('*.jsonl') if '_eval_agent_' not in f.name)[::97]
    for f in files:
        assert read_case_indices(f) == [json.loads(l)['case_idx'] for l in f.read_text().splitlines() if l.strip()], f
