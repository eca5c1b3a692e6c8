"""Backends against real components: an OpenAI-compatible HTTP server on 127.0.0.1 that can fail with 429/500 or stall,
and tiny Hugging Face models built from a config with a tokenizer trained here (nothing is downloaded)."""
import logging, socket, time
import pytest
from agentsafety.agents.backends import Backend, Generation, BackendError, OpenAIBackend, HFBackend, ChatServer, make_backend, parse_spec, row_seed
from agentsafety.agents.lm import tiny_agent, save_agent, TinyConfig


class Echo(Backend):
    "Answers with the last message's content reversed, so every request has a checkable answer."
    name = 'echo'
    def generate(self, batch, stop=(), max_new_tokens=256, temperature=0.0, seed=0):
        return [Generation(m[-1]['content'][::-1], 3, 2) for m in batch]


def conv(i): return [{'role': 'user', 'content': f'question {i}'}]


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


# ---- OpenAI-compatible endpoints ----

def test_concurrency_limit_and_order():
    with ChatServer(Echo(), delay_s=0.2) as srv:
        ob = OpenAIBackend('echo', srv.url, concurrency=3)
        t0 = time.monotonic()
        out = ob.generate([conv(i) for i in range(9)])
        took = time.monotonic() - t0
    assert [g.text for g in out] == [f'question {i}'[::-1] for i in range(9)]  # answers in request order
    assert srv.max_in_flight == 3 and srv.requests == 9
    assert 0.55 < took < 1.8, took  # three waves of 0.2 s, not nine


def test_retries_on_429_and_5xx():
    with ChatServer(Echo(), faults=[429, 500, 503]) as srv:
        g = OpenAIBackend('echo', srv.url, backoff=0.01, max_retries=3).generate([conv(1)])[0]
    assert (g.text, g.prompt_tokens, g.completion_tokens, srv.requests) == ('1 noitseuq', 3, 2, 4)


def test_gives_up_after_retries_with_a_clear_error():
    with ChatServer(Echo(), faults=[500]*10) as srv:
        ob = OpenAIBackend('echo', srv.url, backoff=0.01, max_retries=2)
        with pytest.raises(BackendError, match=r"OpenAIBackend\('echo' at http://127\.0\.0\.1:\d+/v1\): no answer after 3 attempts; "
                                               r"last error: InternalServerError"):
            ob.generate([conv(1)])
    assert srv.requests == 3


def test_client_errors_are_not_retried():
    with ChatServer(Echo(), faults=[400]) as srv:
        with pytest.raises(BackendError, match='request rejected with status 400'):
            OpenAIBackend('echo', srv.url, backoff=0.01).generate([conv(1)])
    assert srv.requests == 1


def test_stall_times_out_and_is_retried():
    with ChatServer(Echo(), faults=['stall'], stall_s=5) as srv:
        t0 = time.monotonic()
        g = OpenAIBackend('echo', srv.url, timeout=0.5, backoff=0.01).generate([conv(2)])[0]
        took = time.monotonic() - t0
    assert g.text == '2 noitseuq' and srv.requests == 2 and took < 3, took


def test_unreachable_endpoint():
    ob = OpenAIBackend('echo', f'http://127.0.0.1:{free_port()}/v1', max_retries=2, backoff=0.01, timeout=2)
    with pytest.raises(BackendError, match='no answer after 3 attempts; last error: APIConnectionError'):
        ob.generate([conv(1), conv(2)])


def test_api_key_from_env_and_never_shown(monkeypatch, caplog):
    secret = 'sk-test-5ecr3t-value'
    monkeypatch.setenv('AGENTSAFETY_TEST_KEY', secret)
    caplog.set_level(logging.DEBUG)
    with ChatServer(Echo(), faults=[500]*5) as srv:
        ob = OpenAIBackend('echo', srv.url, api_key_env='AGENTSAFETY_TEST_KEY', max_retries=1, backoff=0.01)
        with pytest.raises(BackendError) as e: ob.generate([conv(1)])
    assert {k.lower(): v for k, v in srv.headers[0].items()}['authorization'] == f'Bearer {secret}'  # the key is sent ...
    shown = str(e.value) + repr(ob) + caplog.text + ob.name + str(vars(ob).get('endpoint'))
    assert secret not in shown  # ... and shown nowhere


def test_seed_and_stop_are_sent_per_row():
    seen = []
    class Spy(Echo):
        def generate(self, batch, stop=(), max_new_tokens=256, temperature=0.0, seed=0):
            seen.append((tuple(stop), max_new_tokens, temperature, seed)); return super().generate(batch)
    with ChatServer(Spy()) as srv:
        OpenAIBackend('echo', srv.url, concurrency=1).generate([conv(1), conv(2)], stop=['Observation:'], max_new_tokens=[5, 7],
                                                               temperature=0.5, seed=3)
    assert [s[:3] for s in seen] == [(('Observation:',), 5, 0.5), (('Observation:',), 7, 0.5)]
    assert [s[3] for s in seen] == [row_seed(3, conv(1)) % 2**31, row_seed(3, conv(2)) % 2**31]


