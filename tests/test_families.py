"""Sweeps and maximize with user families and PIModels: names, defaults, domains and bounds from the family.

References: the N = 1 steady state of a driven, decaying, dephased two-level unit in closed form,

    ρ_↑↑ = (Ω²/2)(γ₂/κ) / (Δ² + γ₂² + Ω²γ₂/κ),    γ₂ = κ/2 + 2γ_φ,

maximal over the dephasing rate at γ₂ = |Δ| (γ_φ* = (|Δ| − κ/2)/2), checked here against the
plain-numpy Lindblad solve of tests/bruteforce.py; and grid scans.
"""

import bruteforce as bf
import jax
import numpy as np
import pytest
import scipy.sparse as sp
from general_models import closed_form, needs_general_finite, needs_general_thermo, upper_population
from grid_reference import refined_grid_argmax

import permjax
from permjax import LMG, PIModel, sigma_minus, sigma_plus, sigma_x, sigma_y, sigma_z


@permjax.family(defaults={"Delta": 2.0, "Omega": 1.0, "kappa": 1.0, "gamma_phi": 0.1},
                domain={"kappa": ">=0", "gamma_phi": ">=0"}, bounds={"gamma_phi": (0.0, 3.0)},
                optimize=("gamma_phi",))
def driven_atom(Delta, Omega, kappa, gamma_phi):
    """Detuned drive, local decay κ and local dephasing γ_φ D[σ_z]: independent units."""
    return PIModel(2, hamiltonian=[(Delta, sigma_z / 2), (Omega, sigma_x / 2)],
                   local=[(kappa, sigma_minus), (gamma_phi, sigma_z)])


def test_closed_form_is_the_lindblad_steady_state():
    """The reference itself, against the sparse 4 × 4 Lindblad solve of tests/bruteforce.py."""
    S = bf.SIGMA
    for Delta, Omega, kappa, gp in [(2.0, 1.0, 1.0, 0.3), (0.5, 2.0, 1.5, 0.0), (3.0, 0.7, 0.4, 1.2)]:
        H = sp.csr_matrix(Delta * S["z"] / 2 + Omega * S["x"] / 2)
        L = bf.liouvillian(H, [sp.csr_matrix(np.sqrt(kappa) * S["-"]), sp.csr_matrix(np.sqrt(gp) * S["z"])])
        assert bf.steady_state(L, 2)[0, 0].real == pytest.approx(closed_form(Delta, Omega, kappa, gp), abs=1e-14)
        assert float(upper_population(driven_atom(Delta, Omega, kappa, gp))) == pytest.approx(
            closed_form(Delta, Omega, kappa, gp), abs=1e-14)


def test_grid_and_sweep_of_a_user_family():
    gp, omega = np.linspace(0.0, 2.0, 9), [0.5, 1.5]
    g = permjax.grid(family=driven_atom, gamma_phi=gp, Omega=omega)
    assert type(g) is driven_atom and g.shape == (9, 2)
    np.testing.assert_array_equal(g.Delta, np.full((9, 2), 2.0))  # the family's default
    res = permjax.sweep(upper_population, g, chunk_size=5, progress=False)
    want = closed_form(2.0, np.array(omega)[None, :], 1.0, gp[:, None])
    np.testing.assert_allclose(res.outputs, want, rtol=0, atol=1e-14)
    cols = res.columns()
    assert list(cols) == ["Delta", "Omega", "kappa", "gamma_phi", "value"]
    np.testing.assert_array_equal(cols["gamma_phi"], np.repeat(gp, 2))
    # a dict of axes with a "family" key, a list of points, and the sequential path give the same
    same = permjax.sweep(upper_population, {"family": driven_atom, "gamma_phi": gp, "Omega": omega}, progress=False)
    np.testing.assert_array_equal(same.outputs, res.outputs)
    listed = permjax.sweep(upper_population, [driven_atom(gamma_phi=x, Omega=0.5) for x in gp], progress=False)
    np.testing.assert_array_equal(listed.outputs, res.outputs[:, 0])
    seq = permjax.sweep_sequential(lambda m, c: (upper_population(m), c), g, 0.0, chunk_size=4, progress=False)
    np.testing.assert_allclose(seq.outputs, res.outputs, rtol=0, atol=1e-15)
    # a point as the base: its values fill the parameters not named
    base = driven_atom(Delta=3.0)
    np.testing.assert_array_equal(permjax.grid(family=base, gamma_phi=[0.1, 0.2]).Delta, [3.0, 3.0])


