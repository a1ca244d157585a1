"""The mean-field drift in d×d matrices (``DriftMatrix``, docs/theory.md §6), its memory checks, the
stand-in cycle, and spin-s units (``spin_operators``, ``spin_lmg``).

References written here: docs/theory.md §6's dr/dt = −i[h_eff(r), r] + Σ γ D[L] r typed out in numpy on
the dense Gell-Mann basis; linearity of f in the coefficients (its gradient); central
differences (exact for a quadratic); the N = 2, 3 brute force g = 3 f(3) − 2 f(2) of
tests/meanfield_reference.py; long scipy integrations."""

import math
import sys
import tracemalloc

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import permjax
from permjax import PIModel
from permjax.meanfield.attractors import stand_in, stand_in_model
from permjax.meanfield.drift import (DriftMatrix, drift_matrix, drift_polynomial, make_drift,
                                     POLYNOMIAL_MAX_D)
from permjax.models import spin_operators
from permjax.models.pimodel import coefficient
from permjax.models.zoo import LMG, SpinOneLMG, spin_lmg
from permjax.models.zoo import qutrit

from meanfield_reference import TIGHT, mean_field_rate, one_period, terms_of



def reference_drift(terms, d):
    """docs/theory.md §6 typed out: ξ ↦ (d/2) Tr(v_l dr/dt), r = (1 + ξ·v)/d, with
    h_eff = Σ c A + Σ c (⟨A⟩B + ⟨B⟩A) + Σ (iΓ/2)(⟨A†⟩A − ⟨A⟩A†), ⟨X⟩ = Tr(r X)."""
    v = permjax.gell_mann(d)

    def f(xi):
        r = (np.eye(d) + np.tensordot(xi, v, axes=1)) / d
        ev = lambda X: np.trace(r @ X)
        h = np.zeros((d, d), complex)
        for t in terms["hamiltonian"]:
            if len(t) == 2:
                h += t[0] * t[1]
            else:
                c, A, B = t
                h += c * (ev(A) * B + ev(B) * A)
        for G, A in terms["collective"]:
            Ad = A.conj().T
            h += 0.5j * G * (ev(Ad) * A - ev(A) * Ad)
        dr = -1j * (h @ r - r @ h)
        for g, L in terms["local"]:
            LdL = L.conj().T @ L
            dr += g * (L @ r @ L.conj().T - 0.5 * (LdL @ r + r @ LdL))
        return (d / 2) * np.real(np.einsum("ij,lji->l", dr, v))

    return f


def random_terms(d, rng, light=False):
    """Every kind of term: a Hermitian one-body term; two-body (A, A†) with A non-Hermitian and
    (H1, H2) + (H2, H1) (H Hermitian as a whole); complex collective jumps; local jumps with an
    identity component. ``light``: one of each (the d = 10 brute force)."""
    cplx = lambda: rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    herm = lambda: (lambda a: (a + a.conj().T) / 2)(cplx())
    A, H1, H2 = cplx(), herm(), herm()
    c = rng.normal(size=3)
    rate = lambda: abs(rng.normal()) + 0.1
    ham = [(c[0], herm()), (c[1], A, A.conj().T)] + ([] if light else [(c[2], H1, H2), (c[2], H2, H1)])
    return {
        "hamiltonian": ham,
        "collective": [(rate(), cplx())] + ([] if light else [(rate(), cplx())]),
        "local": [(rate(), (0.7 + 0.3j) * np.eye(d) + cplx())] + ([] if light else [(rate(), cplx())]),
    }


def random_states(d, rng, k):
    """k random full-rank density matrices and their Bloch vectors."""
    z = rng.normal(size=(k, d, d)) + 1j * rng.normal(size=(k, d, d))
    r = z @ np.conj(np.swapaxes(z, -1, -2))
    r /= np.trace(r, axis1=-2, axis2=-1)[:, None, None]
    xi = (d / 2) * np.real(np.einsum("kij,lji->kl", r, permjax.gell_mann(d)))
    return r, xi


def single_term(terms, kind, k):
    """The model with only term ``kind``[k], coefficient 1 (∂f/∂c of that term, f being linear)."""
    t = terms[kind][k]
    out = {"hamiltonian": [], "collective": [], "local": []}
    out[kind] = [(1.0,) + tuple(t[1:])]
    return out


