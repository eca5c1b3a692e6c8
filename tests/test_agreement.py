"""Tests of agentsafety.analysis.agreement: κ and ρ against hand-worked values, closed forms and scipy (sklearn only
where it is installed), the pairing of two judges' runs on a results tree, and the numbers of the paper's two judges."""
import json, warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from agentsafety.analysis.agreement import (agreement, agreement_table, cohen_kappa, judge_agreement, judge_pairs,
                                            pairwise_agreement, shared_scores, spearman)
from agentsafety.analysis.results import load_runs, write_toy_run
from agentsafety.core import EvalLine, Evaluation, eval_path, read_evals, write_evals

A = [0, 0, 1, 1, 2, 2, 3, 3, 3, 2]
B = [0, 1, 1, 1, 2, 3, 3, 3, 2, 2]


def test_kappa_hand_worked():
    # p_o = 7/10, p_e = (2*1 + 2*3 + 3*3 + 3*3)/100 = 0.26; quadratic: 0.3 observed, 1.21 + 0.96 + 0.01 by chance
    assert cohen_kappa(A, B) == pytest.approx(22/37, abs=1e-12)
    assert cohen_kappa(A, B, 'quadratic') == pytest.approx(94/109, abs=1e-12)
    assert cohen_kappa(B, A) == pytest.approx(22/37, abs=1e-12)  # symmetric


@pytest.mark.parametrize('seed', range(5))
def test_kappa_closed_forms_and_spearman_on_random_scores(seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 4, 200)
    b = np.clip(a + rng.integers(-1, 2, 200), 0, 3)
    # quadratic κ = 1 - mean (a-b)² / mean over independent pairs (a_i - b_j)²
    assert cohen_kappa(a, b, 'quadratic') == pytest.approx(1 - np.mean((a - b)**2) / np.mean(np.subtract.outer(a, b)**2), abs=1e-12)
    pe = sum(np.mean(a == c) * np.mean(b == c) for c in range(4))
    assert cohen_kappa(a, b) == pytest.approx((np.mean(a == b) - pe) / (1 - pe), abs=1e-12)
    assert spearman(a, b) == pytest.approx(spearmanr(a, b).statistic, abs=1e-12)


def test_kappa_against_sklearn_where_installed():
    metrics = pytest.importorskip('sklearn.metrics')
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 4, 300), rng.integers(0, 4, 300)
    assert cohen_kappa(a, b) == pytest.approx(metrics.cohen_kappa_score(a, b), abs=1e-12)
    assert cohen_kappa(a, b, 'quadratic') == pytest.approx(metrics.cohen_kappa_score(a, b, weights='quadratic'), abs=1e-12)


def test_undefined_and_bad_input():
    assert np.isnan(cohen_kappa([], [])) and np.isnan(cohen_kappa([1, 1], [1, 1], 'quadratic')) and np.isnan(spearman([1, 1, 1], [0, 1, 2]))
    assert agreement([], []) == {'n': 0, 'kappa': None, 'kappa_quadratic': None, 'spearman': None}
    assert agreement([2, 2], [2, 2]) == {'n': 2, 'kappa': None, 'kappa_quadratic': None, 'spearman': None}
    with pytest.raises(ValueError, match='both judges scored'): cohen_kappa([1, np.nan], [1, 2])
    with pytest.raises(ValueError, match='one length'): cohen_kappa([1, 2], [1])
    with pytest.raises(ValueError, match="'quadratic'"): cohen_kappa([1], [1], 'linear')


def _two_judges(d, h1, h2, s1=None, s2=None, agent='src', cfg=True):
    "Agent `agent` on len(h1) cases under judges one (2 chunks) and two (1 chunk)."
    n = len(h1)
    s1, s2 = s1 or h1, s2 or h2
    write_toy_run(d, agent, 'judge-one', {i: (h1[i], s1[i]) for i in range(n)}, chunks=2)
    fs = write_toy_run(d, agent, 'judge-two', {i: (h2[i], s2[i]) for i in range(n)})
    if cfg: (Path(d)/'analysis.json').write_text(json.dumps({'n_cases': n, 'judges': {'judge-one': 'j1', 'judge-two': 'j2'}}))
    return fs


def test_tree_agreement_pools_agents_and_skips_missing_scores(tmp_path):
    _two_judges(tmp_path, A[:5], B[:5], agent='src')
    _two_judges(tmp_path, A[5:], B[5:], s1=[3, None, 1, 1, 1], s2=[3, 2, 1, 0, 1], agent='other')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the missing score is reported by load_runs
        ag = judge_agreement(tmp_path)
    assert list(ag) == ['safety', 'help']
    assert ag['help'] == agreement(A, B)  # pooled over both agents' trajectories
    assert ag['safety']['n'] == 9  # one safety score missing
    assert ag['safety']['kappa'] == pytest.approx(cohen_kappa(A[:5] + [3, 1, 1, 1], B[:5] + [3, 1, 0, 1]), abs=1e-12)


