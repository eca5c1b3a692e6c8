"The docs fallback (no quarto) renders one linked HTML page per notebook."
import shutil
from pathlib import Path
from agentsafety.docs import build_docs, page_name

ROOT = Path(__file__).resolve().parents[1]

def test_fallback_one_page_per_notebook(tmp_path):
    for f in ('settings.ini', '_quarto.yml'): shutil.copy(ROOT/f, tmp_path/f)
    shutil.copytree(ROOT/'nbs', tmp_path/'nbs', ignore=shutil.ignore_patterns('.ipynb_checkpoints'))
    site = build_docs(tmp_path, fallback=True)
    notebooks = sorted((ROOT/'nbs').glob('*.ipynb'))
    pages = sorted(p.name for p in site.glob('*.html'))
    assert pages == sorted(page_name(n) for n in notebooks)
    index = (site/'index.html').read_text()
    for n in notebooks:
        if n.stem != 'index': assert f'href="{page_name(n)}"' in index, f'index does not link {page_name(n)}'
