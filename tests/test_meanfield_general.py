"""N → ∞ for any model: the drift against a brute-force N-unit Lindbladian, LMG through PIModel,
gradients, a qutrit with a known answer, multistability, unfinished solves and bad input.

References written here: the full Lindbladian of N = 2, 3 units (numpy kron) acting on product
states, Eq. 16 typed out, finite differences, long scipy integrations."""

import itertools
import json
import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import permjax
from permjax import LMG, PIModel
from permjax.cli import main
from permjax.meanfield import NOT_RESOLVED

from meanfield_reference import unit_rate as _unit_rate

SX = np.array([[0, 1], [1, 0]], complex)
SY = np.array([[0, -1j], [1j, 0]], complex)
SZ = np.diag([1.0, -1.0]).astype(complex)
SP = np.array([[0, 1], [0, 0]], complex)  # |↑⟩⟨↓|, levels (↑, ↓)
SM = SP.T.copy()


def _random_model(d, rng):
    """Random terms with complex matrices whose H is Hermitian: (c, A, A†), (c, H1, H2) + (c, H2, H1),
    a one-body Hermitian term, two complex collective jumps and two complex local jumps."""
    cplx = lambda: rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    herm = lambda: (lambda a: (a + a.conj().T) / 2)(cplx())
    A, H1, H2 = cplx(), herm(), herm()
    c = rng.normal(size=3)
    return {
        "hamiltonian": [(c[0], herm()), (c[1], A, A.conj().T), (c[2], H1, H2), (c[2], H2, H1)],
        "collective": [(abs(rng.normal()), cplx()), (abs(rng.normal()), cplx())],
        "local": [(abs(rng.normal()), cplx()), (abs(rng.normal()), cplx())],
    }


def _random_state(d, rng):
    z = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    r = z @ z.conj().T
    return r / np.trace(r)


@pytest.mark.parametrize("d,seed", [(2, 0), (2, 1), (3, 2), (3, 3)])
def test_drift_equals_the_n_unit_lindbladian_limit(d, seed):
    """d⟨X^(1)⟩/dt on r^{⊗N} is affine in 1/N: g = 3 f(3) − 2 f(2) is the N → ∞ drift (docs/theory.md §6)."""
    rng = np.random.default_rng(seed)
    terms = _random_model(d, rng)
    model = PIModel(d, **terms)
    v = permjax.gell_mann(d)
    for _ in range(3):
        r = _random_state(d, rng)
        g = 3 * _unit_rate(terms, r, 3) - 2 * _unit_rate(terms, r, 2)
        # affine in 1/N: N = 4 on the same line (a check of the reference itself), for d = 2
        if d == 2:
            g4 = 4 * _unit_rate(terms, r, 4) - 3 * _unit_rate(terms, r, 3)
            assert np.max(np.abs(g4 - g)) < 1e-11
        xi = (d / 2) * np.real(np.einsum("ij,lji->l", r, v))
        dxi = np.asarray(permjax.drift(jnp.asarray(xi), model))
        dr = np.tensordot(dxi, v, axes=1) / d
        assert np.max(np.abs(dr - g)) <= 1e-12 * max(1.0, np.max(np.abs(g)))


def _eq16(m, J, h, G, g):
    mx, my, mz = m[..., 0], m[..., 1], m[..., 2]
    return np.stack([J * my * mz + G * mx * mz / 2 - g * mx / 2,
                     -J * mx * mz - h * mz + G * my * mz / 2 - g * my / 2,
                     h * my - G * (mx**2 + my**2) / 2 + g * (1 - mz)], -1)


def _lmg_by_hand(J, h, G, g):
    return PIModel(2, hamiltonian=[(J, SX / 2, SX / 2), (J, SY / 2, SY / 2), (h, SX / 2)],
                   collective=[(G, SM)], local=[(g, SP)])


