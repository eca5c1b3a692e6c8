"The shipped sandbox sources (issue 12): the committed release is intact and current, a damaged one is named with the command that rebuilds it, and DPO moves a shipped source on held-out cases."
import json, shutil
import pytest
from agentsafety.environments.sandbox.world import WORLD_FORMAT
from agentsafety.training.release import (RELEASE_DIR, MANIFEST, BUILD_COMMAND, SHIPPED_SOURCES, ReleaseError, check_release,
                                          model_hash, file_hashes)
from agentsafety.study.config import study_config
from agentsafety.study.runner import Study
from agentsafety.core import split_cases, DataError
from agentsafety.training.prefs import load_judged


def test_release_is_intact_and_current():
    "Every shipped file matches its hash, the models learned today's world format, and they are the sources the study asks for."
    m = check_release()
    assert m['world_format'] == WORLD_FORMAT
    assert set(m['models']) == {'base'} | {s.name for s in SHIPPED_SOURCES}
    for s in SHIPPED_SOURCES: assert (m['models'][s.name]['policy'], m['models'][s.name]['seed']) == (s.policy, s.seed)
    for name, rec in m['models'].items():
        assert rec['hash'] == model_hash(file_hashes(RELEASE_DIR/name)), name
        assert (RELEASE_DIR/name/'model.safetensors').stat().st_size < 20e6, f"{name}: release artefacts stay small"


@pytest.fixture
def release_copy(tmp_path):
    shutil.copytree(RELEASE_DIR, tmp_path/'release')
    return tmp_path/'release'


def test_missing_file_is_named(release_copy):
    (release_copy/'Tiny-A'/'tokenizer.json').unlink()
    with pytest.raises(ReleaseError, match=rf"Tiny-A/tokenizer.json: missing .*`{BUILD_COMMAND}`"): check_release(release_copy)
    check_release(release_copy, ['base'])  # the other models stay usable


def test_other_world_format_is_refused(release_copy):
    f = release_copy/MANIFEST
    f.write_text(json.dumps({**json.loads(f.read_text()), 'world_format': WORLD_FORMAT - 1}))
    with pytest.raises(ReleaseError, match=f"world format {WORLD_FORMAT - 1}.*at {WORLD_FORMAT}"): check_release(release_copy)


def test_broken_manifest_is_named(release_copy):
    (release_copy/MANIFEST).write_text('{"models": ')
    with pytest.raises(ReleaseError, match=rf"{MANIFEST}: not valid JSON"): check_release(release_copy)


def test_study_refuses_a_source_the_release_does_not_ship():
    with pytest.raises(ValueError, match="sources_from='train'"):
        study_config('quick', sources=[{'name': SHIPPED_SOURCES[0].name, 'policy': 'careful', 'seed': 0}])


def test_dpo_moves_a_shipped_source(tmp_path):
    "From the first shipped source, the `full` preset's DPO on S pairs raises held-out Safety by at least 0.5 and on H pairs raises held-out Help(Ignore) (one split, one β: about 3 minutes on 2 cores)."
    cfg = study_config('full', betas=[0.1], seeds=[0], schedules=['S', 'H'], sources=[SHIPPED_SOURCES[0]], bootstrap=0)
    summary = Study(cfg, tmp_path, progress=False).run()
    pts = {p['schedule']: p for p in summary['points']}
    assert pts['S']['delta_safety'] >= 0.5, pts['S']
    assert pts['H']['delta_help'] > 0, pts['H']


def test_train_fine_tunes_the_shipped_base(tmp_path):
    "`sources_from='train'` fine-tunes the shipped base on the source's policy, as a stage that depends on the base (by content hash) and is cached."
    from agentsafety.core import content_hash
    cfg = study_config('quick', sources_from='train', sft={'max_steps': 2})
    s = Study(cfg, tmp_path, progress=False)
    stage = s._sources()['Tiny-A']
    rec = json.loads((tmp_path/'stages'/'source'/'Tiny-A'/'model'/'source.json').read_text())
    assert (rec['role'], rec['policy'], rec['sft']['steps']) == ('source', cfg.sources[0].policy, 2)
    deps = json.loads((stage.path/'stage.json').read_text())['deps']
    assert list(deps) == ['shipped/base']
    assert Study(cfg, tmp_path, progress=False)._sources()['Tiny-A'].ran is False  # same base, same key: not retrained
    assert s.sources().loc[0, 'from'] == 'train'


