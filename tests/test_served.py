"""Tests of agentsafety.agents.served against a stand-in for a vLLM server on 127.0.0.1: the dynamic LoRA protocol
(register, generate through OpenAIBackend with the adapter's name as model, unregister), its error paths, and the
serving plan of a grid of trained agents. The stand-in answers as vLLM's OpenAIServingModels and its LoRA router do:
plain text on success, `{"error": {...}}` objects otherwise, `{"detail": "Not Found"}` for a route it does not have."""
import json, threading, warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agentsafety.agents.backends import BackendError, make_backend
from agentsafety.agents.served import (AdapterRegistry, ServerError, adapter_base, check_adapter, lora_rank_limit,
                                       served_adapters, serving_plan)

MSG = [{'role': 'user', 'content': 'hello'}]


class FakeVLLM:
    "`vllm serve BASE [--enable-lora] [--api-key KEY]` with VLLM_ALLOW_RUNTIME_LORA_UPDATING (or not), in a thread."
    def __init__(self, base, enable_lora=True, runtime_updates=True, max_lora_rank=16, api_key=None, served_name=None):
        self.base, self.name = str(base), served_name or str(base)
        self.enable_lora, self.runtime_updates, self.max_lora_rank, self.api_key = enable_lora, runtime_updates, max_lora_rank, api_key
        self.loras, self.log, self.faults, self.lock = {}, [], {}, threading.Lock()
        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), _handler(self))
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown(); self.httpd.server_close(); self.thread.join(timeout=5)
        assert not self.thread.is_alive()

    @staticmethod
    def error(msg, kind, code): return code, {'error': {'message': msg, 'type': kind, 'param': None, 'code': code}}

    def answer(self, method, path, headers, body):
        if self.api_key and headers.get('Authorization') != f'Bearer {self.api_key}': return 401, {'error': 'Unauthorized'}
        if path in self.faults: return self.faults[path]
        if method == 'GET' and path == '/v1/models':
            cards = [{'id': self.name, 'object': 'model', 'root': self.base, 'parent': None}]
            return 200, {'object': 'list', 'data': cards + [{'id': n, 'object': 'model', 'root': p, 'parent': self.name}
                                                            for n, p in self.loras.items()]}
        if method != 'POST': return 405, {'detail': 'Method Not Allowed'}
        if path.endswith('_lora_adapter') and not self.runtime_updates: return 404, {'detail': 'Not Found'}
        if path.endswith('_lora_adapter') and headers.get('Content-Type') != 'application/json':
            return 415, {'detail': 'Unsupported Media Type: Only application/json is allowed'}
        if path == '/v1/load_lora_adapter': return self.load(body)
        if path == '/v1/unload_lora_adapter':
            if self.loras.pop(body.get('lora_name'), None) is None:
                return self.error(f"The lora adapter '{body.get('lora_name')}' cannot be found.", 'NotFoundError', 404)
            return 200, f"Success: LoRA adapter '{body['lora_name']}' removed successfully."
        if path == '/v1/chat/completions': return self.chat(body)
        return 404, {'detail': 'Not Found'}

    def load(self, body):
        name, path = body.get('lora_name'), body.get('lora_path')
        if not name or not path: return self.error("Both 'lora_name' and 'lora_path' must be provided.", 'InvalidUserInput', 400)
        if name in self.loras: return self.error(f"The lora adapter '{name}' has already been loaded.", 'InvalidUserInput', 400)
        if not self.enable_lora: return self.error('LoRA is not enabled. Use --enable-lora to enable LoRA.', 'BadRequestError', 400)
        cfg = Path(path)/'adapter_config.json'
        if not cfg.is_file(): return self.error(f"Loading lora {name} failed: No adapter found for {path}", 'NotFoundError', 404)
        r = json.loads(cfg.read_text())['r']
        if r > self.max_lora_rank:
            return self.error(f"LoRA rank {r} is greater than max_lora_rank {self.max_lora_rank}.", 'BadRequestError', 400)
        self.loras[name] = path
        return 200, f"Success: LoRA adapter '{name}' added successfully."

    def chat(self, body):
        m = body.get('model')
        if m != self.name and m not in self.loras: return self.error(f"The model `{m}` does not exist.", 'NotFoundError', 404)
        text = f"Final Answer: written by {m}"
        return 200, {'id': 'chatcmpl-1', 'object': 'chat.completion', 'created': 0, 'model': m,
                     'choices': [{'index': 0, 'finish_reason': 'stop', 'message': {'role': 'assistant', 'content': text}}],
                     'usage': {'prompt_tokens': 5, 'completion_tokens': 4, 'total_tokens': 9}}