def test_specs():
    assert parse_spec('openai:gpt-5-mini') == ('openai', 'gpt-5-mini', [])
    assert make_backend('openai:m@http://127.0.0.1:9/v1').endpoint == 'http://127.0.0.1:9/v1'
    with pytest.raises(ValueError, match='expected scripted:POLICY'): parse_spec('tiny')
    with pytest.raises(ValueError, match='needs the environment'): make_backend('scripted:careful')


# ---- Hugging Face models ----

TEXTS = [f"User Input: Please tidy folder {i}.\nThought: I look.\nAction: TerminalExecute\nAction Input: {{\"command\": \"ls /home/{i}\"}}\n"
         f"Observation: {{\"output\": \"a.txt b.txt\"}}\nThought: Done.\nFinal Answer: Folder {i} is tidy.\n" for i in range(60)]


def scrambled_tiny(path, texts=TEXTS, max_positions=1024, shift=0):
    "A tiny untrained model (agentsafety.agents.lm) whose layers are scaled up so that its output varies; with `shift`, a token-shift model whose maps are random."
    import torch
    model, tok = tiny_agent(texts, 400, TinyConfig(hidden=64, intermediate=128, max_positions=max_positions, shift=shift))
    with torch.no_grad():
        for n, p in model.named_parameters():
            if 'embed' not in n and 'norm' not in n: p.mul_(10)
        if shift: model.model.shift.normal_(0, 0.3, generator=torch.Generator().manual_seed(0))  # the tokens before each one matter
    return save_agent(model, tok, path)


# every decoding path, with a plain model and with a token-shift one (which is fed the tokens before each block and step)
@pytest.fixture(scope='module', params=[0, 3], ids=['plain', 'shift'])
def tiny(tmp_path_factory, request): return scrambled_tiny(tmp_path_factory.mktemp('tiny'), shift=request.param)


@pytest.fixture(scope='module')
def hf(tiny): return HFBackend(tiny, device='cpu')