@pytest.mark.parametrize("axes,match", [
    ({"J": [1.0]}, "unknown driven_atom parameter"),
    ({"gamma_phi": [0.1, -0.1]}, "gamma_phi must be >= 0"),
    ({"kappa": []}, "empty"),
    ({"Omega": [1.0, np.nan]}, "finite"),
])
def test_bad_family_grids_raise(axes, match):
    with pytest.raises(ValueError, match=match):
        permjax.grid(family=driven_atom, **axes)
    with pytest.raises(ValueError, match="one family"):
        permjax.sweep(upper_population, [driven_atom(), LMG()], progress=False)


def test_maximize_over_a_local_dephasing_rate():
    """The family's OPTIMIZE and BOUNDS are the defaults: maximize(objective, point) searches γ_φ ∈ [0, 3]."""
    res = permjax.maximize(upper_population, driven_atom(), starts=3)
    assert res.over == ("gamma_phi",) and res.converged
    assert res.params["gamma_phi"] == pytest.approx((2.0 - 0.5) / 2, abs=1e-7)  # γ₂* = Δ
    assert float(res.value) == pytest.approx(closed_form(2.0, 1.0, 1.0, 0.75), abs=1e-14)
    assert type(res.model) is driven_atom and float(res.model.gamma_phi) == res.params["gamma_phi"]
    assert res.as_dict()["model"]["Delta"] == 2.0
    # two parameters, one of them without a default box: explicit bounds for both
    res2 = permjax.maximize(upper_population, driven_atom(Delta=3.0), over=("gamma_phi", "kappa"),
                            bounds={"gamma_phi": (0.0, 3.0), "kappa": (0.5, 2.0)}, starts=4)
    kappa = res2.params["kappa"]
    assert res2.params["gamma_phi"] == pytest.approx((3.0 - kappa / 2) / 2, abs=1e-6)
    # and the value matches a grid scan over γ_φ at the κ found
    gp, v = refined_grid_argmax(lambda x: closed_form(3.0, 1.0, kappa, x), 0.0, 3.0)
    assert float(res2.value) >= v - 1e-12


@pytest.mark.parametrize("kw,match", [
    ({"over": ("kappa",)}, "bounds needed for kappa: driven_atom gives no default search box"),
    ({"over": ("gamma_phi",), "bounds": {"gamma_phi": (-1.0, 1.0)}}, "gamma_phi must be >= 0"),
    ({"over": ("J",)}, "over must be distinct names among"),
])
def test_maximize_bad_family_input(kw, match):
    with pytest.raises(ValueError, match=match):
        permjax.maximize(upper_population, driven_atom(), **kw)


def test_family_without_default_over_needs_over():
    bare = permjax.family(lambda a=1.0: PIModel(2, hamiltonian=[(a, sigma_x)], local=[(1.0, sigma_minus)]), name="bare")
    with pytest.raises(ValueError, match="names no default parameters to optimise"):
        permjax.maximize(upper_population, bare())


def test_pimodel_sweep_and_maximize_by_term():
    """A bare PIModel: parameters are its terms' coefficients, hamiltonian[k] / collective[k] / local[k]."""
    m = driven_atom().to_model()
    g = permjax.grid(family=m, **{"local[1]": [0.0, 0.5, 1.0]})
    assert isinstance(g, PIModel) and g.shape == (3,)
    res = permjax.sweep(upper_population, g, progress=False)
    assert list(res.columns())[:4] == ["hamiltonian[0]", "hamiltonian[1]", "local[0]", "local[1]"]
    np.testing.assert_allclose(res.outputs, closed_form(2.0, 1.0, 1.0, np.array([0.0, 0.5, 1.0])), atol=1e-14)
    best = permjax.maximize(upper_population, m, over="local[1]", bounds={"local[1]": (0.0, 3.0)}, starts=2)
    assert best.converged and best.params["local[1]"] == pytest.approx(0.75, abs=1e-7)
    assert isinstance(best.model, PIModel) and float(best.model.local[1].rate) == best.params["local[1]"]
    with pytest.raises(ValueError, match="local term 1: rate must be >= 0"):
        permjax.maximize(upper_population, m, over="local[1]", bounds={"local[1]": (-1.0, 1.0)})
    with pytest.raises(ValueError, match="no default search box"):
        permjax.maximize(upper_population, m, over="local[1]")
    with pytest.raises(ValueError, match="one family with the same terms"):
        permjax.sweep(upper_population, [m, LMG().to_model()], progress=False)


