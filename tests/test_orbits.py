"""Symmetries and the N → ∞ limit over symmetry orbits (docs/theory.md §7): the symmetry finder against the
full N-unit Lindbladian (numpy kron), on rotated models; orbit values against closed forms, a plain
scipy integration and finite N; gradients against finite differences; multistability; the CLI.

References written here: the brute-force superoperator of N = 3 units, the laser's mean-field ring
(solved by hand below), scipy integrations of the brute-force mean-field drift, central differences."""

import json
import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.linalg import expm

import permjax
from permjax import PIModel
from permjax.cli import main
from permjax.models.symmetries import symmetries
from permjax.models.zoo import SuperradiantLaser

from meanfield_reference import dissipator, embed, fitted_drift, terms_of

SX = np.array([[0, 1], [1, 0]], complex)
SY = np.array([[0, -1j], [1j, 0]], complex)
SZ = np.diag([1.0, -1.0]).astype(complex)
SP = np.array([[0, 1], [0, 0]], complex)
SM = SP.T.copy()


def pair(field=0.0):
    """Example 2: two fixed points exchanged by the π rotation about z (a field along x breaks it)."""
    h = [(1.2, SX / 2, SX / 2), (-2.0, SY / 2, SY / 2), (-0.8, SZ / 2, SZ / 2)]
    return PIModel(2, hamiltonian=h + ([(field, SX / 2)] if field else []), local=[(0.25, SM), (0.05, SZ)])


def rotated(model, U):
    """Every single-unit matrix A → U A U†: the same physics in another single-unit basis."""
    t = terms_of(model)
    r = lambda A: U @ A @ U.conj().T
    return PIModel(model.d, hamiltonian=[(c, *map(r, ops)) for c, *ops in t["hamiltonian"]],
                   collective=[(g, r(A)) for g, A in t["collective"]], local=[(g, r(L)) for g, L in t["local"]])


def haar(d, seed):
    z = np.random.default_rng(seed).normal(size=(d, d)) + 1j * np.random.default_rng(seed + 1).normal(size=(d, d))
    q, r = np.linalg.qr(z)
    return q * (np.diag(r) / np.abs(np.diag(r)))


def lindbladian(model, N):
    """The full Eq. 1 on N units as a function of ρ (numpy kron)."""
    t = terms_of(model)
    d = model.d
    tot = lambda A: sum(embed(A, i, N, d) for i in range(N))
    H = sum((c * tot(ops[0]) if len(ops) == 1 else (c / N) * tot(ops[0]) @ tot(ops[1]))
            for c, *ops in t["hamiltonian"]) if t["hamiltonian"] else 0
    coll = [(g / N, tot(A)) for g, A in t["collective"]]
    loc = [(g, embed(L, i, N, d)) for g, L in t["local"] for i in range(N)]

    def apply(rho):
        out = -1j * (H @ rho - rho @ H)
        for g, A in coll + loc:
            out = out + g * dissipator(A, rho)
        return out

    return apply


def commutes(model, u, N=3, seed=0):
    """‖U L(U† ρ U) U† − L(ρ)‖ / ‖L(ρ)‖ for U = u^{⊗N} and a random state ρ."""
    L = lindbladian(model, N)
    U = u
    for _ in range(N - 1):
        U = np.kron(U, u)
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(model.d**N,) * 2) + 1j * rng.normal(size=(model.d**N,) * 2)
    rho = z @ z.conj().T
    rho /= np.trace(rho)
    a, b = U @ L(U.conj().T @ rho @ U) @ U.conj().T, L(rho)
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def valid(model):
    sym = symmetries(model)
    mg, me = (np.asarray(m) for m in sym.valid(model.coefficients()))
    return sym.generators[mg], sym.elements[me]


def b(x):
    return -sum(q * math.log(q) for q in ((1 + x) / 2, (1 - x) / 2) if q > 0)


# --- the symmetry finder ----------------------------------------------------------------------


