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
