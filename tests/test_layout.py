"""The package's shape, read from its source with `ast`: modules sit in folders by pipeline stage
(environments -> agents -> judges -> training -> analysis -> study), nothing imports what stands above it,
there are no import circles, and no module grows past a size a reader can hold."""
import ast
from pathlib import Path
import pytest

PKG = Path(__file__).resolve().parents[1]/'agentsafety'
MAX_LINES = 800
# A module's stage: the first matching prefix wins. Lower ranks may not import higher ones.
RANKS = [('core', 0), ('react', 0), ('names', 0), ('environments', 1), ('agents', 2), ('judges', 3),
         ('training', 4), ('analysis', 5), ('study', 6), ('cli', 7), ('docs', 7), ('outputs', 7)]

def module_files(pkg:Path=PKG)->dict[str, Path]:
    "Dotted name (without the package) -> file, for every module but the generated index."
    out = {}
    for p in sorted(pkg.rglob('*.py')):
        if p.name == '_modidx.py' or '__pycache__' in p.parts: continue
        parts = p.relative_to(pkg).with_suffix('').parts
        if parts[-1] == '__init__': parts = parts[:-1]
        out['.'.join(parts)] = p
    return out

def _resolve(name:str, mods:dict)->str|None:
    "The longest known module that `name` (dotted, package stripped) is or lies in."
    parts = name.split('.')
    for i in range(len(parts), 0, -1):
        if '.'.join(parts[:i]) in mods: return '.'.join(parts[:i])
    return None

def imports_of(mod:str, path:Path, mods:dict, lib:str='agentsafety')->set[str]:
    "Package modules that `mod` imports anywhere in its file (top level or inside functions)."
    pkg_parts = mod.split('.') if path.name == '__init__.py' else mod.split('.')[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name[len(lib) + 1:] for a in node.names if a.name.startswith(lib + '.')]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg_parts[:len(pkg_parts) - (node.level - 1)] if node.level > 1 else pkg_parts
                stem = '.'.join(base + ([node.module] if node.module else []))
            elif node.module and (node.module == lib or node.module.startswith(lib + '.')): stem = node.module[len(lib) + 1:]
            else: continue
            # `from .pkg import mod` names a module; `from .mod import f` names a function of the module `stem`
            subs = [f"{stem}.{a.name}".strip('.') for a in node.names]
            names = [s for s in subs if s in mods] or [stem]
        for n in names:
            r = _resolve(n, mods)
            if r and r != mod: found.add(r)
    return found

def import_graph(pkg:Path=PKG)->dict[str, set[str]]:
    mods = module_files(pkg)
    return {m: imports_of(m, p, mods) for m, p in mods.items()}

def rank(mod:str)->int|None:
    for prefix, r in RANKS:
        if mod == prefix or mod.startswith(prefix + '.'): return r
    return None

def find_cycle(graph:dict)->list|None:
    "One import cycle as a list of modules, or None."
    state, stack = {}, []
    def visit(m):
        state[m] = 1; stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == 1: return stack[stack.index(d):] + [d]
            if d not in state and (c := visit(d)): return c
        state[m] = 2; stack.pop()
        return None
    for m in sorted(graph):
        if m not in state and (c := visit(m)): return c
    return None

def test_graph_reader_sees_relative_lazy_and_absolute_imports(tmp_path):
    "The reader is no check that cannot fail: it finds every kind of import, and the checks fire on a bad tree."
    pkg = tmp_path/'agentsafety'; (pkg/'agents').mkdir(parents=True)
    (pkg/'__init__.py').write_text(''); (pkg/'agents'/'__init__.py').write_text('')
    (pkg/'core.py').write_text('def f():\n    from agentsafety.agents import rollout\n')
    (pkg/'agents'/'rollout.py').write_text('from ..core import f\nfrom . import backends\n')
    (pkg/'agents'/'backends.py').write_text('import agentsafety.core\n')
    g = import_graph(pkg)
    assert g['core'] == {'agents.rollout'}
    assert g['agents.rollout'] == {'core', 'agents.backends'}
    assert g['agents.backends'] == {'core'}
    cycle = find_cycle(g)
    assert cycle[0] == cycle[-1] and {'core', 'agents.rollout'} <= set(cycle)
    assert find_cycle({**g, 'core': set()}) is None
    assert rank('core') < rank('agents.rollout')

def test_every_module_has_a_stage():
    unranked = [m for m in module_files() if m and rank(m) is None]
    assert not unranked, f"modules outside every pipeline stage (add a folder or a rank): {unranked}"

def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + ' -> '.join(cycle)

def test_nothing_imports_a_higher_stage():
    bad = [f"{m} (stage {rank(m)}) imports {d} (stage {rank(d)})"
           for m, deps in import_graph().items() for d in sorted(deps)
           if m and rank(m) is not None and rank(d) is not None and rank(d) > rank(m)]
    assert not bad, '\n'.join(bad)

def test_modules_stay_readable():
    big = {m: n for m, p in module_files().items() if (n := len(p.read_text(encoding='utf-8').splitlines())) > MAX_LINES}
    assert not big, f"modules over {MAX_LINES} lines: {big}"

def test_package_folders_are_packages():
    "find_packages only installs folders with an __init__.py: a nested module without one is lost on install."
    missing = [str(d.relative_to(PKG)) for d in PKG.rglob('*') if d.is_dir() and d.name != '__pycache__'
               and any(d.glob('*.py')) and not (d/'__init__.py').exists()]
    assert not missing, f"folders without __init__.py: {missing}"


# Literate notebooks (issue 16): over nbs/ (the study's own notebooks, the front page and the guides left out), at least
# one example cell per exported cell, and exported cells of at most 12 lines at the median.
NBS, NOT_MODULE_NBS = PKG.parent/'nbs', {'paper.ipynb', 'explore.ipynb', 'index.ipynb'}

def cell_kinds(nb:dict)->tuple[list[int], int]:
    "(lines of each exported cell, number of example cells: code that is neither exported, hidden nor `default_exp`) of a notebook."
    import re
    exported, examples = [], 0
    for c in nb['cells']:
        src = ''.join(c['source']) if c['cell_type'] == 'code' else ''
        if not src.strip(): continue
        if re.match(r'#\|\s*exports?\b', src.lstrip()): exported.append(sum(1 for l in src.splitlines() if l.strip() and not l.startswith('#|')))
        elif not re.match(r'#\|\s*(hide|default_exp|exporti)', src.lstrip()): examples += 1
    return exported, examples

def test_notebooks_stay_literate():
    import json, statistics
    lines, examples = [], 0
    for f in sorted(NBS.rglob('*.ipynb')):
        if f.name in NOT_MODULE_NBS or 'guides' in f.parts or '.ipynb_checkpoints' in f.parts: continue
        e, x = cell_kinds(json.loads(f.read_text(encoding='utf-8')))
        lines += e; examples += x
    assert examples / len(lines) >= 1.0, f"{examples} example cells for {len(lines)} exported cells: follow each definition with an example"
    assert statistics.median(lines) <= 12, f"median exported cell {statistics.median(lines)} lines: split long cells (@patch for classes)"

def test_cell_kinds_counts():
    nb = {'cells': [{'cell_type': 'code', 'source': ['#| export\n', 'def f(): pass\n', '\n', 'x = 1']},
                    {'cell_type': 'code', 'source': ['f()']}, {'cell_type': 'code', 'source': ['#| hide\n', 'y']},
                    {'cell_type': 'code', 'source': ['#| default_exp m']}, {'cell_type': 'markdown', 'source': ['f()']}]}
    assert cell_kinds(nb) == ([2], 1)