MODELS = {
    "laser": lambda: SuperradiantLaser(omega=0.7).to_model(),
    "pair": pair,
    "xyz": lambda: permjax.XYZ(1.0, -1.5, -1.0, 0.2).to_model(),
    "lmg_h0": lambda: permjax.LMG(h=0.0).to_model(),
    "spin1": lambda: permjax.SpinOneLMG().to_model(),
}


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("seed", [None, 3])
def test_found_symmetries_commute_with_the_lindbladian(name, seed):
    """Every valid candidate (and e^{−iGθ} of each generator) is a symmetry of the full N = 3
    Lindbladian (N = 2 for d = 3) — also after a random rotation of the whole model, where the
    finder must find the rotated symmetries (no list of axes to fall back on)."""
    model = MODELS[name]()
    if seed is not None:
        model = rotated(model, haar(model.d, seed))
    gens, elems = valid(model)
    assert len(gens) + len(elems) >= 1
    N = 3 if model.d == 2 else 2
    for G in gens:
        for theta in (0.3, 1.7):
            assert commutes(model, expm(-1j * theta * G), N) < 1e-12
    for u in elems:
        assert commutes(model, u, N) < 1e-12
        assert np.linalg.norm(u @ u.conj().T - np.eye(model.d)) < 1e-12


def test_the_expected_symmetries_and_no_others():
    """Laser: U(1) about z (any ω); example 2 and XYZ: the π rotation about z; LMG: U(1) about z at
    h = 0 only; the BTC and LMG at h ≠ 0: none. A random rotation U maps each to its conjugate."""
    U = haar(2, 11)
    for model, G_ref, u_ref in [(SuperradiantLaser(omega=2.0).to_model(), SZ, None), (pair(), None, SZ),
                                (permjax.XYZ().to_model(), None, SZ), (permjax.LMG(h=0.0).to_model(), SZ, None)]:
        for m, Uc in ((model, np.eye(2)), (rotated(model, U), U)):
            gens, elems = valid(m)
            if G_ref is not None:
                assert len(gens) == 1
                target = Uc @ G_ref @ Uc.conj().T
                assert abs(abs(np.vdot(gens[0], target)) / np.linalg.norm(target) - 1) < 1e-10  # ∝ rotated σ_z
            if u_ref is not None:
                assert len(gens) == 0 and len(elems) == 1
                target = Uc @ u_ref @ Uc.conj().T
                assert abs(abs(np.trace(elems[0].conj().T @ target)) - 2) < 1e-10  # equal up to a phase
    for model in (permjax.BTC().to_model(), permjax.LMG().to_model(), pair(0.05)):
        gens, elems = valid(model)
        assert len(gens) == 0 and len(elems) == 0
        np.testing.assert_allclose(np.asarray(symmetries(model).twirl(model.coefficients())), np.eye(3), atol=1e-12)


def test_symmetry_masks_are_traced_values():
    """Under jit and vmap the candidates are static and whether they hold is computed from the
    traced coefficients: LMG's U(1) holds at h = 0 of a sweep crossing it, nowhere else."""
    h = jnp.array([-0.2, 0.0, 0.3])

    @jax.jit
    @jax.vmap
    def masks(hh):
        m = permjax.LMG(3.0, hh, 1.68, 1.0).to_model()
        return symmetries(m).valid(m.coefficients())[0]

    np.testing.assert_array_equal(np.asarray(masks(h))[:, 0], [False, True, False])


# --- orbit values -----------------------------------------------------------------------------


def laser_ring_value(w, G, gamma=0.0, gphi=0.0):
    """b(m_z) − b(|m|) on the ring m_z = (w + γ + 4γ_φ)/Γ, m_xy² = 2(w(1 − m_z) − γ(1 + m_z))/Γ, the
    fixed points of dm_z/dt = −Γ m_xy²/2 + w(1 − m_z) − γ(1 + m_z), ṁ_xy = (Γ m_z − w − γ − 4γ_φ) m_xy/2."""
    mz = (w + gamma + 4 * gphi) / G
    mxy2 = 2 * (w * (1 - mz) - gamma * (1 + mz)) / G
    return b(mz) - b(math.sqrt(mz**2 + mxy2))