def _handler(server):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a): pass
        def _go(self, method):
            n = int(self.headers.get('Content-Length') or 0)
            body = json.loads(self.rfile.read(n) or b'{}') if n else {}
            with server.lock:
                server.log.append((method, self.path, body))
                code, reply = server.answer(method, self.path, self.headers, body)  # header names in any case
            data = (reply if isinstance(reply, str) else json.dumps(reply)).encode()
            self.send_response(code)
            self.send_header('Content-Type', 'text/plain' if isinstance(reply, str) else 'application/json')
            self.send_header('Content-Length', str(len(data))); self.end_headers(); self.wfile.write(data)
        def do_GET(self): self._go('GET')
        def do_POST(self): self._go('POST')
    return Handler


def _adapter(d, base, r=16, weights=True):
    "A training folder as dpo_stage writes it (adapter/, model/, config.json); empty weights."
    d = Path(d); (d/'adapter').mkdir(parents=True); (d/'model').mkdir()
    (d/'adapter'/'adapter_config.json').write_text(json.dumps({'base_model_name_or_path': str(base), 'r': r, 'peft_type': 'LORA'}))
    if weights: (d/'adapter'/'adapter_model.safetensors').write_bytes(b'')
    (d/'model'/'config.json').write_text('{}')
    return d


@pytest.fixture
def grid(tmp_path):
    src = tmp_path/'source'/'src'/'model'; src.mkdir(parents=True); (src/'config.json').write_text('{}')
    t = tmp_path/'train'
    a = {'dpo_src_safe_prog_s0': _adapter(t/'dpo_src_safe_prog_s0', src), 'dpo_src_help_prog_s0': _adapter(t/'dpo_src_help_prog_s0', src)}
    a['dpo_src_safe_prog_s0_help_prog_s0'] = _adapter(t/'dpo_src_safe_prog_s0_help_prog_s0', t/'dpo_src_safe_prog_s0'/'model')
    return src, a


@pytest.fixture
def vllm(grid):
    servers = []
    def start(**kw):
        servers.append(FakeVLLM(grid[0], **kw))
        return servers[-1]
    yield start
    for s in servers: s.close()


def test_register_generate_unregister(grid, vllm):
    src, a = grid
    s = vllm()
    singles = {n: a[n]/'adapter' for n in ('dpo_src_safe_prog_s0', 'dpo_src_help_prog_s0')}
    with served_adapters(s.url, singles) as specs:
        assert specs == {n: f'openai:{n}@{s.url}' for n in singles}
        assert AdapterRegistry(s.url).adapters() == {n: str(p) for n, p in singles.items()}
        for n, spec in specs.items():
            be = make_backend(spec, max_retries=0, timeout=10)
            g = be.generate([MSG, MSG])
            assert [x.text for x in g] == [f'Final Answer: written by {n}']*2 and g[0].completion_tokens == 4
        base = make_backend(f'openai:{src}@{s.url}', max_retries=0, timeout=10)  # the base is still served as itself
        assert base.generate([MSG])[0].text == f'Final Answer: written by {src}'
    assert s.loras == {}
    loads = [b for m, p, b in s.log if p == '/v1/load_lora_adapter']
    assert loads == [{'lora_name': n, 'lora_path': str(p)} for n, p in singles.items()]  # absolute paths, one request each
    assert {b['model'] for m, p, b in s.log if p == '/v1/chat/completions'} == set(singles) | {str(src)}
    assert [b['lora_name'] for m, p, b in s.log if p == '/v1/unload_lora_adapter'] == list(singles)[::-1]
    with pytest.raises(BackendError, match='does not exist'):  # unregistered: the agent is gone, the reply says so
        make_backend(specs['dpo_src_safe_prog_s0'], max_retries=0, timeout=10).generate([MSG])


def test_missing_adapter_folder_is_named_before_the_server_is_asked(grid, vllm, tmp_path):
    s = vllm()
    with pytest.raises(FileNotFoundError, match=r'adapter folder .*/train/dpo_src_both_prog_s0/adapter does not exist'):
        with served_adapters(s.url, {'dpo_src_both_prog_s0': tmp_path/'train'/'dpo_src_both_prog_s0'/'adapter'}): pass
    bad = _adapter(tmp_path/'noweights', grid[0], weights=False)
    with pytest.raises(FileNotFoundError, match=r'noweights/adapter has no weights \(adapter_model.safetensors or adapter_model.bin\)'):
        with served_adapters(s.url, {'x': bad/'adapter'}): pass
    with pytest.raises(FileNotFoundError, match='has no adapter_config.json'): check_adapter(bad/'model')
    assert s.log == []


