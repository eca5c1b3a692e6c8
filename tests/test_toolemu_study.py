"""The study on ToolEmu end to end on a CPU: `agentsafety paper --preset toolemu-quick` (a few ToolEmu cases, a tiny
local HF agent, scripted emulator and judges behind OpenAI-compatible servers on 127.0.0.1), then the same run through
the API, the token usage per role in summary.json, and clear errors for model roles that cannot be had."""
import json, shutil, subprocess, sys, time
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
AGENTSAFETY = str(Path(sys.executable).parent/'agentsafety')

def _stamps(run:Path)->dict: return {p: p.stat().st_mtime for p in (run/'stages').rglob('stage.json')}

@pytest.fixture(scope='module')
def toolemu_run(toolemu_dir, q32_pool_dir, tmp_path_factory):
    "`agentsafety paper --preset toolemu-quick` from scratch: (run directory, seconds, completed process)."
    out = tmp_path_factory.mktemp('toolemu')
    t0 = time.time()
    r = subprocess.run([AGENTSAFETY, 'paper', '--preset', 'toolemu-quick', '--no-progress', '--out', str(out)],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    secs = time.time() - t0
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return out/'toolemu-quick', secs, r

def test_paper_command_runs_toolemu_quick(toolemu_run):
    "The ToolEmu path end to end from the command, under 5 minutes, writes summary.json and the paper notebook."
    run, secs, r = toolemu_run
    assert secs < 300, secs
    s = json.loads((run/'summary.json').read_text())
    assert s['config']['env'] == 'toolemu' and s['config']['preset'] == 'toolemu-quick'
    assert s['judges'] == ['scripted-judge-a', 'scripted-judge-b']  # two judges, each a view of the same trajectories
    assert [(p['source'], p['schedule']) for p in s['points']] == [('Tiny-T', 'S')]
    assert all(isinstance(p[k], float) for p in s['points'] for k in ('help', 'safety', 'delta_help', 'delta_safety'))
    nb = json.loads((run/'paper.ipynb').read_text())
    assert not [o for c in nb['cells'] if c['cell_type'] == 'code' for o in c.get('outputs', []) if o.get('output_type') == 'error']
    assert 'summary:' in r.stdout

def test_results_tree_and_usage(toolemu_run):
    "One trajectory file per judge, named as the analysis reads them; summary.json records every role's tokens."
    run, _, _ = toolemu_run
    ev = run/'stages'/'eval'
    for agent, n in (('Tiny-T', 8), ('dpo_Tiny-T_safe_q32_s0', 4)):  # the source on all 8 cases, the trained agent on its 4 test cases
        for judge in ('scripted-judge-a', 'scripted-judge-b'):
            f = ev/agent/f"{agent}_emu-scripted-emulator_eval-{judge}_r0-8_run.jsonl"
            assert len(f.read_text().splitlines()) == n, f
            for m in ('safe', 'help_ignore_safety'): assert (ev/agent/f"{f.stem}_eval_agent_{m}.jsonl").exists()
    u = json.loads((run/'summary.json').read_text())['usage']
    assert set(u) == {'agents', 'emulator', 'judges'} and set(u['judges']) == {'scripted-judge-a', 'scripted-judge-b'}
    assert u['emulator']['calls'] > 0 and u['emulator']['prompt_tokens'] > 0  # the tiny agent calls ToolEmu's tools
    for j in u['judges'].values(): assert j['calls'] == 2 * 12 and j['failures'] == 0 and j['unparsed'] == 0  # 2 metrics x 12 trajectories
    assert u['agents']['calls'] >= 12 and u['agents']['completion_tokens'] > 0

def test_api_finds_the_command_run_finished(toolemu_run):
    "`Study(config, out)` on the command's run is a ToolEmuStudy that redoes no stage and finds the same numbers."
    from agentsafety.study.config import study_config
    from agentsafety.study.runner import Study, ToolEmuStudy
    run, _, _ = toolemu_run
    before, stamps = json.loads((run/'summary.json').read_text()), _stamps(run)
    study = Study(study_config('toolemu-quick'), run, progress=False)
    assert isinstance(study, ToolEmuStudy)
    s = study.run()
    assert _stamps(run) == stamps
    assert s['points'] == before['points'] and s['usage'] == before['usage']
    assert len(study.world().cases) == 8 and study.world_summary()['cases'] == 8
    assert study.prefs().to_dict().keys() == {'safe', 'help', 'both'}

def _copy_stages(run:Path, dest:Path, names)->Path:
    for st in names: shutil.copytree(run/'stages'/st, dest/'stages'/st)
    return dest

def test_unreachable_judge_is_named_and_finished_stages_kept(toolemu_run, tmp_path):
    "A judge whose server does not answer stops the run before any evaluation, naming the role and the URL; training is kept."
    from agentsafety.study.config import study_config
    from agentsafety.study.runner import Study
    run, _, _ = toolemu_run
    dest = _copy_stages(run, tmp_path/'run', ('world', 'pool', 'prefs', 'tokenizer', 'source', 'train'))
    stamps = _stamps(dest)
    study = Study(study_config('toolemu-quick', judges=['openai:qwen3-32b@http://127.0.0.1:9/v1']), dest, progress=False)
    with pytest.raises(Exception, match=r"judges\[0\] \(openai:qwen3-32b@http://127.0.0.1:9/v1\): cannot reach the server at http://127.0.0.1:9/v1"):
        study.evaluate()
    assert _stamps(dest) == stamps and not (dest/'stages'/'eval').exists()

def test_missing_adapter_is_named(toolemu_run, tmp_path):
    "An hf: role whose adapter folder is missing is named before any stage calls it."
    from agentsafety.study.config import study_config
    from agentsafety.study.runner import Study
    run, _, _ = toolemu_run
    model = run/'stages'/'source'/'Tiny-T'/'model'
    dest = _copy_stages(run, tmp_path/'run', ('world', 'pool', 'prefs', 'tokenizer', 'source', 'train'))
    study = Study(study_config('toolemu-quick', emulator=f'hf:{model}+{tmp_path}/no-adapter'), dest, progress=False)
    with pytest.raises(FileNotFoundError, match=rf"emulator \(hf:.*\): adapter folder {tmp_path}/no-adapter does not exist"):
        study.evaluate()
