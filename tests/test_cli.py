"""Every command's options are read from the functions it calls: for each command in `agentsafety.cli.COMMANDS` the
parser builds, `-h` runs, every option's default is the default of the parameter, settings-dataclass field or callee
parameter it comes from (read here independently, with `inspect` and `dataclasses`), `-h` shows that default, and
no module but the builder writes an `add_argument` by hand."""
import argparse, contextlib, dataclasses, inspect, io, re
from pathlib import Path
import pytest
from agentsafety.cli import COMMANDS, Options, command, command_kwargs, command_parser, main, parameters, show_default

PKG = Path(__file__).resolve().parents[1]/'agentsafety'


def commands(table=COMMANDS, prog=('agentsafety',)):
    "(command words, function) of every command, subcommands included."
    for name, (target, _) in table.items():
        if isinstance(target, dict): yield from commands(target, prog + (name,))
        else: yield prog + (name,), target

ALL = list(commands())
IDS = [' '.join(words[1:]) for words, _ in ALL]


def source_default(target, name:str):
    "The default of parameter or field `name` of `target`, read from its signature or its dataclass fields."
    if dataclasses.is_dataclass(target):
        f = {f.name: f for f in dataclasses.fields(target)}[name]
        return f.default_factory() if f.default is dataclasses.MISSING else f.default
    return inspect.signature(target).parameters[name].default


def expected(fn):
    "Option dest → (the default the command must get, the preset values when it is preset-relative), from the sources."
    out = {}
    for name, (t, default, doc) in parameters(fn).items():
        meta = getattr(t, '__metadata__', ())
        base = getattr(t, '__origin__', t)
        opts = t if isinstance(t, Options) else next((m for m in meta if isinstance(m, Options)), None)
        presets = next((m for m in meta if isinstance(m, dict)), None)
        dc = next((a for a in (getattr(base, '__args__', None) or (base,)) if dataclasses.is_dataclass(a)), None)
        if opts is not None:
            for o, p in opts.names.items(): out[o] = (source_default(opts.target, p), None)
        elif presets is not None:
            for f in dataclasses.fields(type(next(iter(presets.values())))):
                out[f.name] = (None, {k: getattr(v, f.name) for k, v in presets.items()})
        elif dc is not None:
            for f in dataclasses.fields(dc): out[f.name] = (source_default(dc, f.name), None)
        else: out[name] = (inspect.signature(fn).parameters[name].default, None)
    return out


def minimal_argv(p:argparse.ArgumentParser)->list[str]:
    "A command line giving only what `p` requires, each value `x`."
    argv = []
    for a in p._actions:
        if a.option_strings and a.required: argv += [a.option_strings[0], 'x']
        elif not a.option_strings and a.dest != 'help': argv.append('x')
    return argv


def test_every_command_is_listed():
    assert {' '.join(w[1:]) for w, _ in ALL} == {'cases', 'sandbox-policies', 'rollout', 'judge', 'prefs', 'train dpo', 'analyze', 'paper', 'sources build', 'sources check', 'gc'}


@pytest.mark.parametrize('words,target', ALL, ids=IDS)
def test_options_default_to_their_sources(words, target):
    fn = command(target)
    p = command_parser(fn, ' '.join(words))
    want = expected(fn)
    given = {a.dest for a in p._actions if a.option_strings and a.required} | {a.dest for a in p._actions if not a.option_strings}
    checked = 0
    for a in p._actions:
        if a.dest == 'help' or a.dest in given: continue
        default, presets = want[a.dest]
        if presets is not None:  # unset unless given; `-h` names each preset's value
            assert a.default is None, a.dest
            assert all(show_default(v) in a.help for v in presets.values()), (a.dest, a.help)
        elif a.default is None and isinstance(default, (list, tuple)):  # repeatable: the default is filled in after parsing
            if default: assert f"(default: {show_default(default)})" in a.help, (a.dest, a.help)
        else:
            assert a.default == default and type(a.default) is type(default), (a.dest, a.default, default)
            if default not in (None, (), False): assert f"(default: {show_default(default)})" in a.help, (a.dest, a.help)
        if a.choices is not None and a.default is not None: assert a.default in a.choices, (a.dest, a.default, a.choices)
        checked += 1
    assert checked == len(want) - len(given & set(want))
    # what the function receives from a command line that gives only the required values
    kw = command_kwargs(p, minimal_argv(p))
    for name, (t, default, doc) in parameters(fn).items():
        if name in given: continue
        meta = getattr(t, '__metadata__', ())
        opts = t if isinstance(t, Options) else next((m for m in meta if isinstance(m, Options)), None)
        if opts is not None:
            got = {p_: list(v) if isinstance(v, tuple) else v for p_, v in kw[name].items()}
            assert got == {p_: (list(d) if isinstance(d, tuple) else d) for p_, d in
                           ((p_, source_default(opts.target, p_)) for p_ in opts.names.values())}, name
        elif any(isinstance(m, dict) for m in meta): assert kw[name] == {}, name
        elif dataclasses.is_dataclass(type(kw[name])): assert kw[name] == type(kw[name])(), name
        else: assert kw[name] == inspect.signature(fn).parameters[name].default, name


