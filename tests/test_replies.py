"""Model and endpoint replies never kill a run (issue 14, item 4): the ReAct parser is total, linear and bounded in
depth (fuzzed with hypothesis under its own per-example deadline); a 200 reply without JSON or choices is retried,
then recorded as that case's failure, which the next run replaces; judges skip failed cases, re-judge what is
missing, and stop when more than a fifth of their replies have no score."""
import json, re, time, warnings
from datetime import timedelta
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck
from agentsafety.core import Trajectory, read_trajectories, write_trajectories, read_evals, eval_path, DataError
from agentsafety.react import parse_react, format_action
from agentsafety.agents.backends import ScriptedBackend, OpenAIBackend, ChatServer, Generation, Backend
from agentsafety.agents.rollout import rollout, RolloutConfig, failure_reason
from agentsafety.agents.policies import get_policy
from agentsafety.environments.sandbox.world import SandboxWorld
from agentsafety.judges.llm import LLMJudge, judge_file

# ---------------------------------------------------------------- the ReAct parser

HOSTILE = ['Action: A\nAction Input: {"a": ' + '[' * 5000 + ']' * 5000 + '}',           # nested thousands deep
           'Action: A\nAction Input: ' + '{' * 200_000,                                    # 200,000 opening braces
           'Action: A\nAction Input: {"command": "\\ud800"}',                              # an escaped lone surrogate
           'Action: A\nAction Input: ' + '{"a": "' * 100_000,
           'Action: A\nAction Input: {"a": ' * 50_000]

@pytest.mark.parametrize('text', HOSTILE, ids=['deep', 'braces', 'surrogate', 'open-strings', 'open-objects'])
def test_hostile_replies_are_invalid_turns(text):
    t = time.perf_counter()
    p = parse_react(text)
    assert time.perf_counter() - t < 1.0
    assert p.kind == 'invalid' and p.action == 'A' and p.error
    p.log.encode('utf-8')  # always writable

def _check(p, text):
    assert p.kind in ('action', 'final', 'invalid')
    p.log.encode('utf-8'); p.answer.encode('utf-8'); p.action.encode('utf-8')
    if p.kind == 'action':
        obj = json.loads(p.action_input)
        assert isinstance(obj, dict)
        json.dumps(obj, ensure_ascii=False).encode('utf-8')  # no lone surrogate reaches a tool or a file
    if p.kind == 'invalid': assert p.error

_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                     lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3), max_leaves=20)
_chunk = st.sampled_from(['{', '}', '[', ']', '"', '\\', ':', ',', 'Action:', 'Action Input:', 'Final Answer:', '\n',
                          '\\ud800', '\\udc00', '\ud800', '\udfff', 'Observation:', ' ', 'x', '"a": '])

@settings(max_examples=200, deadline=timedelta(milliseconds=500), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(_chunk, max_size=200).map(''.join), st.text(max_size=200))
def test_fuzz_parser_any_text(chunks, noise):
    for text in (chunks, 'Action: T\nAction Input: ' + chunks, noise + chunks):
        _check(parse_react(text), text)

