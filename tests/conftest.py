"Shared fixtures: the paper's released data from ../shared, skipped with a message when absent."
import pytest
from agentsafety.core import paper_data, shared_dir

NO_SHARED = "shared data not found (expected ../shared/paper beside the checkout, or set AGENTSAFETY_SHARED)"

def _paper(name):
    if shared_dir() is None: pytest.skip(NO_SHARED)
    return paper_data(name)

@pytest.fixture(scope='session')
def toolemu_dir(): return _paper('toolemu')

@pytest.fixture(scope='session')
def match_eval_dir(): return _paper('match_eval_results')

@pytest.fixture(scope='session')
def q32_pool_dir(): return _paper('raw_data_by_eval_q32')

@pytest.fixture(scope='session')
def quick_study(tmp_path_factory):
    "The one quick study of the test session, run through the Python API: (run directory, the summary `run()` returned); tests/test_paper.py and tests/test_ray.py share it."
    from agentsafety.study.config import study_config
    from agentsafety.study.runner import Study
    run = tmp_path_factory.mktemp('paper')/'quick'  # where `agentsafety paper --preset quick` puts its run
    return run, Study(study_config('quick'), run, progress=False).run()

@pytest.fixture
def toy_smol_sandbox():
    "The `smol-sandbox` preset at toy size, as a function of the model its sources are fine-tuned from (and other `StudyConfig` fields)."
    from agentsafety.study.config import study_config
    def cfg(source_base, **kw):
        return study_config('smol-sandbox', source_base=str(source_base), n_cases=8, pool_size=4, schedules=['S'], betas=[0.1], seeds=[0],
                            bootstrap=0, sources=study_config('smol-sandbox').sources[:1], sft={'max_steps': 2, 'max_length': 2048},
                            dpo={'max_pairs': 8, 'max_length': 2048, 'batch_size': 2, 'grad_accum': 1},
                            rollout={'max_steps': 2, 'max_new_tokens': 24, 'batch_size': 8},
                            pairs_from='pool', both_mode='both', **kw)  # 4 train cases of a 2-step source rarely give own pairs of every kind: the pool's keep the toy study about the smol path
    return cfg