@pytest.mark.parametrize("d,seed", [(2, 0), (2, 1), (3, 2), (3, 3), (4, 4)])
def test_matrix_form_equals_the_polynomial_and_spec(d, seed):
    """Value, Jacobian, Df·V and gradient w.r.t. every coefficient: matrix = polynomial = docs/theory.md §6."""
    rng = np.random.default_rng(seed)
    terms = random_terms(d, rng)
    model = PIModel(d, **terms)
    ref = reference_drift(terms, d)
    _, xi = random_states(d, rng, 4)
    n = d * d - 1
    V = rng.normal(size=(4, n, 5))
    w = jnp.asarray(rng.normal(size=n))
    # one compiled function per form: value, Jacobian, Df·V, gradient of w·f(ξ0) w.r.t. the model
    evaluate = lambda build: jax.jit(lambda m, x, V: (build(m)(x), build(m).jacobian(x), build(m).tangent(x, V),
                                                     jax.grad(lambda m: jnp.dot(w, build(m)(x[0])))(m)))
    (vm, jm, tm, gm), (vp, jp, _, gp) = (evaluate(b)(model, jnp.asarray(xi), jnp.asarray(V))
                                         for b in (drift_matrix, drift_polynomial))
    want = np.stack([ref(x) for x in xi])
    scale = np.max(np.abs(want))
    assert np.max(np.abs(np.asarray(vm) - want)) <= 1e-12 * scale
    assert np.max(np.abs(np.asarray(vp) - want)) <= 1e-12 * scale

    # Jacobian: central differences of the quadratic reference are exact up to round-off
    h = 1e-3
    jac_ref = np.stack([np.stack([(ref(x + h * e) - ref(x - h * e)) / (2 * h) for e in np.eye(n)], axis=1)
                        for x in xi])
    jm = np.asarray(jm)
    assert np.max(np.abs(jm - jac_ref)) <= 1e-9 * np.max(np.abs(jac_ref))
    assert np.max(np.abs(jm - np.asarray(jp))) <= 1e-12 * np.max(np.abs(jm))
    assert np.allclose(np.asarray(tm), jm @ V, rtol=0, atol=1e-12 * scale)

    # gradient of w·f(ξ0) w.r.t. each coefficient = w·f_term(ξ0) (f is linear in the coefficients)
    for grad in (gm, gp):
        for kind in ("hamiltonian", "collective", "local"):
            for k, term in enumerate(getattr(grad, kind)):
                want_k = float(np.dot(np.asarray(w), reference_drift(single_term(terms, kind, k), d)(xi[0])))
                assert abs(float(coefficient(term)) - want_k) <= 1e-11 * max(1.0, abs(want_k)), (kind, k)


@pytest.mark.parametrize("d,seed,states", [(5, 5, 3), (10, 6, 1)])
def test_matrix_form_equals_the_n_unit_lindbladian_limit(d, seed, states):
    """d⟨X^(1)⟩/dt on r^{⊗N} from the full N = 2, 3 Lindbladians, g = 3 f(3) − 2 f(2) (docs/theory.md §6),
    against make_drift's form (the matrix form at these d)."""
    rng = np.random.default_rng(seed)
    terms = random_terms(d, rng, light=d > 5)
    model = PIModel(d, **terms)
    f = make_drift(model)
    assert isinstance(f, DriftMatrix) and d > POLYNOMIAL_MAX_D
    v = permjax.gell_mann(d)
    r, xi = random_states(d, rng, states)
    dxi = np.asarray(f(jnp.asarray(xi)))
    for k in range(states):
        g = mean_field_rate(terms, r[k])
        dr = np.tensordot(dxi[k], v, axes=1) / d
        assert np.max(np.abs(dr - g)) <= 1e-12 * max(1.0, np.max(np.abs(g)))