def test_laser_ring_equals_its_rotating_cycle():
    """ω J_z commutes with the whole Lindbladian: the ring of fixed points (ω = 0, averaged over its
    U(1) orbit) and the cycle (ω ≠ 0, averaged over time) give the same I_M/N, the closed form."""
    ref = laser_ring_value(0.3, 1.0)
    values = {}
    for omega in (0.0, 0.7, 2.0):
        res = permjax.mi_thermo(SuperradiantLaser(omega=omega))
        values[omega] = float(res.mi)
        assert res.kind_name == ("fixed point" if omega == 0 else "limit cycle") and int(res.n_orbits) == 1
        assert res.orbit == {"size": 1, "dim": 1 if omega == 0 else 0}
        np.testing.assert_allclose(res.m_orbit, [0, 0, 0.3], atol=1e-9)
    assert max(abs(v - ref) for v in values.values()) <= 1e-9
    dephased = permjax.mi_thermo(SuperradiantLaser(omega=0.0, w=0.4, gamma=0.02, gamma_phi=0.01))
    assert abs(float(dephased.mi) - laser_ring_value(0.4, 1.0, 0.02, 0.01)) <= 1e-9


def test_laser_finite_N_is_the_same_for_every_omega():
    """ω J_z commutes with L, so the finite-N steady state does not depend on ω."""
    a = permjax.mi_finite(10, SuperradiantLaser(omega=0.0))
    b_ = permjax.mi_finite(10, SuperradiantLaser(omega=0.7))
    assert abs(float(a) - float(b_)) <= 1e-10 and float(a) > 0.03


def test_pair_orbit_value_against_a_plain_scipy_integration():
    """Example 2: the brute-force mean-field drift (N = 2, 3 Lindbladians extrapolated) integrated
    by scipy from the two mirror starts reaches the two fixed points; the orbit value is
    b(|m̄|) − b(|m*|) with m̄ their mean."""
    model = pair()
    f = fitted_drift(terms_of(model), permjax.gell_mann(2))
    ends = [solve_ivp(f, (0, 3000), x0, method="DOP853", rtol=1e-11, atol=1e-13).y[:, -1]
            for x0 in ([0.5, 0.5, 0.0], [-0.5, -0.5, 0.0])]
    assert np.linalg.norm(ends[0] - ends[1]) > 0.5
    ref = b(np.linalg.norm(np.mean(ends, axis=0))) - b(np.linalg.norm(ends[0]))
    res = permjax.mi_thermo(model)
    assert res.kind_name == "fixed point" and res.orbit == {"size": 2, "dim": 0}
    assert abs(float(res.mi) - ref) < 1e-8 and ref > 0.05