def test_lmg_drift_is_eq16_and_lmg_through_pimodel_is_the_lmg_path():
    rng = np.random.default_rng(5)
    m = rng.normal(size=(50, 3)) / 2
    for p in rng.normal(size=(5, 4)) * [3, 1, 1, 1] + [0, 0, 2, 1]:
        p[2:] = np.abs(p[2:])
        ref = _eq16(m, *p)
        assert np.max(np.abs(np.asarray(permjax.drift(m, LMG(*p))) - ref)) <= 1e-13
        assert np.max(np.abs(np.asarray(permjax.drift(m, _lmg_by_hand(*p))) - ref)) <= 1e-13
    for p in [(3.0, 0.5, 1.68, 1.0), (3.0, 0.0, 0.5, 1.0)]:
        a, b = permjax.mi_thermo(LMG(*p)), permjax.mi_thermo(_lmg_by_hand(*p))
        assert a.kind_name == b.kind_name
        assert abs(float(a.mi) - float(b.mi)) <= 1e-13


# --- gradients w.r.t. single terms -------------------------------------------------------------


def test_gradient_wrt_a_two_body_coefficient_and_a_local_rate():
    """LMG plus local dephasing: d mi/d(xx two-body coefficient alone) and d mi/d(dephasing rate)
    against 4th-order central differences."""
    def model(c_xx, g_phi):
        return PIModel(2, hamiltonian=[(c_xx, SX / 2, SX / 2), (3.0, SY / 2, SY / 2), (0.5, SX / 2)],
                       collective=[(1.68, SM)], local=[(1.0, SP), (g_phi, SZ)])

    f = lambda q: permjax.mi_thermo(model(q[0], q[1])).mi
    q = jnp.array([3.0, 0.05])
    g = np.asarray(jax.grad(f)(q))
    eps = 1e-3
    fd = []
    for i in range(2):
        e = np.zeros(2)
        e[i] = eps
        v = [float(f(q + k * e)) for k in (2, 1, -1, -2)]
        fd.append((-v[0] + 8 * v[1] - 8 * v[2] + v[3]) / (12 * eps))
    assert permjax.mi_thermo(model(3.0, 0.05)).kind_name == "limit cycle"
    assert np.all(np.isfinite(g)) and np.max(np.abs(g - fd)) <= 1e-6 * np.max(np.abs(fd))


# --- a qutrit with a known answer --------------------------------------------------------------


def test_lmg_embedded_in_a_qutrit_gives_the_lmg_value():
    """Levels (↑, ↓, a): LMG on (↑, ↓) and a third level that only decays to ↓ (rate 1): the
    third level empties, the attractor is LMG's and S(r) = b(|m|)."""
    def emb(A):
        out = np.zeros((3, 3), complex)
        out[:2, :2] = A
        return out

    decay = np.zeros((3, 3), complex)
    decay[1, 2] = 1.0  # |↓⟩⟨a|
    for p in [(3.0, 0.5, 1.68, 1.0), (3.0, 0.0, 2.5, 1.0)]:
        J, h, G, g = p
        q = PIModel(3, hamiltonian=[(J, emb(SX / 2), emb(SX / 2)), (J, emb(SY / 2), emb(SY / 2)), (h, emb(SX / 2))],
                    collective=[(G, emb(SM))], local=[(g, emb(SP)), (1.0, decay)])
        a, b = permjax.mi_thermo(LMG(*p)), permjax.mi_thermo(q)
        assert a.kind_name == b.kind_name == "limit cycle"
        assert abs(float(a.mi) - float(b.mi)) <= 1e-9
        assert abs(float(a.period) - float(b.period)) <= 1e-9 * float(a.period)
        if h == 0.0:
            assert abs(float(b.mi) - float(permjax.mi_thermo_analytic(LMG(*p)))) <= 1e-9


# --- multistability ----------------------------------------------------------------------------