def test_batches_under_vmap_and_jit():
    """A batch of models is a batch of leaves: direct call, vmap over the module, jit, permjax.drift
    and a vmap over the coefficients all equal the per-model drifts."""
    rng = np.random.default_rng(7)
    d, B = 5, 3
    terms = random_terms(d, rng)
    scales = np.linspace(0.5, 1.5, B)
    batched = {kind: [(t[0] * scales,) + tuple(t[1:]) for t in ts] for kind, ts in terms.items()}
    model = PIModel(d, **batched)
    f = drift_matrix(model)
    assert f.K0.shape[0] == B and f.X.shape[0] == B and f.gamma.shape == (B, 2)
    _, xi = random_states(d, rng, B)
    xi = jnp.asarray(xi)
    each = np.stack([np.asarray(drift_matrix(PIModel(d, **{kind: [(t[0] * s,) + tuple(t[1:]) for t in ts]
                                                           for kind, ts in terms.items()}))(xi[b]))
                     for b, s in enumerate(scales)])
    for out in (f(xi), jax.vmap(lambda g, x: g(x))(f, xi), jax.jit(lambda g, x: g(x))(f, xi),
                permjax.drift(xi, model),
                jax.vmap(lambda s, x: drift_matrix(PIModel(d, **{kind: [(t[0] * s,) + tuple(t[1:]) for t in ts]
                                                                   for kind, ts in terms.items()}))(x))(
                    jnp.asarray(scales), xi)):
        assert np.max(np.abs(np.asarray(out) - each)) <= 1e-12 * np.max(np.abs(each))
    jac = np.asarray(jax.vmap(lambda g, x: g.jacobian(x))(f, xi))
    assert np.allclose(np.asarray(f.jacobian(xi)), jac, rtol=0, atol=1e-12 * np.max(np.abs(jac)))


@pytest.mark.parametrize("s", [0.5, 1, 1.5, 4.5, 20])
def test_spin_operators(s):
    Sx, Sy, Sz, Sp, Sm = spin_operators(s)
    d = int(round(2 * s)) + 1
    assert Sz.shape == (d, d)
    comm = lambda a, b: a @ b - b @ a
    for a, b, c in ((Sx, Sy, Sz), (Sy, Sz, Sx), (Sz, Sx, Sy)):
        assert np.max(np.abs(comm(a, b) - 1j * c)) < 1e-12 * s * s
    assert np.max(np.abs(Sx @ Sx + Sy @ Sy + Sz @ Sz - s * (s + 1) * np.eye(d))) < 1e-12 * s * s
    assert np.allclose(np.diag(Sz), s - np.arange(d)) and np.allclose(Sz, np.diag(np.diag(Sz)))
    assert np.allclose(Sp, Sx + 1j * Sy) and np.allclose(Sm, Sp.conj().T)
    assert np.max(np.abs(comm(Sz, Sp) - Sp)) < 1e-12 * s and np.allclose(Sx, Sx.conj().T)
    if s == 0.5:
        for a, b in zip((Sx, Sy, Sz, Sp, Sm), (permjax.sigma_x / 2, permjax.sigma_y / 2, permjax.sigma_z / 2,
                                                permjax.sigma_plus, permjax.sigma_minus)):
            assert np.array_equal(a, b)
    if s == 1:
        for a, b in zip((Sx, Sy, Sz, Sp, Sm), (qutrit.s_x, qutrit.s_y, qutrit.s_z, qutrit.s_plus, qutrit.s_minus)):
            assert np.allclose(a, b, rtol=0, atol=1e-15)


@pytest.mark.parametrize("bad", [0, -0.5, 1 / 3, "x", True, None])
def test_bad_spins_are_refused(bad):
    with pytest.raises(ValueError):
        spin_operators(bad)
    with pytest.raises(ValueError):
        spin_lmg(bad)


def test_spin_lmg_reduces_to_lmg_and_spin_one():
    p = dict(J=2.5, h=0.3, Gamma=1.7, gamma=0.9)
    for fam, other in ((spin_lmg(0.5), LMG), (spin_lmg(1), SpinOneLMG)):
        a, b = fam(**p).to_model(), other(**p).to_model()
        assert a.structure == b.structure
        assert np.allclose(np.asarray(a.coefficients()), np.asarray(b.coefficients()))
    assert spin_lmg("9/2") is spin_lmg(4.5) and spin_lmg(4.5)().to_model().d == 10


def test_memory_checks_refuse_in_one_line_before_allocating():
    """An absurd d: both the n³ polynomial and mi_thermo's n×n stages are refused, in one line
    naming d, with no large allocation (numpy allocations traced)."""
    d = 300
    model = PIModel(d, hamiltonian=[(1.0, np.diag(np.arange(d, dtype=float)))], local=[(1.0, np.eye(d, k=1))])
    tracemalloc.start()
    try:
        for call in (lambda: drift_polynomial(model), lambda: permjax.mi_thermo(model)):
            with pytest.raises(ValueError) as err:
                call()
            msg = str(err.value)
            assert "\n" not in msg and f"d = {d}" in msg and "needs about" in msg, msg
        assert tracemalloc.get_traced_memory()[1] < 50e6
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("d,form", [(2, drift_polynomial), (3, drift_polynomial), (3, drift_matrix),
                                    (5, drift_matrix)])