def test_train_fine_tunes_another_base(tmp_path):
    "`source_base` puts another model (here the shipped base in bfloat16 with a ChatML template that marks no assistant turns, as SmolLM2's) under the sources: it is fine-tuned in fp32 with the marks added, and its content hash keys the stage."
    import torch
    from agentsafety.agents.lm import load_agent, save_agent, CHATML_TEMPLATE
    from agentsafety.training.release import shipped_model
    model, tok = load_agent(shipped_model('base'))
    model = model.to(torch.bfloat16)
    tok.chat_template = ("{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>' + '\n' }}{% endfor %}"
                         "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
    save_agent(model, tok, tmp_path/'chatml')
    cfg = study_config('quick', sources_from='train', source_base=str(tmp_path/'chatml'), sft={'max_steps': 2})
    stage = Study(cfg, tmp_path/'run', progress=False)._sources()['Tiny-A']
    assert list(json.loads((stage.path/'stage.json').read_text())['deps']) == ['input/base']
    src_model, src_tok = load_agent(stage.path/'model')
    assert json.loads((stage.path/'model'/'source.json').read_text())['sft']['steps'] == 2
    assert src_tok.chat_template == CHATML_TEMPLATE
    assert src_model.dtype == torch.float32  # bfloat16 weights would lose AdamW's updates
    model.model.embed_tokens.weight.data[0, 0] += 1  # another base: another key, so the source is trained anew
    save_agent(model, tok, tmp_path/'chatml')
    assert Study(cfg, tmp_path/'run', progress=False)._sources()['Tiny-A'].ran is True


def test_smol_sandbox_runs_end_to_end(tmp_path, toy_smol_sandbox):
    "The GPU preset's path (a source fine-tuned from another base, DPO, evaluations) runs on a CPU with the shipped base standing in for SmolLM2."
    from agentsafety.training.release import shipped_model
    summary = Study(toy_smol_sandbox(shipped_model('base'), device='cpu'), tmp_path, progress=False).run()
    assert [(p['source'], p['schedule']) for p in summary['points']] == [('Smol-A', 'S')]
    assert {r['source'] for r in summary['by_scenario']} == {'Smol-A'}


def test_pairs_from_the_source(tmp_path):
    "`pairs_from='source'`: a source's episodes of every case its split seeds train on are sampled once; each (source, split seed) gets a stage of pairs of those on its train cases, and its DPO stages train on them."
    cfg = study_config('quick', schedules=['S', 'H'], pairs_from='source', samples=6, sample_temperature=1.5, bootstrap=0)
    study = Study(cfg, tmp_path, progress=False)
    study.evaluate()
    prefs = tmp_path/'stages'/'source-prefs'/'Tiny-A_s0'
    pairs = [json.loads(l) for l in (prefs/'help.jsonl').read_text().splitlines()]
    train = set(split_cases(0, cfg.n_cases)[0])
    assert pairs and {p['chosen_model'] for p in pairs} <= {f'sample-{k}' for k in range(6)} and {p['case_idx'] for p in pairs} <= train
    played = load_judged(tmp_path/'stages'/'source-samples'/'Tiny-A')  # one stage for all split seeds, each case once per sample
    union = set().union(*(split_cases(sd, cfg.n_cases)[0] for sd in cfg.seeds))
    assert sorted(j.case_idx for j in played) == sorted(list(union) * 6)
    deps = json.loads((tmp_path/'stages'/'train'/'dpo_Tiny-A_help_prog_s0'/'stage.json').read_text())['deps']
    assert 'source-prefs/Tiny-A_s0' in deps and 'prefs' not in deps
    assert not (tmp_path/'stages'/'pool').exists()  # the scripted pool is not played at all
    assert study.prefs().loc[('Tiny-A', 0)].to_dict() == json.loads((prefs/'counts.json').read_text())  # what the paper notebook shows


def test_pairs_from_the_source_too_alike(tmp_path):
    "A source whose samples differ too little to pair stops the study with an error naming its stage, the split and what to raise."
    cfg = study_config('quick', schedules=['H'], pairs_from='source', samples=2, sample_temperature=0.01, bootstrap=0)  # near-greedy: the two samples of a case agree
    with pytest.raises(DataError, match=r"source-prefs/Tiny-A_s0: Tiny-A's 2 episodes per train case of split 0 at temperature 0.01 gave no help pairs"):
        Study(cfg, tmp_path, progress=False).evaluate()
