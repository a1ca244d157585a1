"""The ``permjax`` command as a whole: --version, --help, one-line errors, the ground subcommand."""

import json
import math
import subprocess
import sys

import pytest

import permjax
from permjax.cli import build_parser, main

SUBCOMMANDS = [a.dest for a in build_parser()._subparsers._group_actions[0]._choices_actions]


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_version_from_the_installed_entry_point():
    r = subprocess.run([sys.executable, "-m", "permjax", "--version"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0
    assert r.stdout.strip() == f"permjax {permjax.__version__}"


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for name in ("thermo", "ground", "figure"):
        assert name in SUBCOMMANDS and name in out


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_subcommand_help_states_defaults(capsys, name):
    with pytest.raises(SystemExit) as e:
        main([name, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "default" in out
    # every option that takes a value says its default
    parser = build_parser()._subparsers._group_actions[0].choices[name]
    for action in parser._actions:
        if action.option_strings and action.nargs is None and action.default not in (None, "==SUPPRESS=="):
            assert "default" in (action.help or ""), (name, action.option_strings)


@pytest.mark.parametrize(
    "argv,needle",
    [
        ([], "COMMAND"),
        (["nonsense"], "invalid choice"),
        (["ground", "--N", "0"], "--N"),
        (["ground", "--N", "-3"], "--N"),
        (["ground", "--N", "2.5"], "not an integer"),
        (["ground", "--h", "abc"], "not a number"),
        (["ground", "--J", "nan"], "not a finite number"),
        (["ground", "--J", "2"], "J < 0"),
        (["thermo", "--J", "x"], "not a number"),
        (["sweep", "--gamma", "-1"], "gamma"),
        (["optimize", "--gamma", "-1"], "gamma"),
        (["sweep", "--N", "0"], "--N"),
        (["figure", "3"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_with_exit_2(capsys, argv, needle):
    rc, out, err = run(capsys, *argv)
    assert rc == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("permjax: error:") and needle in lines[0]


def test_gamma_negative_rejected_by_thermo(capsys):
    rc, _, err = run(capsys, "thermo", "--gamma", "-1")
    assert rc == 2 and "gamma" in err and len(err.strip().splitlines()) == 1


def test_ground_json_matches_the_api(capsys):
    rc, out, _ = run(capsys, "ground", "--N", "12", "--J", "-2", "--h", "0.05", "--json")
    assert rc == 0
    rec = json.loads(out)
    g = permjax.ground_state(12, -2.0, 0.05)
    assert rec["mi_per_N"] == float(g.mi)
    assert rec["energy"] == float(g.energy)
    assert rec["diagnostics"]["converged"] is True
    # human-readable report carries the same number
    rc, out, _ = run(capsys, "ground", "--N", "12", "--J", "-2", "--h", "0.05")
    assert rc == 0 and f"{float(g.mi):.12g}" in out


def test_ground_defaults_and_even_N_dicke_value(capsys):
    rc, out, _ = run(capsys, "ground", "--N", "10", "--h", "0", "--json")
    assert rc == 0
    rec = json.loads(out)
    assert rec["J"] == -1.0 and rec["mi_per_N"] == pytest.approx(math.log(2), abs=1e-15)
