"Preference pairs on the paper's q32 pool (skipped without ../shared) and the prefs command's bad-input paths."
import json, subprocess, sys
from collections import Counter
from pathlib import Path
import pytest
from agentsafety.core import split_cases, write_trajectories, write_evals, eval_path, Trajectory, Step, EvalLine, Evaluation
from agentsafety.training.prefs import load_judged, build_pairs, PairRules, pair_examples, split_examples, score_mix, format_mix, world_prompt_fn, read_pairs, load_pairs
from agentsafety.cli import main

AGENTSAFETY = str(Path(sys.executable).parent/"agentsafety")

@pytest.fixture(scope='module')
def q32(q32_pool_dir): return load_judged(q32_pool_dir)

RULES = {'safe': PairRules('safe'), 'help': PairRules('help'), 'both': PairRules('help', 'safe')}

def test_pool_counts(q32):
    "PIPELINE §6: pairs, cases and score mixes of the three data sets."
    assert len(q32) == 3888 and Counter(j.case_idx for j in q32) == Counter({i: 27 for i in range(144)})
    pairs = {k: build_pairs(q32, r) for k, r in RULES.items()}
    assert {k: len(v) for k, v in pairs.items()} == {'safe': 11073, 'help': 10151, 'both': 1826}
    assert {k: len({p.case_idx for p in v}) for k, v in pairs.items()} == {'safe': 125, 'help': 138, 'both': 100}
    mix = lambda ps, two=False: Counter((p.chosen_score2, p.rejected_score2) if two else (p.chosen_score, p.rejected_score) for p in ps)
    assert mix(pairs['safe']) == {(3, 1): 8194, (3, 0): 1917, (2, 0): 962}
    assert mix(pairs['help']) == {(3, 1): 5074, (3, 0): 3617, (2, 0): 1460}
    assert mix(pairs['both']) == {(3, 1): 747, (3, 0): 644, (2, 0): 435}
    assert mix(pairs['both'], True) == {(3, 1): 994, (3, 0): 501, (2, 0): 331}

def test_split_and_train_counts(q32):
    "PIPELINE §7: the split's test cases, and the train pairs (and train cases) per seed."
    assert split_cases(0)[1][:10] == [0, 1, 7, 8, 9, 10, 11, 12, 18, 24]
    want = {'safe': [(6147, 67), (5746, 62), (5681, 63)], 'help': [(5461, 67), (5118, 68), (4840, 69)],
            'both': [(1091, 52), (969, 50), (821, 50)]}
    for k, r in RULES.items():
        exs = [{'case_idx': p.case_idx} for p in build_pairs(q32, r)]
        got = []
        for seed in range(3):
            train, test = split_examples(exs, seed)
            assert not {e['case_idx'] for e in train} & set(split_cases(seed)[1])
            got.append((len(train), len({e['case_idx'] for e in train})))
        assert got == want[k], k

def test_text_format_on_pool(q32, toolemu_dir):
    "Real pairs: ToolEmu agent prompt, no think blocks, Thought prefixes, Observation turns, metadata, no judge artefacts."
    from agentsafety.environments.toolemu import load_toolemu
    pairs = build_pairs(q32, RULES['both'])
    exs, rejected = pair_examples(q32, pairs, world_prompt_fn(load_toolemu(toolemu_dir)))
    assert (len(exs), rejected) == (1826, [])
    for ex in exs:
        assert [m['role'] for m in ex['prompt']] == ['system', 'user'] and ex['prompt'][1]['content'].endswith('\nThought: ')
        for key in ('chosen', 'rejected'):
            msgs = ex[key]
            assert msgs[0]['role'] == 'assistant' and not msgs[0]['content'].startswith('Thought:')
            for i, m in enumerate(msgs):
                assert '<think>' not in m['content'] and '</think>' not in m['content']
                assert m['role'] == ('assistant' if i % 2 == 0 else 'user')
                if m['role'] == 'user': assert m['content'].startswith('Observation: ')
                elif i: assert m['content'].startswith('Thought: ')
        assert ex['chosen_score'] - ex['rejected_score'] == ex['score_difference'] >= 2
        assert ex['chosen_file'].endswith('.jsonl') and ex['chosen_model'] and ex['rejected_model']
    assert format_mix(score_mix(exs, '2')) == '(3,1) 994 · (3,0) 501 · (2,0) 331'
    thinking = [j for j in q32 if any('<think>' in s.log for s in j.traj.steps)]
    assert thinking, 'the pool has thinking models'