def test_stand_in_is_a_stable_cycle_aligned_with_the_model(d, form):
    """The stand-in drift, built by the model drift's own constructor and padded alike: its x0
    closes after T, a perturbed state (a state again) returns onto the cycle, and every leaf
    has the model's shape."""
    rng = np.random.default_rng(d)
    model = PIModel(d, hamiltonian=[(1.0, np.diag(np.arange(d, dtype=float)))],
                    local=[(1.0, np.eye(d, k=1)), (0.5, np.eye(d, k=-1)), (0.2, np.diag(rng.normal(size=d)))])
    f, s_f, x0, T = stand_in(form(model), d)
    assert jax.tree.structure(f) == jax.tree.structure(s_f)
    assert [a.shape for a in jax.tree.leaves(f)] == [a.shape for a in jax.tree.leaves(s_f)]
    assert type(s_f) is type(form(stand_in_model(d)))
    g = jax.jit(lambda f, x: f(x))
    rhs = lambda t, x: np.asarray(g(s_f, jnp.asarray(x)))
    x0, T = np.asarray(x0), float(T)
    assert np.max(np.abs(solve_ivp(rhs, (0, T), x0, **TIGHT).y[:, -1] - x0)) < 1e-8
    _, xi = random_states(d, rng, 1)
    x = 0.9 * x0 + 0.1 * xi[0]  # a mixture: a state
    end = solve_ivp(rhs, (0, 40 * T), x, **TIGHT).y[:, -1]
    r = (np.eye(d) + np.tensordot(end, permjax.gell_mann(d), axes=1)) / d
    assert np.max(np.abs(r[2:]), initial=0) < 1e-8 and np.max(np.abs(r[:, 2:]), initial=0) < 1e-8  # levels (0, 1)
    m_z, m_xy = np.real(r[0, 0] - r[1, 1]), 2 * np.abs(r[0, 1])
    assert abs(m_z - 0.5) < 1e-8 and abs(m_xy - 1 / math.sqrt(2)) < 1e-8  # on Eq. 17's circle


@pytest.mark.slow
def test_spin_nine_halves_lmg_against_a_long_scipy_run():
    """d = 10 (spin-9/2 LMG, the matrix form): the cycle's period and I_M/N (Eq. 13) against a
    long DOP853 run of docs/theory.md §6 typed out in numpy, then the period from returns to the plane
    through x ⟂ f(x) and one-period quadratures of ξ and S(r)."""
    fam = spin_lmg(4.5)()
    model = fam.to_model()
    d = 10
    v = permjax.gell_mann(d)
    ref = reference_drift(terms_of(model), d)
    f = lambda t, x: ref(x)
    res = permjax.mi_thermo(fam, starts=1)
    assert res.kind_name == "limit cycle" and float(res.floquet_max) < 1
    T, closure, mi_ref = one_period(f, np.asarray(res.starts)[0], 60, float(res.period), v)
    assert closure < 1e-8  # period 1: it closes
    assert abs(float(res.period) - T) <= 1e-7 * T
    assert abs(float(res.mi) - mi_ref) <= 1e-8
    assert 0 < mi_ref < math.log(d)


@pytest.mark.slow
def test_mi_thermo_forms_agree_with_gradients():
    """The qutrit LMG through mi_thermo with each form forced: the same I_M/N and dI/d𝒥."""
    module = sys.modules["permjax.meanfield.drift"]
    keep = module.POLYNOMIAL_MAX_D
    out = {}
    try:
        for name, cut in (("polynomial", 3), ("matrix", 2)):
            module.POLYNOMIAL_MAX_D = cut
            val, grad = jax.value_and_grad(lambda J: permjax.mi_thermo(SpinOneLMG(J=J), starts=1).mi)(3.0)
            out[name] = (float(val), float(grad))
    finally:
        module.POLYNOMIAL_MAX_D = keep
    (v1, g1), (v2, g2) = out["polynomial"], out["matrix"]
    assert abs(v1 - v2) <= 1e-12 and abs(g1 - g2) <= 1e-9 * max(1.0, abs(g1)) and np.isfinite(g1)
