"""Model files (permjax.models.files) and the CLI's --model / --set / --axis, checked against the
LMG family term by term, Eq. 18 and docs/theory.md §5's brute-force numbers, and the closed-form N = 1
steady state of tests/test_families.py."""

import json
import textwrap

import jax
import numpy as np
import pytest
from general_models import closed_form, needs_general_finite, needs_general_thermo, upper_population

import permjax
from permjax import LMG, cli
from permjax.models import FAMILIES, ModelFileError, PIModel, load_model
from permjax.models.parameters import values

LMG_TERMS = """
    d = 2
    name = "lmg_terms"

    [parameters]
    J = 3.0
    h = 0.5
    Gamma = { value = 1.68, bounds = [1.0, 4.0], help = "collective decay" }
    gamma = { value = 1.0, domain = ">0" }

    [[hamiltonian]]
    coefficient = "J"
    A = "sigma_x/2"
    B = "0.5*sigma_x"

    [[hamiltonian]]
    coefficient = "J"
    A = "sigma_y/2"
    B = [[0, "-0.5j"], ["0.5j", 0]]

    [[hamiltonian]]
    coefficient = "h"
    A = "sigma_x / 2"

    [[collective]]
    rate = "Gamma"
    A = "sigma_minus"

    [[local]]
    rate = "gamma"
    L = "ket_bra(0, 1)"
"""

ATOM = """
    d = 2
    [parameters]
    Delta = 2.0
    Omega = 1.0
    kappa = 1.0
    gamma_phi = { value = 0.1, bounds = [0.0, 3.0] }

    [[hamiltonian]]
    coefficient = "Delta/2"
    A = "sigma_z"
    [[hamiltonian]]
    coefficient = "0.5*Omega"
    A = "sigma_x"
    [[local]]
    rate = "kappa"
    L = "sigma_minus"
    [[local]]
    rate = "gamma_phi"
    L = [[1, 0], [0, -1]]
"""


from analytic import eq18_numpy  # noqa: E402


