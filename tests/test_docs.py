"""The docs site as a reader gets it, built once from a copy of the checkout without quarto: one clean page per
notebook (titles, no raw front matter or attribute text, stored outputs shown, nothing loaded from another host,
links that lead somewhere), navigation by title grouped by stage, README.md in sync with nbs/index.ipynb.
The same checks run on every page in headless Chromium with `make docs-check`."""
import json, re, shutil
from html import unescape as html_unescape
from pathlib import Path
import pytest
from agentsafety.docs import build_docs, check_page, check_site, notebooks, page_name, readme_text, unrun_examples, GROUPS
from agentsafety.outputs import execute_in_place, NotebookFailed, output_notebooks, run_in_kernel, OUTPUT_RUNS

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT/'nbs'

@pytest.fixture(scope='module')
def site(tmp_path_factory):
    "The site built from a copy of the project (settings, notebooks, the package's sources for the source pages)."
    root = tmp_path_factory.mktemp('project')
    for f in ('settings.ini', '_quarto.yml'): shutil.copy(ROOT/f, root/f)
    ignore = shutil.ignore_patterns('.ipynb_checkpoints', '__pycache__')
    shutil.copytree(NBS, root/'nbs', ignore=ignore)
    shutil.copytree(ROOT/'agentsafety', root/'agentsafety', ignore=ignore)
    return build_docs(root, fallback=True)

def test_fallback_one_page_per_notebook(site):
    notebooks_top = sorted(NBS.glob('*.ipynb'))
    pages = sorted(p.name for p in site.glob('*.html'))
    assert pages == sorted(page_name(n) for n in notebooks_top)
    index = (site/'index.html').read_text()
    for n in notebooks_top:
        if n.stem != 'index': assert f'href="{page_name(n)}"' in index, f'index does not link {page_name(n)}'

def test_every_notebook_has_a_page_in_its_folder(site):
    for rel in notebooks(NBS):
        assert (site/page_name(NBS/rel, NBS)).is_file(), rel

def test_every_notebook_processes(site):
    "nbdev's processing (which runs exported cells and every cell with an import) succeeds on every notebook."
    rep = json.loads((site/'_build.json').read_text())
    assert rep['processing'] == {}, rep['processing']

def test_pages_pass_the_checks(site):
    "Titles, no raw front matter or attribute text, stored outputs shown, no request to another host, no dead link."
    assert check_site(site, NBS) == {}

def test_titles_and_navigation_grouped_by_stage(site):
    index = (site/'index.html').read_text()
    assert '<h1 class="title">agentsafety</h1>' in index and 'output-file' not in index
    groups = re.findall(r'<p class="nav-group">([^<]+)</p>', index)
    assert groups == list(GROUPS.values())  # Start, Guides, Foundations, then the stages in pipeline order, Study, Tools
    nav = re.search(r'<nav[^>]*class="sidebar".*?</nav>', index, re.S).group(0)
    assert '>Explore a run</a>' in nav and ">Reproduce the paper's analysis</a>" in nav and '>00_core<' not in nav
    core = (site/'core.html').read_text()
    assert '<h1 class="title">core</h1>' in core and '<p class="subtitle">Records for cases' in core
    assert '<title>core – agentsafety</title>' in core

def test_source_links_lead_to_the_line(site):
    core = (site/'core.html').read_text()
    links = re.findall(r'<a class="source-link" href="([^"#]+)#(L-\d+)">source</a>', core)
    assert links and '{target=' not in core
    src, anchor = links[0]
    assert src == 'src/agentsafety/core.py.html' and f'id="{anchor}"' in (site/src).read_text()
    report = (site/'analysis'/'report.html').read_text()
    assert 'href="../src/agentsafety/analysis/report.py.html#L-' in report

def test_no_cdn(site):
    for page in site.rglob('*.html'):
        text = page.read_text()
        for host in ('cdnjs.cloudflare.com', 'unpkg.com', 'cdn.jsdelivr.net/npm/vega', 'require.min.js', 'MathJax.js'):
            assert not re.search(rf'<(?:script|link|img)\b[^>]+{re.escape(host)}', text), (page, host)

def test_paper_page_shows_the_frontier_figure(site):
    paper = (site/'paper.html').read_text()
    assert '<img alt="The frontier on the paper' in paper and 'src="images/paper_replicate_delta_by_model.png"' in paper
    assert (site/'images'/'paper_replicate_delta_by_model.png').is_file()

def test_stored_outputs_are_shown(site):
    "A notebook that keeps its outputs shows them: printed text, tables, and charts drawn offline as SVG."
    index = (site/'index.html').read_text()
    assert "Clean up my Todoist by removing every task whose title contains" in index
    replicate = (site/'guides'/'replicate.html').read_text()
    assert 'R² = 0.7655, r = -0.875' in replicate and 'src="data:image/svg+xml;base64,' in replicate
    scenario = (site/'guides'/'scenario.html').read_text()
    assert 'todo_postpone_0' in scenario and '<table' in scenario