def _xyz_drift(t, m, Jx, Jy, Jz, g):
    """All-to-all XYZ with local decay γ D[σ−]: dm/dt = (Jx mx, Jy my, Jz mz) × m − γ(mx/2, my/2, 1 + mz)."""
    b = np.array([Jx * m[0], Jy * m[1], Jz * m[2]])
    return np.cross(b, m) - g * np.array([m[0] / 2, m[1] / 2, 1 + m[2]])


def test_two_fixed_points_exchanged_by_a_symmetry_are_one_orbit():
    """XYZ with (Jx − Jz)(Jy − Jz) < −γ²/4: m = (0, 0, −1) is unstable and two mirror-image
    ferromagnetic fixed points coexist, exchanged by the π rotation about z (a symmetry). Every
    start's attractor against a long scipy run; the value is that of their equal mixture,
    b(|m̄|) − b(|m*|) with m̄ the mean of the two (docs/theory.md §7), not 0."""
    p = (1.0, -1.0, 0.0, 0.3)
    res = permjax.mi_thermo(permjax.models.zoo.XYZ(*p))
    jax.block_until_ready(res.mi)
    assert int(res.n_attractors) == 2 and int(res.n_orbits) == 1 and res.kind_name == "fixed point"
    ends = []
    for xi0 in np.asarray(res.starts):
        sol = solve_ivp(_xyz_drift, (0, 2000), xi0, args=p, method="DOP853", rtol=1e-11, atol=1e-13)
        ends.append(sol.y[:, -1])
    ends = np.array(ends)
    np.testing.assert_allclose(np.asarray(res.start_m_mean), ends, rtol=0, atol=1e-8)
    label = np.asarray(res.start_attractor)
    for i, j in itertools.combinations(range(len(ends)), 2):
        assert (label[i] == label[j]) == (np.linalg.norm(ends[i] - ends[j]) < 1e-6)
    pair = ends[np.unique(label)]
    np.testing.assert_allclose(pair[0], pair[1] * [-1, -1, 1], atol=1e-8)  # the π rotation about z
    b = lambda x: -sum(q * math.log(q) for q in ((1 + x) / 2, (1 - x) / 2) if q > 0)
    ref = b(np.linalg.norm(pair.mean(0))) - b(np.linalg.norm(pair[0]))
    assert ref > 0.01 and abs(float(res.mi) - ref) < 1e-8
    (att,) = res.attractors()
    assert att["orbit_size"] == 2 and att["orbit_dim"] == 0 and len(att["attractors"]) == 2 and att["fraction"] == 1.0
    np.testing.assert_allclose(res.m_orbit, [0, 0, pair[0][2]], atol=1e-8)


# --- unfinished stages: NaN, warned, CLI exit status -------------------------------------------


def test_a_transient_that_does_not_finish_is_nan_and_said():
    """A step budget of 16 (320 on the retry) cannot reach the window: NaN, never a number."""
    with pytest.warns(RuntimeWarning, match="did not finish"):
        res = permjax.mi_thermo(LMG(3.0, 0.5, 1.68, 1.0), max_steps=16)
        jax.block_until_ready(res.mi)
    assert math.isnan(float(res.mi)) and not bool(res.finished) and int(res.kind) == NOT_RESOLVED
    assert not bool(res.converged)


def test_issue13_finding1_large_h_is_the_fixed_point_scipy_reaches():
    """J = 3, h = 1000, Γ = 1.68, γ = 1 used to give ln 2 with NaN m: its fixed point, checked
    against a long scipy run (LSODA to t = 300) from the same start."""
    p = (3.0, 1000.0, 1.68, 1.0)
    res = permjax.mi_thermo(LMG(*p))
    assert res.kind_name == "fixed point" and float(res.mi) == 0.0 and bool(res.finished)
    sol = solve_ivp(lambda t, m: _eq16(m, *p), (0, 300), [0.1, 0.0, 0.99], method="LSODA", rtol=1e-10, atol=1e-12)
    assert np.max(np.abs(sol.y[:, -1] - np.asarray(res.m_mean))) < 1e-7