def _pool(root, rows):
    "A small pool on disk: `rows[model] = [(case, safe, help)]`."
    for model, rs in rows.items():
        f = root/model/f'{model}_emu-x_eval-y_r0-3_0101_000000.jsonl'
        f.parent.mkdir(parents=True, exist_ok=True)
        write_trajectories(f, [Trajectory(c, [Step('A', '{}', f'{model}\nAction: A\nAction Input: {{}}\n', 'ok')], ': x', 'Final Answer: x\n',
                                          extra={'input': f'do {c}'}) for c, _, _ in rs])
        for k, m in ((1, 'safe'), (2, 'help_ignore_safety')):
            write_evals(eval_path(f, m), [EvalLine(i, [Evaluation(m, r[k], eval_id=i)]) for i, r in enumerate(rs)])
    return root

def test_cli_writes_dataset(tmp_path):
    root = _pool(tmp_path/'pool', {'a': [(0, 3, 0), (1, 3, 3)], 'b': [(0, 0, 3), (1, 1, 3)], 'c': [(0, 3, 3), (1, 3, 1)]})
    r = subprocess.run([AGENTSAFETY, 'prefs', str(root), '--metric', 'safe', '--out', str(tmp_path/'safe.jsonl')], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith('4 pairs over 2 cases from 6 trajectories') and 'score mix (safe): (3,0) 2 · (3,1) 2' in r.stdout
    ds = load_pairs(tmp_path/'safe.jsonl')
    assert len(ds) == 4 and set(ds.column_names) >= {'prompt', 'chosen', 'rejected', 'case_idx', 'chosen_model', 'score_difference'}
    r = subprocess.run([AGENTSAFETY, 'prefs', str(root), '--metric', 'help', '--metric2', 'safe', '--mode', 'average', '--json',
                        '--out', str(tmp_path/'avg.jsonl')], capture_output=True, text=True)
    assert r.returncode == 0 and json.loads(r.stdout)['pairs'] == len(read_pairs(tmp_path/'avg.jsonl'))

def test_cli_bad_pools(tmp_path, capsys):
    root = _pool(tmp_path/'pool', {'a': [(0, 3, 0), (1, 3, 3)]})
    f = next((root/'a').glob('*_000000.jsonl'))
    eval_path(f, 'safe').unlink()
    assert main(['prefs', str(root), '--out', str(tmp_path/'x.jsonl')]) == 1
    err = capsys.readouterr().err
    assert str(f) in err and 'has no safe eval file' in err and 'eval_agent_safe.jsonl' in err
    write_evals(eval_path(f, 'safe'), [EvalLine(0, [Evaluation('safe', 3, eval_id=0)]), EvalLine(2, [Evaluation('safe', 3, eval_id=2)])])
    assert main(['prefs', str(root), '--out', str(tmp_path/'x.jsonl')]) == 1
    assert 'line 2: eval_id 2 does not match its line in' in capsys.readouterr().err
    assert not (tmp_path/'x.jsonl').exists()

def test_judge_artefacts_rejected(tmp_path, capsys):
    root = _pool(tmp_path/'pool', {'a': [(0, 3, 3)], 'b': [(0, 0, 0)]})
    f = next((root/'b').glob('*_000000.jsonl'))
    write_trajectories(f, [Trajectory(0, [Step('A', '{}', 'x\nAction: A\nAction Input: {}\n', '{"eval_scores": {"ToolCallRisk": 0}}')],
                                      ': x', 'Final Answer: x\n', extra={'input': 'do 0'})])
    assert main(['prefs', str(root), '--out', str(tmp_path/'s.jsonl')]) == 0
    out = capsys.readouterr().out
    assert out.startswith('0 pairs') and "rejected for judge artefacts: 1" in out and "field 'rejected[1]': judge artefact 'eval_scores'" in out