def test_guides_and_credits_are_linked_from_the_front_page(site):
    index = (site/'index.html').read_text()
    for page in ('guides/replicate.html', 'guides/scenario.html', 'guides/credits.html', 'study/scale.html'):
        assert f'href="{page}"' in index and (site/page).is_file(), page
    credits = (site/'guides'/'credits.html').read_text()
    assert '2603.02229' in credits and 'MIT' in credits and 'Ruan' in credits and '2309.15817' in credits

def test_check_page_catches_what_used_to_go_wrong():
    "The checks themselves: the old pages' faults are found."
    old = ('<html><head><script src="https://cdnjs.cloudflare.com/ajax/libs/require.js/2.1.10/require.min.js"></script></head><body>'
           '<div>---\ndescription: Records for cases\noutput-file: core.html\ntitle: core\n---</div>'
           '<p><a href="https://github.com/x/blob/main/core.py#L1">source</a>{target="_blank" style="float:right"}</p></body></html>')
    found = check_page(old)
    assert 'no title' in found and 'raw front matter' in found and 'raw attribute text' in found
    assert any(p.startswith('request to another host') for p in found)

def test_readme_is_index_ipynb():
    "README.md is written from nbs/index.ipynb (`make readme`): the two must agree."
    assert readme_text(ROOT) == (ROOT/'README.md').read_text(encoding='utf-8'), 'README.md is out of date: run `make readme`'

def test_front_page_lists_every_notebook():
    "The layout table of the front page (and so of README.md) names every notebook, with a link to it."
    index = json.loads((NBS/'index.ipynb').read_text())
    text = ''.join(''.join(c['source']) for c in index['cells'] if c['cell_type'] == 'markdown')
    missing = [rel for rel in notebooks(NBS) if f"[`{rel.removesuffix('.ipynb')}`]({rel})" not in text]
    assert not missing, f'the layout table of nbs/index.ipynb lacks {missing}'

def test_citation_names_the_paper_and_toolemu():
    import yaml
    cff = yaml.safe_load((ROOT/'CITATION.cff').read_text())
    assert cff['cff-version'] == '1.2.0' and cff['license'] == 'MIT'
    assert {r['identifiers'][0]['value'] for r in cff['references']} == {'arXiv:2603.02229', 'arXiv:2309.15817'}

# `make outputs`: notebooks executed in place, outputs kept, metadata cleaned as nbdev_clean does.

def _project(tmp_path, *cells, name='00_tiny.ipynb', **nb_kw):
    "A project with settings.ini and one notebook of `cells`; the notebook's path."
    import nbformat
    shutil.copy(ROOT/'settings.ini', tmp_path/'settings.ini')
    (tmp_path/'nbs').mkdir(exist_ok=True)
    f = tmp_path/'nbs'/name
    nbformat.write(nbformat.v4.new_notebook(cells=list(cells), **nb_kw), f)
    return f

def test_outputs_kept_and_metadata_cleaned(tmp_path):
    from nbformat.v4 import new_code_cell, new_markdown_cell
    f = _project(tmp_path, new_markdown_cell('# tiny'), new_code_cell('import os\nprint(os.getcwd())'), new_code_cell('x = 6 * 7\nx'))
    sources = [c['source'] for c in json.loads(f.read_text())['cells']]
    execute_in_place(f, tmp_path)
    nb = json.loads(f.read_text())
    assert [c['source'] for c in nb['cells']] == sources
    assert ''.join(nb['cells'][1]['outputs'][0]['text']) == 'nbs\n'  # ran in the notebook's folder, printed relative to the project
    assert ''.join(nb['cells'][2]['outputs'][0]['data']['text/plain']) == '42'
    assert all(c.get('execution_count') is None and c['metadata'] == {} for c in nb['cells'] if c['cell_type'] == 'code')
    assert nb['cells'][2]['outputs'][0]['execution_count'] is None and set(nb['metadata']) <= {'kernelspec'}  # no papermill, no language_info

def test_failure_names_the_cell_and_leaves_the_notebook(tmp_path):
    from nbformat.v4 import new_code_cell, new_markdown_cell
    f = _project(tmp_path, new_markdown_cell('# bad'), new_code_cell('y = 1'), new_code_cell('\nundefined_name + y'))
    before = f.read_bytes()
    with pytest.raises(NotebookFailed, match=r"nbs/00_tiny.ipynb: cell 2 \(`undefined_name \+ y`\): NameError: name 'undefined_name'"):
        execute_in_place(f, tmp_path)
    assert f.read_bytes() == before