@settings(max_examples=50, deadline=timedelta(milliseconds=500), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(depth=st.integers(0, 20_000), kind=st.sampled_from(['{"a": ', '[', '{']), closed=st.booleans())
def test_fuzz_parser_depth(depth, kind, closed):
    body = kind * depth + ('1' + (']' if kind == '[' else '}') * depth if closed else '')
    p = parse_react('Action: T\nAction Input: {"x": ' + body + '}')
    _check(p, body)
    if depth > 70: assert p.kind == 'invalid'

@settings(max_examples=30, deadline=timedelta(seconds=1), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(size=st.integers(0, 300_000), piece=st.sampled_from(['{', '{"a": "', '"', '{"a":', 'Action: ', '\\']))
def test_fuzz_parser_size(size, piece):
    _check(parse_react('Action: T\nAction Input: ' + piece * (size // len(piece))), piece)

_any_text = st.text(st.characters(blacklist_categories=()), max_size=10)  # lone surrogates included

@settings(max_examples=100, deadline=timedelta(milliseconds=500))
@given(args=st.dictionaries(_any_text, st.one_of(_json, _any_text), max_size=4))
def test_fuzz_parser_round_trip(args):
    "Every tool call `format_action` writes reads back as written, a raw lone surrogate read as U+FFFD."
    p = parse_react(format_action('t', 'Tool', args))
    assert (p.kind, json.loads(p.action_input)) == ('action', json.loads(re.sub('[\ud800-\udfff]', '\ufffd', json.dumps(args, ensure_ascii=False))))

# ---------------------------------------------------------------- endpoints and rollouts

@pytest.fixture(scope='module')
def world(): return SandboxWorld(0, 12)

@pytest.mark.parametrize('fault', ['not-json', 'no-choices'])
def test_malformed_200_is_retried_then_a_recorded_failure(world, tmp_path, fault):
    careful = ScriptedBackend(world, get_policy('careful'))
    ref = rollout(world, careful, range(3), progress=False)
    with ChatServer(careful, faults=[fault] * 40) as srv:  # every request fails until the faults run out
        ob, port = OpenAIBackend('careful', srv.url, max_retries=1, backoff=0.01, concurrency=1), srv.httpd.server_address[1]
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            first = rollout(world, ob, range(3), RolloutConfig(batch_size=3), out=tmp_path/'run.jsonl', progress=False)
    assert all(failure_reason(t) and 'the reply was not a chat completion' in failure_reason(t) for t in first)
    assert all(t.extra['failure']['reason'] == 'backend_error' and t.stop_reason == 'error' for t in read_trajectories(tmp_path/'run.jsonl'))
    with ChatServer(careful, port=port) as srv, warnings.catch_warnings(record=True) as w:  # the same endpoint, answering now
        warnings.simplefilter('always')
        again = rollout(world, OpenAIBackend('careful', srv.url), range(3), RolloutConfig(batch_size=3), out=tmp_path/'run.jsonl', progress=False)
    assert not [x for x in w if 'different run' in str(x.message)]  # resumed: only the failed cases were played again
    assert again == ref and read_trajectories(tmp_path/'run.jsonl') == ref  # one record per case, the failed ones replaced

class _Garbler(Backend):
    "An agent whose every turn is one of the hostile replies."
    name, context_window = 'garbler', None
    def __init__(self, text): self.text = text
    def generate(self, batch, stop=(), max_new_tokens=256, temperature=0.0, seed=0):
        return [Generation(self.text, 10, 10) for _ in batch]
    def count_tokens_batch(self, batch): return [10] * len(batch)

@pytest.mark.parametrize('text', HOSTILE[:3], ids=['deep', 'braces', 'surrogate'])
def test_hostile_agent_turns_end_as_parse_error(world, tmp_path, text):
    trajs = rollout(world, _Garbler(text), range(2), RolloutConfig(max_retries=2, context_budget=None, token_budget=None),
                    out=tmp_path/'run.jsonl', progress=False)
    assert [t.stop_reason for t in trajs] == ['parse_error'] * 2
    assert [len(t.extra['format_errors']) for t in trajs] == [2, 2]  # retried, then recorded with the reasons
    assert read_trajectories(tmp_path/'run.jsonl') == trajs

# ---------------------------------------------------------------- judges

class _Canned(Backend):
    name = 'canned'
    def __init__(self, reply): self.reply = reply
    def generate(self, batch, stop=(), max_new_tokens=256, temperature=0.0, seed=0):
        return [Generation(self.reply(m), 10, 5) for m in batch]
    def fits(self, messages, reserve=0): return True

def _judged_file(world, tmp_path, failed_case=None):
    trajs = rollout(world, ScriptedBackend(world, get_policy('careful')), range(4), progress=False)
    if failed_case is not None:
        trajs[failed_case] = Trajectory(trajs[failed_case].case_idx, [], 'Agent stopped: backend error', '', trajs[failed_case].case,
                                        {'failure': {'reason': 'backend_error', 'message': 'HTTP 200 without JSON'}})
    p = tmp_path / 'run.jsonl'
    write_trajectories(p, trajs)
    return p, trajs

def test_failed_cases_are_not_judged(world, tmp_path):
    p, _ = _judged_file(world, tmp_path, failed_case=1)
    seen = []
    def reply(m): seen.append(m); return 'Overall Quantitative Score: 2'
    rep = judge_file(p, LLMJudge(_Canned(reply)), ['safe'], world, progress=False)
    assert len(seen) == 3 and rep['safe']['missing'] == 1
    line = read_evals(eval_path(p, 'safe'), 'safe')[1]
    assert line.score is None and line.replicates[0].extra['missing_reason'] == 'the rollout failed (backend_error: HTTP 200 without JSON)'
    rep = judge_file(p, world, ['safe'], progress=False)  # the sandbox's own judges skip it too
    assert read_evals(eval_path(p, 'safe'), 'safe')[1].score is None  # (the file was judged again: it had a missing line)

def test_missing_judgements_are_retried_recorded_and_rejudged(world, tmp_path):
    p, _ = _judged_file(world, tmp_path)
    calls = {'n': 0}
    def flaky(m):  # case 2 never gets a score in the first run
        calls['n'] += 1
        return 'I am not sure.' if 'Reminder' in m[-1]['content'] or calls['n'] == 3 else 'Overall Quantitative Score: 3'
    rep = judge_file(p, LLMJudge(_Canned(flaky), max_rejudge=1, max_unparsed=None), ['safe'], world, progress=False)
    assert rep['safe']['missing'] == 1 and rep['safe']['rejudged'] == 1
    missing = [l for l in read_evals(eval_path(p, 'safe'), 'safe') if l.score is None]
    assert [l.replicates[0].extra['missing_reason'] for l in missing] == ['no score in the reply']
    rep = judge_file(p, LLMJudge(_Canned(lambda m: 'Overall Quantitative Score: 1')), ['safe'], world, progress=False)
    assert rep['safe']['rejudged_missing'] == 1 and rep['safe']['missing'] == 0  # not "already judged"
    assert [l.score for l in read_evals(eval_path(p, 'safe'), 'safe')] == [3, 3, 1, 3]
    assert judge_file(p, LLMJudge(_Canned(lambda m: 'x')), ['safe'], world, progress=False) == {'safe': {'skipped': True}}

def test_a_judge_whose_replies_are_not_read_stops_the_run(world, tmp_path):
    p, _ = _judged_file(world, tmp_path)
    with pytest.raises(DataError, match=r"judge canned: \d+ of its \d+ replies in this run had no score \(more than 20%\).*\nThe verdict is: safe"):
        judge_file(p, LLMJudge(_Canned(lambda m: 'The verdict is: safe'), max_rejudge=0), ['safe'], world, progress=False)
    assert not eval_path(p, 'safe').exists()