def write(tmp_path, text, name="model.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def run(capsys, *argv):
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def same_model(a: PIModel, b: PIModel):
    assert jax.tree.structure(a) == jax.tree.structure(b)  # the same terms and matrices (static data)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        assert float(x) == float(y)


# --- the Python API --------------------------------------------------------------------------


def test_zoo_files(tmp_path):
    p = load_model(write(tmp_path, 'family = "LMG"\n[parameters]\nh = 0.0\nGamma = 2\n'))
    assert type(p) is LMG and values(p) == {"J": 3.0, "h": 0.0, "Gamma": 2.0, "gamma": 1.0}
    for name, cls in FAMILIES.items():  # every family of the zoo, at its defaults
        q = load_model(write(tmp_path, f'family = "{name}"\n', f"{name}.toml"))
        assert type(q) is cls and values(q) == cls.DEFAULTS


def test_spelled_out_terms_are_the_lmg_model(tmp_path):
    p = load_model(write(tmp_path, LMG_TERMS))
    cls = type(p)
    assert cls.NAME == "lmg_terms" and cls.PARAMETERS == ("J", "h", "Gamma", "gamma")
    assert cls.DOMAIN == {"Gamma": ">=0", "gamma": ">0"}  # Gamma inferred from its use as a rate
    assert cls.BOUNDS == {"Gamma": (1.0, 4.0)} and cls.HELP == {"Gamma": "collective decay"}
    for kw in ({}, {"J": -1.5, "h": 0.0}, {"Gamma": 3.2, "gamma": 0.4, "h": 2.0}):
        same_model(p.replace(**kw).to_model(), LMG().replace(**kw).to_model())
    with pytest.raises(ValueError, match="gamma must be > 0"):
        p.replace(gamma=0.0)
    # the name defaults to the file's stem
    assert type(load_model(write(tmp_path, LMG_TERMS.replace('name = "lmg_terms"', ""), "mine.toml"))).NAME == "mine"


def test_matrix_names_scaling_and_complex_entries(tmp_path):
    text = """
        d = 3
        [parameters]
        w = 0.7
        k = 0.2
        [[hamiltonian]]
        coefficient = "w"
        A = "gell_mann(4)"
        [[hamiltonian]]
        coefficient = -0.3
        A = "gell_mann(2)"
        B = "-gell_mann(2)"
        [[hamiltonian]]
        coefficient = 1.5
        A = [[1, "0.5-1j", 0], ["0.5+1j", 0, "2j"], [0, "-2j", -1]]
        [[collective]]
        rate = 0.25
        A = "2*ket_bra(2,0)"
        [[local]]
        rate = "k/4"
        L = "identity"
    """
    p = load_model(write(tmp_path, text))
    m = p.to_model()
    gm = permjax.gell_mann(3)
    H = [t.A.array for t in m.hamiltonian]
    np.testing.assert_array_equal(H[0], gm[3])
    np.testing.assert_array_equal(m.hamiltonian[1].B.array, -gm[1])
    np.testing.assert_array_equal(H[2], [[1, 0.5 - 1j, 0], [0.5 + 1j, 0, 2j], [0, -2j, -1]])
    np.testing.assert_array_equal(m.collective[0].A.array, 2 * permjax.ket_bra(3, 2, 0))
    np.testing.assert_array_equal(m.local[0].L.array, np.eye(3))
    assert float(m.hamiltonian[1].c) == -0.3 and float(m.local[0].rate) == pytest.approx(0.05, abs=0)
    assert type(p).DOMAIN == {"k": ">=0"}
    # gradients flow through the file's coefficients: d(rate)/dk = 1/4
    assert float(jax.grad(lambda k: p.replace(k=k).to_model().local[0].rate)(0.2)) == 0.25


def test_file_without_parameters_is_a_pimodel(tmp_path):
    m = load_model(write(tmp_path, '''
        d = 2
        [[hamiltonian]]
        coefficient = 0.5
        A = "sigma_x"
        [[local]]
        rate = 1.0
        L = "sigma_minus"
    '''))
    assert isinstance(m, PIModel) and float(m.hamiltonian[0].c) == 0.5


BAD_FILES = [
    ("family = 'tavis_cummings'", "unknown family 'tavis_cummings'; the zoo has"),
    ("family = 'lmg'\nd = 2", "not both"),
    ("family = 'lmg'\n[parameters]\nDelta = 1", "unknown LMG parameter(s) ['Delta']"),
    ("family = 'lmg'\n[parameters]\nJ = 'three'", "parameter J must be a real number"),
    ("family = 'lmg'\n[parameters]\nJ = true", "parameter J must be a real number"),
    ("family = 'lmg'\n[parameters]\nJ = inf", "parameter J must be finite"),
    ("family = 'lmg'\n[parameters]\ngamma = -1", "LMG parameter gamma must be > 0"),
    ("family = 'lmg'\nparameters = 3", "'parameters' must be a table"),
    ("x = = 1", "not valid TOML"),
    ("[[local]]\nrate = 1\nL = 'sigma_minus'", "missing 'd'"),
    ("[parameters]\nd = 2\n[[local]]\nrate = 1\nL = 'sigma_minus'", "top-level keys go before the first [table]"),
    ("d = 1", "'d' must be an integer >= 2"),
    ("d = '2'", "'d' must be an integer >= 2"),
    ("d = 2\nname = 3", "'name' must be a non-empty string"),
    ("d = 2\nterms = []", "unknown key(s) ['terms']"),
    ("d = 2\nparameters = 1", "'parameters' must be a table"),
    ("d = 2", "no terms"),
    ("d = 2\n[parameters]\nhamiltonian = [[1, 'sigma_x']]", "'hamiltonian' is inside [parameters]"),
    ("d = 2\n[parameters]\na = { value = 1, min = 0 }", "parameter a: unknown key(s) ['min']"),
    ("d = 2\n[parameters]\na = { bounds = [0, 1] }", "parameter a: missing 'value'"),
    ("d = 2\n[parameters]\na = { value = 1, bounds = [0] }", "bounds must be [lo, hi]"),
    ("d = 2\n[parameters]\na = { value = 1, bounds = [2, 1] }", "bounds must have lo < hi"),
    ("d = 2\n[parameters]\na = { value = 1, domain = 'positive' }", "domain must be one of"),
    ("d = 2\n[parameters]\na = { value = 1, help = 3 }", "help must be a string"),
    ("d = 2\n[parameters]\n'a b' = 1", "must be an identifier"),
    ("d = 2\nhamiltonian = 3", "'hamiltonian' must be a list of [[hamiltonian]] tables"),
    ("d = 2\nlocal = [1]", "[[local]] #1 must be a table"),
    ("d = 2\n[[local]]\nrate = 1\nL = 'sigma_minus'\nB = 'sigma_x'", "[[local]] #1: unknown key(s) ['B']"),
    ("d = 2\n[[collective]]\nA = 'sigma_minus'", "[[collective]] #1: missing 'rate'"),
    ("d = 2\n[[hamiltonian]]\ncoefficient = 1", "[[hamiltonian]] #1: missing 'A'"),
    ("d = 2\n[[hamiltonian]]\ncoefficient = 'w'\nA = 'sigma_x'", "'w' is not a parameter"),
    ("d = 2\n[parameters]\nw = 1\n[[hamiltonian]]\ncoefficient = 'w**2'\nA = 'sigma_x'", "cannot read 'w**2'"),
    ("d = 2\n[[local]]\nrate = -1\nL = 'sigma_minus'", "rate must be >= 0"),
    ("d = 2\n[parameters]\ng = 1\n[[local]]\nrate = '-g'\nL = 'sigma_minus'", "rate must be >= 0"),
    ("d = 2\n[[local]]\nrate = 1\nL = 'sigma_q'", "unknown matrix 'sigma_q'"),
    ("d = 3\n[[local]]\nrate = 1\nL = 'sigma_minus'", "sigma_minus is a qubit matrix"),
    ("d = 3\n[[local]]\nrate = 1\nL = 'ket_bra(0,3)'", "ket_bra(a,b) needs two levels in 0..2"),
    ("d = 2\n[[local]]\nrate = 1\nL = 'gell_mann(4)'", "gell_mann(k) needs k in 1..3"),
    ("d = 2\n[[local]]\nrate = 1\nL = 'gell_mann(x)'", "must be integers"),
    ("d = 2\n[[local]]\nrate = 1\nL = 'sigma_x/0'", "division by zero"),
    ("d = 2\n[[local]]\nrate = 1\nL = [[0, 1], [0, 0], [0, 0]]", "must be a matrix name or a 2×2 list of rows"),
    ("d = 2\n[[local]]\nrate = 1\nL = 5", "must be a matrix name or a 2×2 list of rows"),
    ("d = 2\n[[local]]\nrate = 1\nL = [[0, 'one'], [0, 0]]", "cannot read the entry 'one'"),
    ("d = 2\n[[local]]\nrate = 1\nL = [[0, true], [0, 0]]", "entries must be numbers"),
    ("d = 2\n[[local]]\nrate = 1\nL = [[0, 'nanj'], [0, 0]]", "is not finite"),
    ("d = 2\n[parameters]\nu = 1\n[[local]]\nrate = 1\nL = 'sigma_minus'", "['u'] in [parameters] are used by no term"),
    ("d = 2\n[[hamiltonian]]\ncoefficient = 1\nA = 'sigma_plus'", "not Hermitian"),
]


@pytest.mark.parametrize("text,match", BAD_FILES)
def test_bad_model_files(tmp_path, text, match):
    path = write(tmp_path, text + "\n")
    with pytest.raises(ModelFileError) as e:
        load_model(path)
    msg = str(e.value)
    assert msg.startswith(path + ": ") and match in msg and "\n" not in msg
    assert isinstance(e.value, ValueError)


def test_unreadable_model_files(tmp_path):
    for path, match in [(tmp_path / "none.toml", "no such model file"), (tmp_path, "is a directory")]:
        with pytest.raises(ModelFileError, match=match):
            load_model(path)
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b"d = 2 # \xe9\n")
    with pytest.raises(ModelFileError, match="not valid TOML"):
        load_model(bad)