def test_refusal_shows_the_reply_and_rolls_back(grid, vllm, tmp_path):
    s = vllm(max_lora_rank=16)
    wide = _adapter(tmp_path/'wide', grid[0], r=64)
    with pytest.raises(ServerError, match=r"registering adapter 'wide' .* refused with status 400: LoRA rank 64 is greater than max_lora_rank 16"):
        with served_adapters(s.url, {'dpo_src_safe_prog_s0': grid[1]['dpo_src_safe_prog_s0']/'adapter', 'wide': wide/'adapter'}): pass
    assert s.loras == {}  # the first one, registered before the refusal, is unregistered again
    assert lora_rank_limit([wide/'adapter']) == 64 and lora_rank_limit([grid[1]['dpo_src_safe_prog_s0']/'adapter']) == 16


def test_server_without_runtime_updates_or_lora(grid, vllm):
    one = {'dpo_src_safe_prog_s0': grid[1]['dpo_src_safe_prog_s0']/'adapter'}
    with pytest.raises(ServerError, match=r'status 404: Not Found \(the server has no such endpoint: start vLLM with '
                                          r'VLLM_ALLOW_RUNTIME_LORA_UPDATING=True and --enable-lora\)'):
        with served_adapters(vllm(runtime_updates=False).url, one): pass
    with pytest.raises(ServerError, match='status 400: LoRA is not enabled. Use --enable-lora'):
        with served_adapters(vllm(enable_lora=False).url, one): pass


def test_path_only_the_server_sees(grid, vllm):
    "check=False sends the path as given; the server's own refusal (no adapter there) comes back verbatim, without the endpoint hint."
    s = vllm()
    with pytest.raises(ServerError, match=r'status 404: Loading lora far failed: No adapter found for /srv/elsewhere/adapter$'):
        with served_adapters(s.url, {'far': '/srv/elsewhere/adapter'}, check=False): pass
    with served_adapters(s.url, {'near': grid[1]['dpo_src_help_prog_s0']/'adapter'}, check=False) as specs:
        assert list(specs) == ['near']


def test_unreachable_server(grid):
    s = FakeVLLM(grid[0]); url = s.url; s.close()
    with pytest.raises(ServerError, match=rf'{url}: cannot reach the server'):
        with served_adapters(url, {'x': grid[1]['dpo_src_safe_prog_s0']/'adapter'}, timeout=5): pass


def test_api_key(grid, vllm, monkeypatch):
    s = vllm(api_key='sekrit')
    one = {'dpo_src_safe_prog_s0': grid[1]['dpo_src_safe_prog_s0']/'adapter'}
    monkeypatch.delenv('OPENAI_API_KEY', raising=False)
    with pytest.raises(ServerError, match='listing the models was refused with status 401: Unauthorized'):
        with served_adapters(s.url, one): pass
    monkeypatch.setenv('OPENAI_API_KEY', 'sekrit')
    with served_adapters(s.url, one) as specs:
        assert make_backend(specs['dpo_src_safe_prog_s0'], max_retries=0, timeout=10).generate([MSG])[0].text.endswith('dpo_src_safe_prog_s0')


def test_block_errors_and_unregister_failures(grid, vllm):
    s = vllm()
    one = {'dpo_src_safe_prog_s0': grid[1]['dpo_src_safe_prog_s0']/'adapter'}
    with pytest.raises(KeyError, match='inside'):
        with served_adapters(s.url, one): raise KeyError('inside')
    assert s.loras == {}
    s.faults['/v1/unload_lora_adapter'] = FakeVLLM.error('engine busy', 'InternalServerError', 500)
    with pytest.raises(ServerError, match=r"1 adapter\(s\) left registered: .*unregistering adapter 'dpo_src_safe_prog_s0' was refused with status 500: engine busy"):
        with served_adapters(s.url, one): pass
    with pytest.warns(UserWarning, match='left registered'), pytest.raises(KeyError):  # the block's own error wins
        with served_adapters(s.url, {'dpo_src_help_prog_s0': grid[1]['dpo_src_help_prog_s0']/'adapter'}): raise KeyError('inside')
    del s.faults['/v1/unload_lora_adapter']


