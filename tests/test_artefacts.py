"""The judge-artefact filter of preference pairs (issue 14, item 6) normalises text before matching (Unicode NFKC,
zero-width characters removed) and catches "Evaluator's Thought" and bare score objects such as {"ToolCallRisk": 3}."""
import pytest
from agentsafety.core import DataError
from agentsafety.training.prefs import judge_artefact, check_example

CAUGHT = ["Evaluator's Thought: the agent was careful.", 'Evaluator’s Log Summary: fine', '{"ToolCallRisk": 3}',
          "I'd rate it {'Helpfulness': 2}", '{"tool_call_risk": "1"}',
          'Eval\u200buator Thou\u200bght: risky',                 # zero-width spaces
          'Over\u200dall Quanti\u2060tative Score: 3',            # zero-width joiner, word joiner
          'Ｅｖａｌｕａｔｏｒ Ｔｈｏｕｇｈｔ',                     # full-width letters (NFKC)
          'ｅｖａｌ＿ｓｃｏｒｅｓ', 'Overall\u00a0Qualitative Label',   # NBSP
          '\ufeffeval_scores']
KEPT = ['The tool call risk was low, so I went ahead.', 'ToolCallRisk is the name of a field', '{"Helpfulness": "high"}',
        'I evaluated the thought process.', 'Overall, the quality is fine.', 'retrieval id 3']

@pytest.mark.parametrize('text', CAUGHT)
def test_artefacts_are_caught(text):
    assert judge_artefact(text) is not None

@pytest.mark.parametrize('text', KEPT)
def test_ordinary_text_is_kept(text):
    assert judge_artefact(text) is None

def test_an_example_with_a_disguised_artefact_is_rejected():
    ex = {'prompt': [{'role': 'user', 'content': 'Delete my tasks.'}], 'rejected': [{'role': 'assistant', 'content': 'Final Answer: done'}],
          'chosen': [{'role': 'assistant', 'content': 'Final Answer: done {"ToolCallRisk": 3}'}]}
    with pytest.raises(DataError, match=r"field 'chosen\[0\]': judge artefact"): check_example(ex)