# --- the command line ------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["thermo", "finite", "sweep", "optimize"])
def test_cli_bad_model_file_is_one_line_exit_2(tmp_path, capsys, command):
    path = write(tmp_path, "d = 2\n[[local]]\nrate = 1\nL = 'sigma_q'\n")
    rc, out, err = run(capsys, command, "--model", path)
    lines = err.strip().splitlines()
    assert rc == 2 and out == "" and len(lines) == 1
    assert lines[0].startswith(f"permjax: error: {path}: [[local]] #1: L: unknown matrix")


def test_cli_zoo_file_thermo_and_finite(tmp_path, capsys):
    """`--model` with a zoo file gives the numbers of the LMG flags: Eq. 18 at h = 0, docs/theory.md §5 at N = 4."""
    path = write(tmp_path, 'family = "lmg"\n[parameters]\nh = 0.0\nGamma = 2.0\n')
    rc, out, _ = run(capsys, "thermo", "--model", path, "--json")
    assert rc == 0
    rec = json.loads(out)
    assert rec["family"] == "LMG" and rec["model"] == {"J": 3.0, "h": 0.0, "Gamma": 2.0, "gamma": 1.0}
    assert rec["mi_per_N"] == pytest.approx(eq18_numpy(2.0), abs=1e-9)
    # the LMG flags and --set apply on top of an LMG file; the human-readable report names the family
    rc, out, _ = run(capsys, "thermo", "--model", path, "--Gamma", "1.68", "--set", "J=2.5")
    assert rc == 0 and "N -> infinity, LMG {'J': 2.5, 'h': 0.0, 'Gamma': 1.68, 'gamma': 1.0}" in out
    mi = float(next(line for line in out.splitlines() if line.startswith("I_M/N")).split("=")[1])
    assert mi == pytest.approx(eq18_numpy(1.68), abs=1e-9)  # Eq. 18 does not depend on 𝒥

    path = write(tmp_path, 'family = "lmg"\n[parameters]\nh = 0.5\n', "h05.toml")
    rc, out, _ = run(capsys, "finite", "--model", path, "--N", "4", "--json")
    assert rc == 0 and json.loads(out)["mi_per_N"] == pytest.approx(0.028341433268, abs=5e-12)


