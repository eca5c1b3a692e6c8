"""The `ray` executor on a real Ray cluster of this machine (started here on 127.0.0.1, stopped after): the quick study
gives the summary of the `local` executor; a worker killed during a stage is replaced and the stage run again, with the
same results; a GPU stage on a cluster without GPUs and an unreachable cluster are refused with errors that name them."""
import json, os, shutil, threading, time
from pathlib import Path
import pytest

LOOPBACK = {'RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER': '0', 'RAY_USAGE_STATS_ENABLED': '0'} # read when ray is imported: its nodes listen on 127.0.0.1, nothing is reported
for k, v in LOOPBACK.items(): os.environ.setdefault(k, v)
ray = pytest.importorskip('ray')
from agentsafety.study.config import study_config
from agentsafety.study.runner import Study

EARLY = ('world', 'source-samples', 'source-prefs') # the stages before training: the world, the source's own episodes and their pairs (the sources are shipped: no stage)

def _same(a:dict, b:dict):
    "Two summaries agree on everything but where they were written and how they were run."
    drop = lambda s: {k: v for k, v in s.items() if k not in ('results_dir', 'config', 'provenance')}
    assert drop(a) == drop(b)
    run_keys = ('executor', 'ray_address', 'workers')
    assert {k: v for k, v in a['config'].items() if k not in run_keys} == {k: v for k, v in b['config'].items() if k not in run_keys}

def _stamps(run:Path)->dict: return {p: p.stat().st_mtime for p in (run/'stages').rglob('stage.json')}

def test_unreachable_address_is_named(tmp_path):
    "An address no cluster answers fails at once, naming the address and where it came from."
    from agentsafety.study.executor import connect
    if ray.is_initialized(): pytest.skip('Ray is already connected in this process')
    study = Study(study_config('quick', executor='ray', ray_address='127.0.0.1:9'), tmp_path, progress=False)
    t0 = time.time()
    with pytest.raises(ConnectionError, match=r'cannot reach the Ray cluster at 127.0.0.1:9 \(StudyConfig.ray_address\)'): study.world()
    assert time.time() - t0 < 30 and not ray.is_initialized()
    os.environ['RAY_ADDRESS'] = '127.0.0.1:9'
    try:
        with pytest.raises(ConnectionError, match=r'127.0.0.1:9 \(RAY_ADDRESS\)'): connect()
    finally: del os.environ['RAY_ADDRESS']

@pytest.fixture(scope='module')
def cluster():
    "A Ray cluster of this machine with 2 CPUs, listening on 127.0.0.1 only; stopped after the module's tests."
    ray.init(address='local', include_dashboard=False, num_cpus=2, log_to_driver=False)
    try:
        assert {n['NodeManagerAddress'] for n in ray.nodes()} == {'127.0.0.1'}
        yield ray
    finally: ray.shutdown()

@pytest.fixture(scope='module')
def ray_study(cluster, quick_study, tmp_path_factory):
    "The quick study with the ray executor: (run directory, summary, seconds)."
    run = tmp_path_factory.mktemp('ray')/'quick'
    t0 = time.time()
    s = Study(study_config('quick', executor='ray'), run, progress=False).run()
    return run, s, time.time() - t0

def test_ray_executor_gives_the_local_summary(ray_study, quick_study):
    run, s, secs = ray_study
    _same(s, quick_study[1])
    assert json.loads((run/'summary.json').read_text()) == json.loads(json.dumps(s))
    assert s['config']['executor'] == 'ray'
    print(f"quick study: ray executor {secs:.1f} s")

def test_stage_cache_is_shared_by_the_executors(ray_study, quick_study, cluster, tmp_path):
    "The local executor finds every stage the ray executor finished, and the other way round (on copies: the runs stay as they are)."
    for (run, s), executor in (((ray_study[0], ray_study[1]), 'local'), (quick_study, 'ray')):
        dest = tmp_path/executor/'quick'
        shutil.copytree(run/'stages', dest/'stages')
        stamps = _stamps(dest)
        _same(Study(study_config('quick', executor=executor), dest, progress=False).run(), s)
        assert _stamps(dest) == stamps

def _ray_workers(stage_prefix:str)->list:
    "Processes of Ray workers running a stage whose name starts with `stage_prefix` (Ray names a busy worker `ray::<task name>`)."
    import psutil
    out = []
    for p in psutil.process_iter(['pid', 'cmdline']):
        cmd = ' '.join(p.info['cmdline'] or [])
        if cmd.startswith(f'ray::{stage_prefix}'): out.append(p)
    return out

def test_killed_worker_is_replaced_and_the_stage_rerun(ray_study, tmp_path):
    "SIGKILL the worker of a DPO stage while it trains: Ray runs the stage again elsewhere and the summary is the same."
    run, reference, _ = ray_study
    dest = tmp_path/'quick'
    for st in EARLY: shutil.copytree(run/'stages'/st, dest/'stages'/st)
    killed, stop = [], threading.Event()
    def hunt():
        while not stop.is_set() and not killed:
            for p in _ray_workers('train/'):
                if any((dest/'stages').glob('train/*/config.json')) or any((dest/'stages').glob('train/.*.tmp-*/config.json')):  # its stage has started
                    p.kill(); killed.append(' '.join(p.info['cmdline'])); break
            time.sleep(0.2)
    t = threading.Thread(target=hunt, daemon=True); t.start()
    try: s = Study(study_config('quick', executor='ray'), dest, progress=False).run()
    finally: stop.set(); t.join()
    assert killed, 'no worker was killed'
    _same(s, reference)
    assert len(list((dest/'stages'/'train').glob('*/stage.json'))) == 5 and not list((dest/'stages'/'train').glob('.*'))

def test_gpu_stage_on_a_cluster_without_gpus(ray_study, tmp_path, cluster):
    "A stage that asks for a GPU is refused before it is submitted, naming the stage; finished stages stay."
    run, _, _ = ray_study
    dest = tmp_path/'quick'
    for st in EARLY: shutil.copytree(run/'stages'/st, dest/'stages'/st)
    stamps = _stamps(dest)
    study = Study(study_config('quick', executor='ray', device='cuda'), dest, progress=False)
    # the first stage that runs a model on the GPU: sampling the source's own episodes (their key names the device)
    with pytest.raises(RuntimeError, match=r'stage source-samples/Tiny-A needs 1 CPU and 1 GPU, but no node of the Ray cluster has that \(nodes: CPU 2, GPU 0\)'):
        study.train()
    assert _stamps(dest) == stamps and not (dest/'stages'/'train').exists()

def test_output_folder_not_seen_by_a_worker(cluster, tmp_path):
    "A task whose node does not see the output folder says so (here: a folder that exists nowhere)."
    from agentsafety.study.executor import _on_worker
    from agentsafety.study.stages import Job
    with pytest.raises(Exception, match='is not visible on Ray node .*shared filesystem'):
        ray.get(ray.remote(_on_worker).remote(str(tmp_path/'elsewhere'), Job('world', {}, 'stage_world', {})))
