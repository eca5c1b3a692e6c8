"The agent's text conventions: prompts, the ReAct parser, log normalisation, and reading a history back."
import json
import pytest
from hypothesis import given, settings, strategies as st
from agentsafety.core import Case, Step, paper_data
from agentsafety.agents.prompt import PROMPT_VARIANTS, LAYOUTS
from agentsafety.agents.prompt import agent_prompt, task_message, agent_messages, read_history, check_variant
from agentsafety.react import parse_react, normalize_log, cut_at_stop

CASE = Case('x_0', [], 'Pay my rent of $1,200 to Alice.', {'Task Information': ['the account'], 'Safety & Security Constraints': []},
            [], [], [])


def test_variants_differ_only_in_their_paragraph():
    texts = {v: task_message(CASE, [], v) for v in PROMPT_VARIANTS}
    assert len(set(texts.values())) == 3
    base = texts['naive']
    for v in PROMPT_VARIANTS[1:]:
        assert texts[v].startswith(base.split('\n\nUser Input:')[0]) and texts[v].endswith(base.split('\n\n')[-1])
    assert 'risky action' in texts['safety-aware'] and 'Refusing or asking' in texts['helpful-and-safety-aware']
    with pytest.raises(ValueError, match='expected one of'): check_variant('paranoid')


def test_prompt_on_toolemu_cases(toolemu_dir):
    from agentsafety.environments.toolemu import load_toolemu, tool_names
    cs = load_toolemu(toolemu_dir)
    for i in (0, 57, 143):
        msgs = agent_prompt(cs.cases[i], cs.case_toolkits(i))
        assert [m['role'] for m in msgs] == ['system', 'user']
        assert all(n in msgs[1]['content'] for n in tool_names(cs.case_toolkits(i)))
        assert msgs[1]['content'].endswith(f"User Input: {cs.cases[i].user_instruction}\nThought: ")
        assert read_history(msgs).instruction == cs.cases[i].user_instruction


@pytest.mark.parametrize('text,kind,action,inp', [
    ('Thought: x\nAction: GmailSendEmail\nAction Input: {"to": "a@b.c"}\n', 'action', 'GmailSendEmail', '{"to": "a@b.c"}'),
    ('Action:GmailSendEmail\nAction Input:{"to": "a@b.c"}', 'action', 'GmailSendEmail', '{"to": "a@b.c"}'),
    ('### Action: `BankTransfer`\n### Action Input:\n```json\n{\n  "amount": 5\n}\n```', 'action', 'BankTransfer', '{\n  "amount": 5\n}'),
    ('Action: A\nAction Input: {"a": 1}\nObservation: {"b": 2}\nFinal Answer: invented', 'action', 'A', '{"a": 1}'),  # cut at Observation
    ('Action: A\nAction Input: {"a": "x"} and then {"b": 1}', 'action', 'A', '{"a": "x"}'),
    ('action: a\naction input: {}', 'action', 'a', '{}'),
    ('Action: A\nAction Input: {"a": 1', 'invalid', 'A', ''),
    ('Action: A\nAction Input: "a"', 'invalid', 'A', ''),
    ('Action Input: {"a": 1}', 'invalid', '', ''),
    ('', 'invalid', '', ''),
])
def test_parse_react_cases(text, kind, action, inp):
    p = parse_react(text)
    assert (p.kind, p.action, p.action_input) == (kind, action, inp)
    if kind == 'action': json.loads(p.action_input)


def test_final_answer_is_the_papers():
    assert parse_react('Thought: done\nFinal Answer: Paid.\n').answer == ': Paid.'
    assert parse_react('Final Answer: a\nFinal Answer: b').answer == ': b'  # the last occurrence
    assert parse_react('**Final Answer**: done').answer == '**: done'
    assert parse_react('The final answer is: yes').kind == 'final'


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_parser_never_raises(text):
    p = parse_react(text)
    assert p.kind in ('action', 'final', 'invalid')
    assert 'Observation:' not in p.log and p.log.endswith('\n')
    if p.kind == 'action': assert isinstance(json.loads(p.action_input), dict)
    else: assert p.action_input == ''


_json_obj = st.dictionaries(st.text(st.characters(codec='utf-8', exclude_categories=('Cs',)), max_size=8),
                            st.one_of(st.integers(), st.text(max_size=20), st.booleans(), st.none()), max_size=4)
_tool = st.from_regex(r'[A-Z][A-Za-z]{2,20}', fullmatch=True)
_thought = st.text(st.characters(exclude_characters='\r', exclude_categories=('Cs',)), max_size=60).filter(
    lambda t: not any(k in t.lower() for k in ('observation', 'final answer', 'action', 'final answer is', 'thought:', 'invalid format'))
    and '{' not in t)


@given(st.lists(st.tuples(_thought, _tool, _json_obj, _json_obj), max_size=4), st.lists(_thought, max_size=2),
       st.sampled_from(LAYOUTS))
@settings(max_examples=150, deadline=None)
def test_history_round_trip(turns, failed, layout):
    "What `agent_messages` writes, `read_history` reads back: steps with JSON observations and failed attempts."
    steps = []
    for thought, tool, args, obs in turns:
        raw = f"Thought: {thought}\nAction: {tool}\nAction Input: {json.dumps(args, ensure_ascii=False)}\n"
        p = parse_react(raw)
        assert p.kind == 'action' and (p.action, json.loads(p.action_input)) == (tool, args)
        steps.append(Step(p.action, p.action_input, p.log, json.dumps(obs, ensure_ascii=False)))
    retries = [(normalize_log(t), 'no Action') for t in failed]
    h = read_history(agent_messages(agent_prompt(CASE, []), steps, retries, layout))
    assert (h.instruction, h.steps, h.retries) == (CASE.user_instruction, steps, retries)


def test_normalise_and_cut():
    assert normalize_log('\n  Thought:   plan\n\n') == 'plan\n'
    assert cut_at_stop('a Observation: b', ('Observation:',)) == 'a '
    assert cut_at_stop('abc', ()) == 'abc'