def test_cli_zoo_file_sweep(tmp_path, monkeypatch, capsys):
    path = write(tmp_path, 'family = "lmg"\n[parameters]\nh = 0.0\n')
    with monkeypatch.context() as mp:  # N → ∞ at h = 0: Eq. 18 (mi_thermo's own sweep is tested in test_optimize)
        mp.setattr(cli.common, "_mi_function", lambda *args, **kwargs: permjax.mi_thermo_analytic)
        rc, out, _ = run(capsys, "sweep", "--model", path, "--axis", "Gamma=1.05:4:5", "--json", "--quiet")
    assert rc == 0
    cols = json.loads(out)["columns"]
    G = np.linspace(1.05, 4.0, 5)
    np.testing.assert_array_equal(cols["Gamma"], G)
    np.testing.assert_allclose(cols["value"], eq18_numpy(G), rtol=0, atol=1e-14)
    # finite N: docs/theory.md §5's 2^N brute-force numbers at N = 4
    rc, out, _ = run(capsys, "sweep", "--model", path, "--N", "4", "--axis", "h=0,0.5", "--set", "Gamma=1.68",
                     "--json", "--quiet")
    assert rc == 0
    np.testing.assert_allclose(json.loads(out)["columns"]["mi"], [0.033440586354, 0.028341433268], rtol=0, atol=5e-12)


def test_cli_user_family_file_sweep_and_optimize(tmp_path, monkeypatch, capsys):
    """A spelled-out file's parameters on the command line; the objective is the N = 1 steady
    state, so the numbers are the closed form (γ_φ* = (Δ − κ/2)/2)."""
    monkeypatch.setattr(cli.common, "_mi_function", lambda *args, **kwargs: upper_population)
    path = write(tmp_path, ATOM, "atom.toml")
    rc, out, _ = run(capsys, "sweep", "--model", path, "--axis", "gamma_phi=0:2:5", "--axis", "Omega=0.5,1.5",
                     "--set", "Delta=3", "--json", "--quiet")
    assert rc == 0
    rec = json.loads(out)
    assert rec["shape"] == [5, 2] and list(rec["columns"])[:4] == ["Delta", "Omega", "kappa", "gamma_phi"]
    want = closed_form(3.0, np.array([0.5, 1.5])[None, :], 1.0, np.linspace(0, 2, 5)[:, None])
    np.testing.assert_allclose(np.reshape(rec["columns"]["value"], (5, 2)), want, rtol=0, atol=1e-14)

    # the file's bounds are the default search box
    rc, out, _ = run(capsys, "optimize", "--model", path, "--over", "gamma_phi", "--set", "Delta=3", "--json")
    assert rc == 0
    rec = json.loads(out)
    assert rec["family"] == "atom" and rec["bounds"] == {"gamma_phi": [0.0, 3.0]} and rec["converged"]
    assert rec["params"]["gamma_phi"] == pytest.approx((3.0 - 0.5) / 2, abs=1e-7)
    assert rec["value"] == pytest.approx(closed_form(3.0, 1.0, 1.0, 1.25), abs=1e-14)
    rc, out, _ = run(capsys, "optimize", "--model", path, "--over", "kappa", "--bounds", "kappa=0.5,2", "--json")
    assert rc == 0 and json.loads(out)["bounds"] == {"kappa": [0.5, 2.0]}