def test_random_rotations_leave_every_value_unchanged():
    """The same physics in a rotated single-unit basis: the same I_M/N (the starts, not rotated,
    may land on other members of an orbit)."""
    for model in (SuperradiantLaser().to_model(), pair(), permjax.LMG().to_model(),
                  permjax.XYZ(1.0, -1.5, -1.0, 0.2).to_model(), pair(0.05)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # pair(0.05) is multistable, and says so
            a = permjax.mi_thermo(model, starts=6)
            r = permjax.mi_thermo(rotated(model, haar(2, 5)), starts=6)
        assert a.kind_name == r.kind_name
        if a.kind_name == "multistable":
            assert math.isnan(float(r.mi)) and int(r.n_orbits) == int(a.n_orbits) == 2
        else:
            assert abs(float(a.mi) - float(r.mi)) <= 1e-8


def test_a_field_that_breaks_the_symmetry_is_multistable():
    """A field along x tilts example 2: two stable fixed points no symmetry relates. The mean field
    cannot weigh them, so I_M/N is NaN ("multistable", said in a warning) with each orbit listed;
    its derivative is NaN too."""
    with pytest.warns(RuntimeWarning, match="multistable"):
        res = permjax.mi_thermo(pair(0.05), starts=8)
        jax.block_until_ready(res.mi)
    assert res.kind_name == "multistable" and math.isnan(float(res.mi)) and not bool(res.converged)
    orbits = res.attractors()
    assert len(orbits) == 2 and all(o["kind"] == "fixed point" and o["mi"] == 0.0 for o in orbits)
    assert abs(sum(o["fraction"] for o in orbits) - 1) < 1e-15
    f = fitted_drift(terms_of(pair(0.05)), permjax.gell_mann(2))
    for o in orbits:  # each is a fixed point of the brute-force drift
        assert np.max(np.abs(f(0, np.array(o["m_mean"])))) < 1e-9
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        g = jax.grad(lambda e: permjax.mi_thermo(pair(e), starts=8).mi)(0.05)
    assert math.isnan(float(g))


def test_a_sweep_through_the_symmetric_point_under_jit_and_vmap():
    """The laser with a field ε σ_x/2: at ε = 0 the U(1) ring (its orbit value), at ε ≠ 0 no
    symmetry — one compiled sweep, the mask decided per point."""
    def model(eps):
        return PIModel(2, hamiltonian=[(eps, SX / 2)], collective=[(1.0, SM)], local=[(0.3, SP)])

    eps = jnp.array([0.0, 0.05])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = jax.jit(jax.vmap(lambda e: permjax.mi_thermo(model(e))))(eps)
        single = [permjax.mi_thermo(model(float(e))) for e in eps]
    assert abs(float(res.mi[0]) - laser_ring_value(0.3, 1.0)) < 1e-9
    for i, one in enumerate(single):
        assert int(res.kind[i]) == int(one.kind)
        assert (math.isnan(float(res.mi[i])) and math.isnan(float(one.mi))) or abs(float(res.mi[i]) - float(one.mi)) < 1e-10


# --- gradients through the orbit average ------------------------------------------------------


def test_gradients_through_a_ring_and_a_pair_match_finite_differences():
    """The ring's Goldstone direction is projected out of the implicit solve: d I_M/N / dw of the
    laser at ω = 0 against the derivative of the closed form; example 2 against central differences."""
    g = float(jax.grad(lambda w: permjax.mi_thermo(SuperradiantLaser(omega=0.0, w=w)).mi)(0.3))
    e = 1e-6
    fd = (laser_ring_value(0.3 + e, 1.0) - laser_ring_value(0.3 - e, 1.0)) / (2 * e)
    assert abs(g - fd) < 1e-7 * abs(fd)

    def pair_mi(c):
        return permjax.mi_thermo(PIModel(2, hamiltonian=[(c[0], SX / 2, SX / 2), (-2.0, SY / 2, SY / 2),
                                                         (-0.8, SZ / 2, SZ / 2)],
                                         local=[(c[1], SM), (0.05, SZ)])).mi

    c = jnp.array([1.2, 0.25])
    g = np.asarray(jax.grad(pair_mi)(c))
    fd = [(float(pair_mi(c + e * v)) - float(pair_mi(c - e * v))) / (2 * e) for v in np.eye(2)]
    np.testing.assert_allclose(g, fd, rtol=1e-6)


# --- finite N approaches the orbit value -------------------------------------------------------


@pytest.mark.slow
def test_finite_N_approaches_the_pair_orbit_value():
    """Example 2: I_M/N at N = 10, 20, 40 against the orbit value (not the single fixed point's 0):
    the distance shrinks by about half per doubling of N; a + c/N through the points extrapolates to
    the orbit value within the fit's last step."""
    target = float(permjax.mi_thermo(pair()).mi)
    Ns = np.array([10, 20, 40])
    values = np.array([float(permjax.mi_finite(int(N), pair())) for N in Ns])
    dist = target - values
    assert np.all(dist > 0) and np.all(np.diff(dist) < 0)
    ratios = dist[1:] / dist[:-1]
    assert np.all((ratios > 0.35) & (ratios < 0.75)), ratios
    a, c = np.polyfit(1.0 / Ns[1:], values[1:], 1)[::-1]
    assert abs(a - target) < dist[-1] / 2


# --- the CLI ----------------------------------------------------------------------------------


def test_cli_prints_the_kind_and_the_orbit(capsys, tmp_path):
    path = tmp_path / "laser.toml"
    path.write_text('family = "laser"\n[parameters]\nomega = 0.0\n')
    assert main(["thermo", "--model", str(path), "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["attractor"] == "fixed point" and rec["orbit_dim"] == 1
    assert abs(rec["mi_per_N"] - laser_ring_value(0.3, 1.0)) < 1e-9
    assert main(["thermo", "--model", str(path)]) == 0
    out = capsys.readouterr().out
    assert "continuous" in out and "ring" in out
    xyz = tmp_path / "xyz.toml"
    xyz.write_text('family = "xyz"\n[parameters]\nJx = 1.0\nJy = -1.5\nJz = -1.0\ngamma = 0.2\n')
    assert main(["thermo", "--model", str(xyz)]) == 0
    out = capsys.readouterr().out
    assert "2 attractors related by a symmetry" in out and "fixed point" in out
