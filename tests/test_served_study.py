"""The ToolEmu study with `agent_server`: each single-stage trained agent's evaluation registers its LoRA adapter with a
vLLM server under the agent's name and plays it as `openai:AGENT@URL`. vLLM cannot run here, so the server is
tests/test_served.py's stand-in, extended to run the base model (and each registered adapter on it) through the HF
backend; the served study must then give the summary.json numbers of the plain HF path. Also: the stage key names the
adapter by content, not the URL (another server finds it finished), and a server that is down, an adapter that is
missing, a server that refuses the adapter are each named, with the finished stages kept."""
import json, shutil, time
from pathlib import Path

import pytest

from test_served import FakeVLLM

AGENT = 'dpo_Tiny-T_safe_q32_s0'  # the quick preset's one trained agent (schedule S: one DPO stage)


class LocalVLLM(FakeVLLM):
    "The vLLM stand-in whose chat completions run the base model, or a registered adapter merged into it, through the HF backend."
    def __init__(self, base, **kw):
        super().__init__(base, **kw)
        self.backends = {}

    def chat(self, body):
        m = body.get('model')
        if m != self.name and m not in self.loras: return super().chat(body)  # vLLM's "does not exist"
        from agentsafety.study.toolemu import role_backend
        spec = f"hf:{self.base}" + (f"+{self.loras[m]}" if m in self.loras else '')
        if spec not in self.backends: self.backends[spec] = role_backend(spec, 'cpu')
        g = self.backends[spec].generate([body['messages']], stop=body.get('stop') or (), temperature=body.get('temperature', 0.0),
                                          max_new_tokens=body.get('max_tokens') or 256, seed=body.get('seed', 0))[0]
        return 200, {'id': 'chatcmpl-1', 'object': 'chat.completion', 'created': 0, 'model': m,
                     'choices': [{'index': 0, 'finish_reason': g.finish_reason, 'message': {'role': 'assistant', 'content': g.text}}],
                     'usage': {'prompt_tokens': g.prompt_tokens, 'completion_tokens': g.completion_tokens,
                               'total_tokens': g.prompt_tokens + g.completion_tokens}}


def _config(**kw):
    "The toolemu-quick preset, smaller (4 cases, a shorter fine-tuning) to keep this test short."
    from agentsafety.study.config import study_config
    return study_config('toolemu-quick', n_cases=4, sft={'max_steps': 40}, **kw)

def _stamps(run:Path)->dict: return {str(p.relative_to(run)): p.stat().st_mtime for p in (run/'stages').rglob('stage.json')}

def _numbers(s:dict)->dict:
    "summary.json without what names the run rather than its results: the config (it has the server), the provenance, the folder."
    return {k: v for k, v in s.items() if k not in ('config', 'provenance', 'results_dir')}

def _copy(run:Path, dest:Path, skip=())->Path:
    for st in (run/'stages').iterdir():
        if st.is_dir() and st.name not in skip: shutil.copytree(st, dest/'stages'/st.name)
    return dest


@pytest.fixture(scope='module')
def hf_run(toolemu_dir, q32_pool_dir, tmp_path_factory):
    "The quick ToolEmu study on the HF backend: (run folder, summary)."
    from agentsafety.study.runner import Study
    run = tmp_path_factory.mktemp('hf')/'toolemu-quick'
    return run, Study(_config(), run, progress=False).run()


@pytest.fixture
def server(hf_run):
    "A stand-in vLLM server of the HF run's source model, stopped after the test."
    servers = []
    def start(**kw):
        servers.append(LocalVLLM(hf_run[0]/'stages'/'source'/'Tiny-T'/'model', **kw))
        return servers[-1]
    yield start
    for s in servers: s.close()


def test_served_agents_give_the_hf_numbers(hf_run, server, tmp_path):
    from agentsafety.study.runner import Study
    hf, s_hf = hf_run
    run = _copy(hf, tmp_path/'served')  # every stage of the HF run; only the trained agent's evaluation has another key
    before, vllm = _stamps(run), server()
    study = Study(_config(agent_server=vllm.url), run, progress=False)
    s = study.run()
    assert _numbers(s) == _numbers(s_hf) and _numbers(json.loads((run/'summary.json').read_text())) == _numbers(s_hf)
    assert s['config']['agent_server'] == vllm.url
    after = _stamps(run)
    assert {k for k in after if after[k] != before[k]} == {f'stages/eval/{AGENT}/stage.json'}  # the source's evaluation is the HF one's
    assert json.loads((run/'stages'/'eval'/AGENT/'stage.json').read_text())['key'] != json.loads((hf/'stages'/'eval'/AGENT/'stage.json').read_text())['key']
    adapter = str((run/'stages'/'train'/AGENT/'adapter').resolve())
    assert [b for m, p, b in vllm.log if p == '/v1/load_lora_adapter'] == [{'lora_name': AGENT, 'lora_path': adapter}]
    chats = [b['model'] for m, p, b in vllm.log if p == '/v1/chat/completions']
    assert set(chats) == {AGENT} and len(chats) == json.loads((run/'stages'/'eval'/AGENT/'usage.json').read_text())['agents']['calls']
    assert [b for m, p, b in vllm.log if p == '/v1/unload_lora_adapter'] == [{'lora_name': AGENT}] and vllm.loras == {}
    # the key names the adapter, not the URL: through another server the evaluation is found finished
    other = server()
    Study(_config(agent_server={'Tiny-T': other.url}), run, progress=False).evaluate()
    assert _stamps(run) == after and other.log == []


def test_server_down_missing_adapter_refusal(hf_run, server, tmp_path):
    from agentsafety.agents.served import ServerError
    from agentsafety.study.runner import Study
    hf, _ = hf_run
    run = _copy(hf, tmp_path/'run')
    stamps = _stamps(run)
    down = server(); url = down.url; down.close()
    with pytest.raises(ServerError, match=rf"agent_server: {url}: cannot reach the server"):
        Study(_config(agent_server=url), run, progress=False).evaluate()
    vllm = server(max_lora_rank=8)  # the tiny preset's adapters have rank 16
    with pytest.raises(Exception, match=rf"registering adapter '{AGENT}' .* refused with status 400: LoRA rank 16 is greater than max_lora_rank 8"):
        Study(_config(agent_server=vllm.url), run, progress=False).evaluate()
    assert vllm.loras == {}
    shutil.rmtree(run/'stages'/'train'/AGENT/'adapter')
    with pytest.raises(FileNotFoundError, match=rf"agent {AGENT} \(served by agent_server {vllm.url}\): adapter folder .*/train/{AGENT}/adapter does not exist"):
        Study(_config(agent_server=vllm.url), run, progress=False).evaluate()
    assert _stamps(run) == stamps  # every finished stage kept, the HF evaluations included
