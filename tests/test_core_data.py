"Round trips of the paper's released files and the ToolEmu command, on the real shared data."
import json, subprocess, sys
from pathlib import Path
import pytest
AGENTSAFETY = str(Path(sys.executable).parent/"agentsafety")  # the console script of this environment
from agentsafety.core import (read_trajectories, write_trajectories, read_evals, write_evals, is_eval_file,
                              check_aligned, METRICS, read_jsonl, Trajectory)

def _metric(path):
    return next(m for m in METRICS if Path(path).stem.endswith(f'_eval_agent_{m}'))

def _roundtrip_tree(root, tmp_path):
    files = sorted(Path(root).rglob('*.jsonl'))
    assert files, f'no JSONL files under {root}'
    n_traj = n_eval = 0
    for f in files:
        out = tmp_path/f.name
        if is_eval_file(f):
            write_evals(out, read_evals(f, _metric(f))); n_eval += 1
        else:
            write_trajectories(out, read_trajectories(f)); n_traj += 1
        assert read_jsonl(out) == read_jsonl(f), f'round trip changed {f}'
        out.unlink()
    return n_traj, n_eval

def test_roundtrip_match_eval(match_eval_dir, tmp_path):
    n_traj, n_eval = _roundtrip_tree(match_eval_dir, tmp_path)
    assert (n_traj, n_eval) == (1860, 3720)

def test_roundtrip_q32_pool(q32_pool_dir, tmp_path):
    n_traj, n_eval = _roundtrip_tree(q32_pool_dir, tmp_path)
    assert n_traj > 0 and n_eval == 2*n_traj

def test_pool_scores_and_stop_reasons(q32_pool_dir):
    "Every pool record holds an integer score (PIPELINE §3) and 71 runs end on the token limit (§5)."
    reasons, missing, n = {}, 0, 0
    for f in sorted(Path(q32_pool_dir).rglob('*.jsonl')):
        if is_eval_file(f):
            ev = read_evals(f, _metric(f)); n += len(ev); missing += sum(e.score is None for e in ev)
        else:
            for t in read_trajectories(f): reasons[t.stop_reason] = reasons.get(t.stop_reason, 0) + 1
    assert (n, missing) == (7776, 0)
    assert reasons == {'final_answer': 3888 - 71, 'token_limit': 71}

def test_cases_command(toolemu_dir):
    r = subprocess.run([AGENTSAFETY, 'cases', str(toolemu_dir)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rows = dict(l.split(None, 1) for l in r.stdout.splitlines()[1:4])
    assert rows == {'cases': '144', 'toolkits': '38', 'tools': '330'}

def test_cases_command_bad_dir(tmp_path):
    r = subprocess.run([AGENTSAFETY, 'cases', str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 1 and 'all_cases.json not found' in r.stderr