def test_solver_rule_takes_models():
    """The finite-N solver rule takes models: a family point that is not LMG never gets LMG's h = 0 path."""
    from permjax.solvers.steady import batch_method

    assert batch_method(6, permjax.grid(h=0.0, Gamma=[1.0, 2.0])) == "rates"
    assert batch_method(6, permjax.grid(h=[0.0, 0.5])) == "direct"
    assert batch_method(6, permjax.grid(family=driven_atom, gamma_phi=[0.0, 0.1])) == "direct"
    assert batch_method(30, permjax.grid(h=[0.0, 0.5])) == "gmres"
    res = permjax.sweep(upper_population, {"family": driven_atom, "kappa": [1.0, 2.0]}, progress=False)
    assert len(jax.tree.leaves(res)) == 5  # four parameters + the output


# --- with the general solvers (run once mi_thermo / steady_state take any PIModel) ---------------


@permjax.family(defaults={"J": 3.0, "h": 0.5, "Gamma": 1.68, "gamma": 1.0, "gamma_phi": 0.0},
                domain={"Gamma": ">=0", "gamma": ">0", "gamma_phi": ">=0"}, bounds={"gamma_phi": (0.0, 0.4)},
                optimize=("gamma_phi",))
def lmg_dephased(J, h, Gamma, gamma, gamma_phi):
    """LMG with local dephasing γ_φ D[σ_z]."""
    return PIModel(2, hamiltonian=[(J, sigma_x / 2, sigma_x / 2), (J, sigma_y / 2, sigma_y / 2), (h, sigma_x / 2)],
                   collective=[(Gamma, sigma_minus)], local=[(gamma, sigma_plus), (gamma_phi, sigma_z)])


@pytest.mark.slow
def test_thermo_sweep_and_maximize_over_dephasing():
    needs_general_thermo()
    # γ_φ = 0 is LMG
    lmg = permjax.sweep(permjax.mi_thermo, permjax.grid(Gamma=[1.3, 1.68]), progress=False).outputs.mi
    ext = permjax.sweep(permjax.mi_thermo, permjax.grid(family=lmg_dephased, Gamma=[1.3, 1.68]), progress=False)
    np.testing.assert_allclose(ext.outputs.mi, lmg, rtol=0, atol=1e-13)
    # dephasing only lowers I_M/N here: the maximum over γ_φ ∈ [0, 0.4] sits on the bound γ_φ = 0,
    # which the search (interior variables) approaches from inside: its value is LMG's to round-off
    # of the approach, and a grid of the same sweep does not increase
    grid_vals = permjax.sweep(permjax.mi_thermo, permjax.grid(family=lmg_dephased, gamma_phi=[0.0, 0.1, 0.2, 0.4]),
                              progress=False).outputs.mi
    assert grid_vals[1] < grid_vals[0] and np.all(np.diff(grid_vals) <= 0)  # the cycle dies by γ_φ = 0.2: I_M/N = 0
    # (a start on the fixed-point plateau, I_M/N = 0 with zero gradient, would stay there)
    res = permjax.maximize(permjax.mi_thermo, lmg_dephased(), starts={"gamma_phi": [0.05]})
    assert res.params["gamma_phi"] < 1e-3
    assert lmg[1] - 1e-8 <= float(res.value) <= lmg[1] + 1e-13


def test_finite_sweep_of_a_family_matches_bruteforce():
    needs_general_finite()
    S = bf.SIGMA
    N, gp = 4, [0.0, 0.3]
    res = permjax.sweep_finite(N, permjax.grid(family=lmg_dephased, gamma_phi=gp), progress=False)
    for k, x in enumerate(gp):
        H = bf.lmg_hamiltonian(N, 3.0, 0.5)
        c = bf.lmg_collapse(N, 1.68, 1.0) + [sp.csr_matrix(np.sqrt(x) * bf.site_operator(S["z"], i, N))
                                              for i in range(N)]
        rho = bf.steady_state(bf.liouvillian(H, c), 2**N)
        assert float(res.outputs["mi"][k]) == pytest.approx(bf.mutual_information(rho, N) / N, abs=1e-10)


def test_grid_of_a_family_with_a_parameter_without_default():
    @permjax.family
    def drive(omega, kappa=1.0):
        return PIModel(2, hamiltonian=[(omega, sigma_x / 2)], local=[(kappa, sigma_minus)])

    g = permjax.grid(family=drive, omega=[0.5, 1.0, 2.0])
    np.testing.assert_allclose(permjax.sweep(upper_population, g, progress=False).outputs,
                               closed_form(0.0, np.array([0.5, 1.0, 2.0]), 1.0, 0.0), rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match="omega has no default"):
        permjax.grid(family=drive, kappa=[1.0, 2.0])