def test_only_same_trajectories_count(tmp_path):
    f = _two_judges(tmp_path, [0, 1, 2, 3], [0, 1, 2, 3])[0]
    lines = f.read_text().splitlines(True)
    lines[1] = lines[1].replace('"done"', '"a different rollout"')
    lines[2] = json.dumps(json.loads(lines[2]), indent=None, separators=(',', ':')) + '\n'  # same trajectory, other bytes
    f.write_text(''.join(lines))
    runs = load_runs(tmp_path, progress=False)[0]
    s = shared_scores(judge_pairs(runs)[('j1', 'j2')], ('j1', 'j2'))
    assert (s.trajectories, s.differing) == (3, [('src', 1)])
    with pytest.warns(UserWarning, match='different trajectories'): ag = judge_agreement(runs)
    assert ag['help']['n'] == 3


def test_medians_of_replicates_are_scores(tmp_path):
    "Two replicates per line: the median may be a half point, a category of its own."
    fs = _two_judges(tmp_path, [0, 1, 2, 3], [0, 1, 2, 3])
    ep = eval_path(fs[0], 'help_ignore_safety')
    reps = {0: (0, 1), 1: (1, 1), 2: (2, 3), 3: (3, 3)}
    write_evals(ep, [EvalLine(i, [Evaluation('help_ignore_safety', v, eval_id=i) for v in reps[i]], multi=True) for i in range(4)])
    assert [l.score for l in read_evals(ep, 'help_ignore_safety')] == [0.5, 1, 2.5, 3]
    ag = judge_agreement(tmp_path)
    assert ag['help'] == agreement([0, 1, 2, 3], [0.5, 1, 2.5, 3])
    assert ag['help']['spearman'] == 1.0 and ag['help']['kappa'] < 1


def test_no_second_judge_and_many_judges(tmp_path):
    write_toy_run(tmp_path/'one', 'src', 'judge-one', {i: (1, 2) for i in range(4)})
    (tmp_path/'one'/'analysis.json').write_text('{"n_cases": 4}')
    assert judge_agreement(tmp_path/'one') == {} and agreement_table(judge_agreement(tmp_path/'one')) is None
    d = tmp_path/'three'
    _two_judges(d, [0, 1, 2, 3], [0, 1, 2, 2])
    write_toy_run(d, 'src', 'judge-three', {i: (i, i) for i in range(4)})
    (d/'analysis.json').write_text('{"n_cases": 4, "judges": {"judge-one": "j1", "judge-two": "j2", "judge-three": "j3"}}')
    assert sorted(pairwise_agreement(d)) == [('j1', 'j2'), ('j1', 'j3'), ('j2', 'j3')]
    with pytest.warns(UserWarning, match='3 judge pairs'): ag = judge_agreement(d)
    assert ag == pairwise_agreement(d)[('j1', 'j2')][1]  # a tie on shared trajectories: the first pair in sorted order
    assert judge_agreement(d, ('j3', 'j1'))['help'] == agreement([0, 1, 2, 3], [0, 1, 2, 3])
    with pytest.raises(ValueError, match='no common trajectory'): judge_agreement(d, ('j1', 'j9'))


def test_table(tmp_path):
    _two_judges(tmp_path, A, B)
    summary = {'judges': ['j1', 'j2'], 'judge_agreement': judge_agreement(tmp_path)}
    t = agreement_table(summary)
    assert t.name == 'judge_agreement' and t.columns == ['metric', 'judges', 'n', 'κ', 'κ quadratic', 'Spearman ρ']
    assert t.rows[1][:3] == ['help', 'j1 vs j2', 10] and t.rows[1][3] == pytest.approx(22/37)
    assert '| help | j1 vs j2 | 10 | 0.595 | 0.862 |' in t.to_markdown()
    paths = t.write(tmp_path/'tables')
    assert sorted(p.name for p in paths) == ['judge_agreement.csv', 'judge_agreement.md', 'judge_agreement.tex']


def _direct(tree, metric):
    "Both judges' scores of the three sources, read straight from the eval files (no loader), paired by case."
    out = {'q32': {}, 'gpt5m': {}}
    for ep in Path(tree).glob(f'*/*_eval_agent_{metric}.jsonl'):
        if ep.parent.name.startswith('dpo_'): continue
        j = 'q32' if '_eval-Qwen_Qwen3-32B_' in ep.name else 'gpt5m'
        traj = Path(str(ep).replace(f'_eval_agent_{metric}', ''))
        cases = [json.loads(l)['case_idx'] for l in traj.read_text().splitlines() if l.strip()]
        for c, e in zip(cases, read_evals(ep, metric)): out[j][(ep.parent.name, c)] = e.score
    keys = sorted(k for k in out['q32'] if out['q32'][k] is not None and out['gpt5m'].get(k) is not None)
    return [out['gpt5m'][k] for k in keys], [out['q32'][k] for k in keys]


def test_paper_judges(match_eval_dir):
    ag = judge_agreement(match_eval_dir)
    assert {m: r['n'] for m, r in ag.items()} == {'safety': 432, 'help': 432}
    want = {'safety': (0.2598, 0.4934, 0.5478), 'help': (0.2989, 0.5010, 0.5345)}
    assert {m: tuple(round(r[k], 4) for k in ('kappa', 'kappa_quadratic', 'spearman')) for m, r in ag.items()} == want
    for m, em in (('safety', 'safe'), ('help', 'help_ignore_safety')):
        assert ag[m] == pytest.approx(agreement(*_direct(match_eval_dir, em)))