def prompts(n):
    return [[{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': TEXTS[i][:20 + 37 * (i % 7)]}] for i in range(n)]


def test_batched_greedy_equals_one_by_one(tiny, hf):
    ps = prompts(14)
    single = [hf.generate([p], max_new_tokens=16)[0] for p in ps]
    assert len({g.text for g in single}) > 1
    # padded prefill groups and left-padded decoding (the GPU path), decode chunks, few rows per block pass, small
    # blocks, no prefix cache, eager attention (no ragged spans): still identical
    grouped = HFBackend(tiny, device='cpu', max_batch=5, prefill_rows=4, prefill_budget=3 * 120**2, block_prefill=False)
    few_rows = HFBackend(tiny, device='cpu', max_batch=5, prefill_rows=3, prefix_block=16)
    uncached = HFBackend(tiny, device='cpu', prefix_cache=0)
    eager = HFBackend(tiny, device='cpu', prefix_block=16)
    eager.model.set_attn_implementation('eager')
    eager._mask4d = False
    for b in (hf, grouped, few_rows, uncached, eager):
        out = b.generate(ps, max_new_tokens=16)
        assert [g.text for g in out] == [g.text for g in single]
        assert [g.completion_tokens for g in out] == [g.completion_tokens for g in single]
    # the same prompt twice in a batch: its blocks are computed once and both rows get the same answer
    twice = HFBackend(tiny, device='cpu', prefix_block=8).generate([ps[3], ps[5], ps[3]], max_new_tokens=16)
    assert [g.text for g in twice] == [single[3].text, single[5].text, single[3].text]
    assert [g.prompt_tokens for g in single] == [hf.count_tokens(p) for p in ps]


def test_prefix_cache_reuses_blocks_without_changing_results(tiny):
    b = HFBackend(tiny, device='cpu', prefix_block=8)
    first = prompts(1)[0]
    longer = first + [{'role': 'assistant', 'content': 'Thought: ok'}, {'role': 'user', 'content': 'Observation: {"a": 1}'}]
    n = len(b.encode(first))
    out1 = b.generate([first], max_new_tokens=6)[0].text
    full = [k for k in b._blocks if len(k[1]) == 8]  # plus the partial last block, kept for prompts that extend this one
    assert (len(full) == (n - 1) // 8 or len(full) == n // 8) and len(b._blocks) - len(full) == (n % 8 > 0)
    calls = []
    orig = b.model.forward
    b.model.forward = lambda *a, **k: (calls.append(k['input_ids'].shape), orig(*a, **k))[1]
    out2 = b.generate([longer], max_new_tokens=6)[0].text
    assert calls[0][1] <= len(b.encode(longer)) - 8 * (n // 8)  # the first blocks came from the cache
    if b.encode(longer)[:n] == b.encode(first): assert calls[0][1] == min(len(b.encode(longer)), 8 * (n // 8 + 1)) - n  # and the partial one after them
    fresh = HFBackend(tiny, device='cpu', prefix_block=8, prefix_cache=0)
    assert [out1, out2] == [fresh.generate([first], max_new_tokens=6)[0].text, fresh.generate([longer], max_new_tokens=6)[0].text]
    tight = HFBackend(tiny, device='cpu', prefix_block=8, prefix_cache=3000)  # evictions change nothing either
    assert [tight.generate([p], max_new_tokens=6)[0].text for p in (first, longer, first)] == [out1, out2, out1]
    assert tight._blocks_bytes <= 3000
    assert all((p, t) in tight._blocks for p, ts in tight._tails.items() for t in ts)  # evicted partial blocks leave the index


def test_partial_blocks_from_different_offsets_in_one_pass(tiny):
    b = HFBackend(tiny, device='cpu', prefix_block=8)
    ps = prompts(3)
    b.generate(ps, max_new_tokens=4)  # caches each prompt's partial last block
    more = [p + [{'role': 'assistant', 'content': 'Thought: ' + 'x' * k}, {'role': 'user', 'content': 'Observation: none'}] for k, p in zip((1, 7, 20), ps)]
    assert len({len(b.encode(p)) % 8 for p in ps}) > 1 or len({len(b.encode(p)) for p in more}) > 1
    fresh = HFBackend(tiny, device='cpu', prefix_block=8, prefix_cache=0)
    mixed, at = [], b._at_cache
    b._at_cache = lambda *a: (mixed.append(a[2].tolist()), at(*a))[1]  # rows starting at different places of a block, one pass
    assert [g.text for g in b.generate(more, max_new_tokens=8)] == [fresh.generate([p], max_new_tokens=8)[0].text for p in more]
    assert any(len(k[1]) < 8 for k in b._blocks) and mixed and all(len(set(p)) > 1 for p in mixed)


def test_sampling_is_seeded_per_row(hf):
    ps = prompts(6)
    a = hf.generate(ps, max_new_tokens=10, temperature=1.0, seed=[1, 2, 3, 4, 5, 6])
    b = [hf.generate([p], max_new_tokens=10, temperature=1.0, seed=s)[0] for p, s in zip(ps, [1, 2, 3, 4, 5, 6])]
    assert [g.text for g in a] == [g.text for g in b]
    c = hf.generate(ps, max_new_tokens=10, temperature=1.0, seed=[9]*6)
    assert [g.text for g in a] != [g.text for g in c]


def test_stop_strings_and_limits(hf):
    p = prompts(1)
    free = hf.generate(p, max_new_tokens=30)[0]
    assert (free.completion_tokens, free.finish_reason) == (30, 'length')
    s = free.text[4:7]
    g = hf.generate(p, stop=['zzz-never', s], max_new_tokens=30)[0]
    assert g.text == free.text[:free.text.index(s)] and g.finish_reason == 'stop' and g.completion_tokens < 30
    mixed = hf.generate(prompts(3), max_new_tokens=[3, 9, 5])
    assert [x.completion_tokens for x in mixed] == [3, 9, 5]
    with pytest.raises(ValueError, match='the context window is 1024'):
        hf.generate([[{'role': 'user', 'content': ' '.join(f'w{i}' for i in range(2000))}]])


def test_lora_adapters_are_merged(tiny, hf, tmp_path):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM
    base = AutoModelForCausalLM.from_pretrained(tiny)
    torch.manual_seed(0)
    lora = get_peft_model(base, LoraConfig(r=4, lora_alpha=64, target_modules='all-linear', init_lora_weights=False))
    lora.save_pretrained(tmp_path/'lora')
    with_adapter = make_backend(f'hf:{tiny}+{tmp_path}/lora', device='cpu')
    assert with_adapter.name == f'{tiny.name}+lora'
    ps = prompts(4)
    out = [g.text for g in with_adapter.generate(ps, max_new_tokens=12)]
    assert out != [g.text for g in hf.generate(ps, max_new_tokens=12)]  # the adapter changes the model
    merged = lora.merge_and_unload()
    merged.save_pretrained(tmp_path/'merged')
    from transformers import AutoTokenizer
    AutoTokenizer.from_pretrained(tiny).save_pretrained(tmp_path/'merged')
    assert out == [g.text for g in HFBackend(tmp_path/'merged', device='cpu').generate(ps, max_new_tokens=12)]


def test_gpt2_architecture(tiny, tmp_path):
    "Left padding with explicit position ids keeps a GPT-2 model exact under batching too."
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel
    tok = AutoTokenizer.from_pretrained(tiny)
    torch_model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tok), n_embd=64, n_layer=2, n_head=4, n_positions=512,
                                             eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id))
    save_agent(torch_model, tok, tmp_path/'gpt2')
    ps = prompts(7)
    for kw in ({}, {'prefix_block': 16}, {'block_prefill': False}):
        b = HFBackend(tmp_path/'gpt2', device='cpu', **kw)
        assert [g.text for g in b.generate(ps, max_new_tokens=10)] == [b.generate([p], max_new_tokens=10)[0].text for p in ps]


def test_hf_behind_the_chat_server(hf):
    "A local model served over the protocol answers as it does in process."
    ps = prompts(3)
    with ChatServer(hf) as srv:
        out = OpenAIBackend('tiny', srv.url).generate(ps, stop=['Action'], max_new_tokens=12)
    assert [g.text for g in out] == [g.text for g in hf.generate(ps, stop=['Action'], max_new_tokens=12)]