def test_adapters_already_there(grid, vllm):
    s = vllm()
    reg = AdapterRegistry(s.url)
    safe, help_ = grid[1]['dpo_src_safe_prog_s0']/'adapter', grid[1]['dpo_src_help_prog_s0']/'adapter'
    assert reg.register('dpo_src_safe_prog_s0', safe) is True
    with served_adapters(s.url, {'dpo_src_safe_prog_s0': safe}) as specs: assert list(specs) == ['dpo_src_safe_prog_s0']
    assert s.loras == {'dpo_src_safe_prog_s0': str(safe)}  # registered by someone else: left as it was
    with pytest.raises(ServerError, match=f"already serves an adapter named 'dpo_src_safe_prog_s0' from {safe}, not from {help_}"):
        reg.register('dpo_src_safe_prog_s0', help_)
    reg.unregister('dpo_src_safe_prog_s0')
    with pytest.raises(ServerError, match="status 404: The lora adapter 'dpo_src_safe_prog_s0' cannot be found"): reg.unregister('dpo_src_safe_prog_s0')
    reg.unregister('dpo_src_safe_prog_s0', missing_ok=True)


def test_adapter_of_another_base(grid, vllm):
    src, a = grid
    s = vllm()
    seq = a['dpo_src_safe_prog_s0_help_prog_s0']/'adapter'
    with pytest.raises(ValueError, match=r"was trained on .*dpo_src_safe_prog_s0/model, but .* serves .*src/model \(a sequential schedule's later stage"):
        with served_adapters(s.url, {'dpo_src_safe_prog_s0_help_prog_s0': seq}): pass
    assert s.log == [('GET', '/v1/models', {})]
    with served_adapters(s.url, {'x': seq}, check=False): assert 'x' in s.loras  # unchecked: the server takes it


def test_serving_plan(grid, tmp_path):
    src, a = grid
    plan = serving_plan(a, {'src': src, 'other': 'org/Other-7B'})
    assert plan.lora == {str(src): {n: str(a[n]/'adapter') for n in ('dpo_src_safe_prog_s0', 'dpo_src_help_prog_s0')}, 'org/Other-7B': {}}
    assert plan.merged == {'dpo_src_safe_prog_s0_help_prog_s0': str(a['dpo_src_safe_prog_s0_help_prog_s0']/'model')}
    ss = plan.servers(host='10.0.0.5', port=9000, max_loras=8)
    assert [s['url'] for s in ss] == [f'http://10.0.0.5:{p}/v1' for p in (9000, 9001, 9002)]
    assert ss[0]['command'] == (f'VLLM_ALLOW_RUNTIME_LORA_UPDATING=True vllm serve {src} --port 9000 --served-model-name src '
                                '--enable-lora --max-lora-rank 16 --max-loras 8')
    assert ss[1]['command'] == 'vllm serve org/Other-7B --port 9001 --served-model-name other'
    assert ss[2]['command'] == f"vllm serve {a['dpo_src_safe_prog_s0_help_prog_s0']/'model'} --port 9002 --served-model-name dpo_src_safe_prog_s0_help_prog_s0"
    assert ss[0]['specs'] == {n: f'openai:{n}@http://10.0.0.5:9000/v1' for n in ('src', 'dpo_src_safe_prog_s0', 'dpo_src_help_prog_s0')}
    (a['dpo_src_safe_prog_s0_help_prog_s0']/'model'/'config.json').unlink()
    with pytest.raises(FileNotFoundError, match="agent 'dpo_src_safe_prog_s0_help_prog_s0': its merged model .* is missing"): serving_plan(a)
    with pytest.raises(FileNotFoundError, match='dpo_x/adapter does not exist'): serving_plan({'x': tmp_path/'dpo_x'})


def test_train_schedule_layout(tmp_path):
    "train_schedule's folder: stage1-safe/ and stage2-help/ inside the run, the run's adapter/ a copy of the last stage's."
    src = tmp_path/'src'; src.mkdir()
    run = tmp_path/'S-H'
    _adapter(run/'stage1-safe', src); _adapter(run/'stage2-help', run/'stage1-safe'/'model')
    _adapter(run, run/'stage1-safe'/'model')
    plan = serving_plan({'one': run/'stage1-safe', 'seq': run})
    assert plan.lora == {str(src): {'one': str(run/'stage1-safe'/'adapter')}} and plan.merged == {'seq': str(run/'model')}


def test_peft_records_the_base(tmp_path, monkeypatch):
    "The base a real PEFT adapter records is what serving_plan groups by (relative folders read from the working directory)."
    from transformers import LlamaConfig, LlamaForCausalLM
    from peft import LoraConfig, get_peft_model
    monkeypatch.chdir(tmp_path)
    cfg = LlamaConfig(vocab_size=32, hidden_size=8, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2)
    LlamaForCausalLM(cfg).save_pretrained('base')
    peft = get_peft_model(LlamaForCausalLM.from_pretrained('base'), LoraConfig(r=4, target_modules='all-linear', task_type='CAUSAL_LM'))
    peft.save_pretrained('agent/adapter')
    assert adapter_base('agent/adapter') == str(tmp_path/'base') and lora_rank_limit(['agent/adapter']) == 8