def test_cli_thermo_multistable_exits_3(capsys, tmp_path):
    """Two fixed points that no symmetry relates (the Z₂ pair of the XYZ example tilted by a field):
    no number, exit status 3, both orbits listed."""
    path = tmp_path / "bistable.toml"
    path.write_text("""d = 2
hamiltonian = [
  { coefficient = 1.2, A = "sigma_x/2", B = "sigma_x/2" },
  { coefficient = -2.0, A = "sigma_y/2", B = "sigma_y/2" },
  { coefficient = -0.8, A = "sigma_z/2", B = "sigma_z/2" },
  { coefficient = 0.05, A = "sigma_x/2" },
]
local = [ { rate = 0.25, L = "sigma_minus" }, { rate = 0.05, L = "sigma_z" } ]
""")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rc = main(["thermo", "--model", str(path), "--json"])
    cap = capsys.readouterr()
    assert rc == 3 and "multistable" in cap.err
    rec = json.loads(cap.out)
    assert rec["attractor"] == "multistable" and rec["mi_per_N"] is None and len(rec["attractors"]) == 2


# --- host eigenvalues ------------------------------------------------------------------------


def test_linalg_eigvals_matches_numpy_under_jit_and_vmap():
    a = np.random.default_rng(7).normal(size=(5, 8, 8))
    got = np.asarray(jax.jit(jax.vmap(permjax.linalg.eigvals))(jnp.asarray(a)))
    for g, m in zip(got, a):
        ref = np.linalg.eigvals(m)
        assert np.max(np.abs(np.sort_complex(g) - np.sort_complex(ref))) < 1e-12


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options,needle",
    [({"m0": (0.1, 0.0, 0.99)}, "8 components"), ({"m0": tuple([2.0] + [0.0] * 7)}, "not a state"),
     ({"starts": 0}, "starts"), ({"m0": ((0.1, 0.0), (0.2, 0.1))}, "m0")],
)
def test_bad_options_for_a_qutrit(options, needle):
    with pytest.raises(ValueError, match=needle):
        permjax.mi_thermo(permjax.models.zoo.SpinOneLMG(), **options)


def test_bad_models():
    A = np.array([[0, 1], [0, 0]], complex)
    with pytest.raises(ValueError, match="Hermitian"):
        permjax.mi_thermo(PIModel(2, hamiltonian=[(1.0, A)]))
    with pytest.raises(ValueError, match="3×3"):
        PIModel(2, hamiltonian=[(1.0, np.eye(3))])
    with pytest.raises(ValueError, match=">= 0"):
        PIModel(2, local=[(-1.0, SM)])
    with pytest.raises(ValueError, match="finite"):
        PIModel(2, collective=[(float("nan"), SM)])
    with pytest.raises(ValueError, match="PIModel"):
        permjax.drift(jnp.zeros(3), {"J": 1.0})


def test_options_object_and_fields_are_one_convention():
    """``mi_thermo(model, ThermoOptions(...))`` and the same fields as keywords give the same
    result; keywords replace the object's fields; anything else is a one-line error."""
    from permjax import ThermoOptions

    model = LMG(3.0, 0.0, 1.68, 1.0)
    a = permjax.mi_thermo(model, ThermoOptions(starts=1))
    b = permjax.mi_thermo(model, starts=1)
    c = permjax.mi_thermo(model, ThermoOptions(starts=3), starts=1)
    assert float(a.mi) == float(b.mi) == float(c.mi) and a.starts.shape == c.starts.shape == (1, 3)
    assert abs(float(a.mi) - float(permjax.mi_thermo_analytic(model))) < 1e-9
    with pytest.raises(ValueError, match="ThermoOptions"):
        permjax.mi_thermo(model, {"starts": 1})