@pytest.mark.parametrize('words,target', ALL, ids=IDS)
def test_help_runs(words, target):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as e: main([*words[1:], '-h'])
    assert e.value.code == 0
    assert out.getvalue().startswith(f"usage: {' '.join(words)} ")


def test_top_level_and_group_help():
    for argv, rc in (([], 2), (['--help'], 0), (['train'], 2), (['train', '-h'], 0)):
        with contextlib.redirect_stdout(io.StringIO()) as out: assert main(argv) == rc
        assert 'commands:' in out.getvalue()
    with contextlib.redirect_stderr(io.StringIO()) as err: assert main(['frobnicate']) == 2
    assert "unknown command 'frobnicate'" in err.getvalue()


@pytest.mark.parametrize('argv,says', [(['analyze', 'x', '--bootstrap', 'many'], "argument --bootstrap: invalid int value: 'many'"),
                                       (['analyze', 'x', '--bootstrap', '-1'], '--bootstrap must be ≥ 0'),
                                       (['sandbox-policies', '--n-cases', '0'], '--n-cases and --max-steps must be at least 1'),
                                       (['rollout', '--agent', 'scripted:careful', '--out', 'x', '--layout', 'grid'], 'layout must be one of'),
                                       (['rollout', '--out', 'x'], 'the following arguments are required: --agent'),
                                       (['train', 'dpo', '--source', 's', '--schedule', 'S', '--out', 'o', '--preset', 'huge'], "argument --preset: invalid choice: 'huge'"),
                                       (['prefs', 'x', '--out', 'y', '--mode', 'sometimes'], "mode must be one of single, both, average, dominant")])
def test_bad_input_is_a_usage_error(argv, says):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as e: main(argv)
    assert e.value.code == 2 and says in err.getvalue() and err.getvalue().startswith('usage: agentsafety '), err.getvalue()


def test_none_and_repeats_read_as_declared():
    p = command_parser(command(COMMANDS['rollout'][0]))
    kw = command_kwargs(p, ['--agent', 'a', '--out', 'o', '--max-steps', 'none', '--metrics', 'safe', '--metrics', 'help_safe',
                            '--request-retries', '1'])
    assert kw['config'].max_steps is None and kw['scoring'] == {'metrics': ['safe', 'help_safe']}
    assert kw['endpoint'] == {'concurrency': 8, 'max_retries': 1, 'timeout': 120.0} or kw['endpoint']['max_retries'] == 1


def test_no_hand_written_add_argument():
    "Options are declared by signatures only: `add_argument` is called by the builder in `cli.py` and nowhere else."
    hits = [f"{p.relative_to(PKG)}:{i}" for p in sorted(PKG.rglob('*.py')) if p.name not in ('cli.py', '_modidx.py')
            for i, line in enumerate(p.read_text(encoding='utf-8').splitlines(), 1) if re.search(r'\badd_argument\(', line)]
    assert not hits, hits
    assert len(re.findall(r'\badd_argument\(', (PKG/'cli.py').read_text(encoding='utf-8'))) == 1