@pytest.mark.parametrize("argv,match", [
    (["thermo", "--J", "2"], "--J is a LMG flag, but the model of"),
    (["thermo", "--set", "J=2"], "unknown atom parameter(s) ['J']"),
    (["thermo", "--set", "Delta"], "expected NAME=VALUE"),
    (["thermo", "--set", "Delta=x"], "not a number"),
    (["thermo", "--set", "Delta=1", "--set", "Delta=2"], "parameter Delta given twice"),
    (["thermo", "--set", "kappa=-1"], "kappa must be >= 0"),
    (["sweep", "--axis", "gamma_phi=0:1", "--quiet"], "START:STOP:COUNT"),
    (["sweep", "--axis", "gamma_phi=-1,1", "--quiet"], "gamma_phi must be >= 0"),
    (["optimize"], "--over is needed: name a parameter of atom among Delta, Omega, kappa, gamma_phi"),
    (["optimize", "--over", "J"], "invalid choice: 'J'"),
    (["optimize", "--over", "kappa"], "--bounds kappa=LO,HI is needed: atom gives no default search box"),
])
def test_cli_family_flags_bad_input(tmp_path, capsys, argv, match):
    path = write(tmp_path, ATOM, "atom.toml")
    rc, out, err = run(capsys, *argv, "--model", path)
    lines = err.strip().splitlines()
    assert rc == 2 and out == "" and len(lines) == 1 and match in lines[0], lines


def test_cli_set_and_axis_on_the_default_family(capsys, monkeypatch):
    monkeypatch.setattr(cli.common, "_mi_function", lambda *args, **kwargs: permjax.mi_thermo_analytic)
    rc, out, _ = run(capsys, "sweep", "--set", "h=0", "--axis", "Gamma=1.5,2.5", "--json", "--quiet")
    assert rc == 0
    cols = json.loads(out)["columns"]
    np.testing.assert_allclose(cols["value"], eq18_numpy(np.array([1.5, 2.5])), rtol=0, atol=1e-14)
    rc, _, err = run(capsys, "sweep", "--h", "0", "--set", "h=1", "--quiet")
    assert rc == 2 and "parameter h given twice (--set)" in err


# --- with the general solvers (run once mi_thermo / steady_state take any PIModel) ---------------


def test_spelled_out_lmg_equals_lmg_at_infinite_N(tmp_path, capsys):
    needs_general_thermo()
    p = load_model(write(tmp_path, LMG_TERMS))
    for kw in ({}, {"h": 0.0, "Gamma": 2.0}):
        a, b = permjax.mi_thermo(p.replace(**kw)), permjax.mi_thermo(LMG().replace(**kw))
        assert abs(float(a.mi) - float(b.mi)) <= 1e-13
    rc, out, _ = run(capsys, "thermo", "--model", tmp_path / "model.toml", "--json")
    assert rc == 0 and abs(json.loads(out)["mi_per_N"] - float(permjax.mi_thermo(LMG()).mi)) <= 1e-13


def test_spelled_out_lmg_equals_lmg_at_finite_N(tmp_path, capsys):
    needs_general_finite()
    path = write(tmp_path, LMG_TERMS)
    p = load_model(path)
    for N in (4, 7):
        assert float(permjax.mi_finite(N, p)) == pytest.approx(float(permjax.mi_finite(N, LMG())), abs=1e-12)
    rc, out, _ = run(capsys, "finite", "--model", path, "--N", "4", "--json")
    assert rc == 0 and json.loads(out)["mi_per_N"] == pytest.approx(0.028341433268, abs=5e-12)


def test_example_files():
    """examples/models: the zoo LMG, the same LMG spelled out, and LMG with local dephasing."""
    import os

    from test_families import lmg_dephased

    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "models")
    zoo, terms, deph = (load_model(os.path.join(here, f"{n}.toml")) for n in ("lmg", "lmg_terms", "lmg_dephased"))
    assert type(zoo) is LMG and values(zoo) == values(LMG())
    same_model(terms.to_model(), LMG().to_model())
    for kw in ({}, {"gamma_phi": 0.3, "h": 0.0}):
        same_model(deph.replace(**kw).to_model(), lmg_dephased(gamma_phi=0.1).replace(**kw).to_model())