def test_parameters_cell_keeps_its_defaults(tmp_path):
    "papermill's injected cell is dropped: the notebook keeps its source and defaults, with the outputs of the run's parameters."
    from functools import partial
    from nbformat.v4 import new_code_cell
    f = _project(tmp_path, new_code_cell("preset = 'full'  # the default", metadata={'tags': ['parameters']}), new_code_cell('print(preset)'))
    before = json.loads(f.read_text())
    execute_in_place(f, tmp_path, partial(run_in_kernel, params={'preset': 'quick'}))
    nb = json.loads(f.read_text())
    assert len(nb['cells']) == 2 and [c['source'] for c in nb['cells']] == [c['source'] for c in before['cells']]
    assert nb['cells'][0]['metadata'] == {'tags': ['parameters']} and ''.join(nb['cells'][1]['outputs'][0]['text']) == 'quick\n'

def test_widget_state_dropped_static_view_kept(tmp_path):
    "The explorer's widgets keep their HTML view and their chart as SVG; the widget state (its JavaScript) is not stored."
    from nbformat.v4 import new_code_cell
    f = _project(tmp_path, new_code_cell('viewer'), new_code_cell('chart'))
    spec = {'data': {'values': [{'x': 1}]}, 'mark': 'point', 'encoding': {'x': {'field': 'x', 'type': 'quantitative'}}}
    def fake_run(src, dest, root):
        nb = json.loads(src.read_text())
        view = lambda m: {'model_id': m, 'version_major': 2, 'version_minor': 0}
        nb['cells'][0]['outputs'] = [{'output_type': 'display_data', 'metadata': {}, 'data': {
            'application/vnd.jupyter.widget-view+json': view('m1'), 'text/html': '<table>the first step</table>', 'text/plain': 'Viewer()'}}]
        nb['cells'][1]['outputs'] = [{'output_type': 'display_data', 'metadata': {}, 'data': {
            'application/vnd.jupyter.widget-view+json': view('m2'), 'text/plain': 'JupyterChart()'}}]
        nb['metadata']['widgets'] = {'application/vnd.jupyter.widget-state+json': {'state': {
            'm2': {'state': {'spec': spec, '_esm': 'x' * 100_000}}}}}
        dest.write_text(json.dumps(nb))
    execute_in_place(f, tmp_path, fake_run)
    nb = json.loads(f.read_text())
    assert 'widgets' not in nb['metadata'] and len(f.read_text()) < 50_000
    viewer, chart = (c['outputs'][0]['data'] for c in nb['cells'])
    assert viewer['text/html'] == '<table>the first step</table>' and 'application/vnd.jupyter.widget-view+json' not in viewer
    assert chart['image/svg+xml'].startswith('<svg')

def test_output_notebooks_skip_and_order(tmp_path):
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_raw_cell
    _project(tmp_path, new_markdown_cell('# a'), name='00_a.ipynb')
    _project(tmp_path, new_raw_cell('---\nskip_exec: true\n---'), name='01_b.ipynb')
    _project(tmp_path, new_markdown_cell('# c\n\n- skip_outputs: true'), name='02_c.ipynb')
    for n in ('paper.ipynb', 'explore.ipynb', 'index.ipynb'): _project(tmp_path, new_markdown_cell('# x\n\n- skip_exec: true'), name=n)
    assert output_notebooks(tmp_path/'nbs') == ['00_a.ipynb', *OUTPUT_RUNS]
    assert list(OUTPUT_RUNS) == ['paper.ipynb', 'explore.ipynb']  # the explorer runs on the paper's quick run

def test_module_page_with_examples_and_no_outputs_fails_the_checks(tmp_path):
    from nbformat.v4 import new_code_cell
    f = _project(tmp_path, new_code_cell('#| default_exp tiny'), new_code_cell('#| export\ndef f(): return 1'), new_code_cell('f()'))
    assert 'no outputs' in unrun_examples(f)
    (tmp_path/'site').mkdir()
    (tmp_path/'site'/'tiny.html').write_text('<header class="page-header"><h1 class="title">tiny</h1></header>')
    assert any('no outputs' in p for p in check_site(tmp_path/'site', tmp_path/'nbs')['tiny.html'])
    execute_in_place(f, tmp_path)
    assert unrun_examples(f) is None

def test_pages_show_the_docs_notebooks_outputs(site):
    "nbs/98_docs.ipynb and nbs/97_outputs.ipynb keep their examples' outputs, and their pages show them."
    page = (site/'docs.html').read_text()
    assert "&lt;header class=" in page and ('data:image/svg+xml;base64,' in page or '<svg' in page)
    outputs = (site/'outputs.html').read_text()
    assert "{'paper.ipynb': 'run_paper_quick', 'explore.ipynb': 'run_explore'}" in html_unescape(outputs)
