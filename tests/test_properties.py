"""Property-based tests (hypothesis) over random valid models and random invalid inputs.

Valid LMG models at small N (the finite-N solver, N ∈ {3, 4, 6}: fixed sizes so compiled
solves are reused):

* every steady state is a state: Σ_J Tr ρ_J = 1, each block Hermitian, eigenvalues ≥ −1e-10
  (checked here with numpy on the returned blocks), 0 ≤ I_M/N ≤ ln 2;
* it agrees with a plain-numpy 2^N brute force (``bruteforce.py``) at N ≤ 4;
* 𝒥 → −𝒥 maps the steady state to U ρ* U† (U the π rotation about z): m_x → −m_x, m_y and m_z
  and I_M/N unchanged;
* multiplying H and every rate by λ > 0 multiplies the Liouvillian by λ: I_M/N unchanged at
  finite N, and for N → ∞ (Eq. 18 at h = 0, ``mi_thermo_analytic``).

Random invalid inputs to the API raise ``ValueError``; to the command line (``permjax.cli.main``
in-process) they exit with status 2 and one line ``permjax: error: ...``, never a traceback.

Example counts: the ``ci`` profile (default) runs a fixed, derandomised set sized for the
suite's budget; ``PERMJAX_HYPOTHESIS=long`` runs ten times as many, with a random seed.
"""

import contextlib
import io
import math
import os

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import permjax  # noqa: E402
from permjax.cli import main  # noqa: E402

PROFILE = os.environ.get("PERMJAX_HYPOTHESIS", "ci")
if PROFILE not in ("ci", "long"):
    raise ValueError(f"PERMJAX_HYPOTHESIS must be 'ci' or 'long', got {PROFILE!r}")
SCALE = 10 if PROFILE == "long" else 1


def examples(n: int):
    """Settings for ``n`` examples in the ci profile (10 n in the long one)."""
    return settings(max_examples=n * SCALE, derandomize=PROFILE == "ci", deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


SIZES = (3, 4, 6)
LN2 = math.log(2)

finite = dict(allow_nan=False, allow_infinity=False)
couplings = st.floats(-5.0, 5.0, **finite)
fields = st.one_of(st.just(0.0), st.floats(-2.0, 2.0, **finite))  # h = 0: the rate equations
decays = st.floats(0.0, 5.0, **finite)
pumps = st.floats(0.2, 3.0, **finite)


@st.composite
def models(draw):
    return permjax.LMG(J=draw(couplings), h=draw(fields), Gamma=draw(decays), gamma=draw(pumps))


def check_state(st_, N):
    """Trace, Hermiticity, positivity of every block, I_M/N in [0, ln 2]; returns I_M/N."""
    lay = st_.layout
    blocks = np.asarray(st_.blocks)
    if st_.is_diagonal:  # populations p[j, a] of a diagonal state (h = 0)
        blocks = np.einsum("ja,ab->jab", blocks, np.eye(lay.n_M))
    trace = 0.0
    for j in range(lay.n_J):
        idx = np.flatnonzero(lay.mask[j])
        b = blocks[j][np.ix_(idx, idx)]
        assert np.max(np.abs(b - b.conj().T)) <= 1e-10
        assert np.linalg.eigvalsh(0.5 * (b + b.conj().T)).min() >= -1e-10
        trace += np.trace(b).real
    assert abs(trace - 1.0) <= 1e-10
    mi = float(permjax.mutual_information(st_)) / N
    # the state is solved to a relative residual of 1e-12; near a pure state (Γ = 0: all up) an
    # entropy term x ln x with x ~ 1e-12 is ~3e-11, so I_M/N is known to ~1e-11 (the long profile
    # found -1.2e-12 at Γ = 0, h = 6e-142, γ = 0.2, N = 6): the same -1e-10 as the eigenvalues
    assert -1e-10 <= mi <= LN2 + 1e-10
    return mi


@examples(12)
@given(N=st.sampled_from(SIZES), model=models())
def test_steady_state_invariants_and_brute_force(N, model):
    s = permjax.steady_state(N, model)
    mi = check_state(s, N)
    if N <= 4:
        import bruteforce

        p = model.as_dict()
        rho = bruteforce.lmg_steady_state(N, p["J"], p["h"], p["Gamma"], p["gamma"])
        assert mi == pytest.approx(bruteforce.mutual_information(rho, N) / N, abs=1e-9)
        np.testing.assert_allclose(np.asarray(permjax.magnetization(s)), bruteforce.magnetization(rho, N), atol=1e-9)


@examples(8)
@given(N=st.sampled_from(SIZES), model=models())
def test_J_to_minus_J_flips_m_x(N, model):
    a = permjax.steady_state(N, model)
    b = permjax.steady_state(N, model.replace(J=-model.J))
    ma, mb = np.asarray(permjax.magnetization(a)), np.asarray(permjax.magnetization(b))
    np.testing.assert_allclose(mb, ma * np.array([-1.0, 1.0, 1.0]), atol=1e-10)
    assert check_state(b, N) == pytest.approx(check_state(a, N), abs=1e-10)


@examples(8)
@given(N=st.sampled_from(SIZES), model=models(), lam=st.floats(0.1, 10.0, **finite))
def test_scaling_H_and_rates_leaves_mi_unchanged(N, model, lam):
    p = model.as_dict()
    scaled = permjax.LMG(J=lam * p["J"], h=lam * p["h"], Gamma=lam * p["Gamma"], gamma=lam * p["gamma"])
    a, b = permjax.steady_state(N, model), permjax.steady_state(N, scaled)
    assert check_state(b, N) == pytest.approx(check_state(a, N), abs=1e-10)


@examples(25)
@given(Gamma=decays, gamma=pumps, lam=st.floats(1e-3, 1e3, **finite), J=couplings)
def test_scaling_in_the_thermodynamic_limit(Gamma, gamma, lam, J):
    """N → ∞ at h = 0 (Eq. 18): I_M/N depends on Γ/γ only, and lies in [0, ln 2]."""
    a = float(permjax.mi_thermo_analytic(permjax.LMG(J=J, h=0.0, Gamma=Gamma, gamma=gamma)))
    b = float(permjax.mi_thermo_analytic(permjax.LMG(J=lam * J, h=0.0, Gamma=lam * Gamma, gamma=lam * gamma)))
    assert b == pytest.approx(a, abs=1e-12)
    assert 0.0 <= a <= LN2


# --- invalid inputs --------------------------------------------------------------------------

not_numbers = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "abc", "", "1e400", "0x", "1..2", "--", "½"]),
    st.text(alphabet="xyz!@#$ ", min_size=1, max_size=6),
)


@st.composite
def bad_argv(draw):
    """An argument vector with exactly one invalid item."""
    kind = draw(st.sampled_from(["model", "rate", "N", "tol", "maxiter", "unknown", "range", "figure"]))
    if kind == "model":
        sub = draw(st.sampled_from(["thermo", "finite", "sweep", "optimize", "ground"]))
        flag = draw(st.sampled_from(["--J", "--h"] + (["--Gamma", "--gamma"] if sub != "ground" else [])))
        return [sub, flag, draw(not_numbers)]
    if kind == "rate":
        sub = draw(st.sampled_from(["thermo", "finite", "sweep", "optimize"]))
        if draw(st.booleans()):
            return [sub, "--Gamma", repr(draw(st.floats(-1e6, -1e-9, **finite)))]
        return [sub, "--gamma", repr(draw(st.floats(-1e6, 0.0, **finite)))]
    if kind == "N":
        sub = draw(st.sampled_from(["finite", "sweep", "optimize", "ground"]))
        low = 0 if sub == "ground" else 1
        bad = draw(st.one_of(st.integers(-10**6, low).map(str), st.sampled_from(["2.5", "1e3", "ten", "nan", ""])))
        return [sub, "--N", bad]
    if kind == "tol":
        bad = draw(st.one_of(st.floats(0, 9.9e-15, **finite), st.floats(1.0, 1e6, **finite),
                             st.floats(-1.0, 0.0, **finite)))
        return ["finite", "--N", "4", "--tol", repr(bad)]
    if kind == "maxiter":
        return ["finite", "--N", "4", "--maxiter", draw(st.sampled_from(["0", "-3", "2.5", "many"]))]
    if kind == "unknown":
        return [draw(st.sampled_from(["thermo", "finite", "sweep", "ground", "figure"])), "--bogus", "1"]
    if kind == "range":
        flag = draw(st.sampled_from(["--J", "--h", "--Gamma"]))
        return ["sweep", flag, draw(st.sampled_from(["1:2", "1:2:0", "1:2:-3", "1:2:3:4", "1,,2", "a:b:3", "1:nan:3"]))]
    return ["figure", draw(st.sampled_from(["3", "1c", "", "--quick"]))]


@examples(60)
@given(argv=bad_argv())
def test_invalid_cli_input_is_one_line_exit_2(argv):
    out_buf, err_buf = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out_buf), contextlib.redirect_stderr(err_buf):
        rc = main(argv)
    out, err = out_buf.getvalue(), err_buf.getvalue()
    assert rc == 2, (argv, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("permjax: error:"), (argv, err)


@st.composite
def bad_steady_state_call(draw):
    """Keyword arguments of steady_state with one invalid entry."""
    kw = {"N": 4, "model": permjax.LMG(3.0, 0.5, 1.68, 1.0)}
    which = draw(st.sampled_from(["N", "tol", "maxiter", "method", "on_failure", "x0", "model"]))
    if which == "N":
        kw["N"] = draw(st.one_of(st.integers(-100, 1), st.floats(2.1, 9.9).filter(lambda x: not x.is_integer()),
                                 st.sampled_from([None, "4", True, float("nan")])))
    elif which == "tol":
        kw["tol"] = draw(st.one_of(st.floats(0, 9.9e-15), st.floats(1.0, 1e3), st.floats(-1, 0),
                                   st.sampled_from([float("nan"), float("inf"), "1e-8", None, True])))
    elif which == "maxiter":
        kw["maxiter"] = draw(st.one_of(st.integers(-100, 0), st.floats(0.5, 100).filter(lambda x: not x.is_integer()),
                                       st.sampled_from(["10", True, float("inf")])))
    elif which == "method":
        kw["method"] = draw(st.text(min_size=1, max_size=8).filter(lambda m: m not in ("auto", "rates", "cgls", "gmres")))
    elif which == "on_failure":
        kw["on_failure"] = draw(st.text(max_size=8).filter(lambda m: m not in ("raise", "warn")))
    elif which == "x0":
        kw["x0"] = np.zeros(draw(st.sampled_from([(2, 5, 5), (3, 4, 4), (5,)])))  # N = 4: (3, 5, 5)
    else:
        kw["model"] = draw(st.sampled_from([None, 3.0, "LMG", permjax.LMG(Gamma=[1.0, 2.0])]))
    return kw


@examples(40)
@given(kw=bad_steady_state_call())
def test_invalid_api_input_raises_value_error(kw):
    N = kw.pop("N")
    model = kw.pop("model")
    with pytest.raises(ValueError):
        permjax.steady_state(N, model, **kw)


@examples(25)
@given(name=st.sampled_from(["J", "h", "Gamma", "gamma"]),
       value=st.sampled_from([float("nan"), float("inf"), -float("inf")]),
       negative=st.floats(-1e3, -1e-12, **finite))
def test_invalid_models_raise_value_error(name, value, negative):
    with pytest.raises(ValueError, match=name):
        permjax.LMG(**{name: value})
    if name in ("Gamma", "gamma"):
        with pytest.raises(ValueError, match=name):
            permjax.LMG(**{name: negative})
    with pytest.raises(ValueError):
        permjax.grid(**{name: [1.0, value]})


# --- any qubit model: every kind of term, random coefficients ------------------------------------
#
# The terms are fixed (one compiled solve per N), their coefficients drawn: one-body fields along
# x, y, z; two-body xx, yy, zz and the symmetrised xy + yx; collective σ₋, σ₊, σ_z and the mixed
# σ₋ + 0.3σ_z; local σ₋, σ₊, σ_z, the cross 0.3σ₋ + 0.95σ₊, and σ_x. The pumping σ₊ keeps a
# positive rate, so the steady state is unique.

_sx, _sy, _sz = permjax.sigma_x, permjax.sigma_y, permjax.sigma_z
_sp, _sm = permjax.sigma_plus, permjax.sigma_minus
GENERAL_SIZES = (3, 4)


@st.composite
def general_models(draw):
    c = lambda: draw(st.floats(-2.0, 2.0, **finite))  # noqa: E731
    r = lambda: draw(st.floats(0.0, 2.0, **finite))  # noqa: E731
    xy = c()
    return permjax.PIModel(
        2,
        hamiltonian=[(c(), _sx / 2), (c(), _sy / 2), (c(), _sz / 2), (c(), _sx / 2, _sx / 2), (c(), _sy / 2, _sy / 2),
                     (c(), _sz / 2, _sz / 2), (xy, _sx / 2, _sy / 2), (xy, _sy / 2, _sx / 2)],
        collective=[(r(), _sm), (r(), _sp), (r(), _sz), (r(), _sm + 0.3 * _sz)],
        local=[(r(), _sm), (draw(st.floats(0.2, 2.0, **finite)), _sp), (r(), _sz), (r(), 0.3 * _sm + 0.95 * _sp),
               (r(), _sx)],
    )


def _scaled(model, lam):
    import jax

    return jax.tree.map(lambda x: lam * x, model)


@examples(6)
@given(N=st.sampled_from(GENERAL_SIZES), model=general_models())
def test_general_model_invariants_and_brute_force(N, model):
    """Any qubit model: a state, equal to the 2^N brute force (``bruteforce_pi``), I_M/N in [0, ln 2]."""
    import bruteforce_pi as bp

    s = permjax.steady_state(N, model, method="cgls")
    mi = check_state(s, N)
    rho = bp.steady_state(model, N)
    assert mi == pytest.approx(bp.mutual_information(rho, N) / N, abs=1e-9)
    np.testing.assert_allclose(np.asarray(permjax.magnetization(s)), bp.magnetization(rho, N), atol=1e-9)


@examples(4)
@given(N=st.sampled_from(GENERAL_SIZES), model=general_models(), lam=st.floats(0.1, 10.0, **finite))
def test_general_model_scaling_leaves_mi_unchanged(N, model, lam):
    """Multiplying H and every rate by λ > 0 multiplies L by λ: I_M/N unchanged, finite N."""
    a = permjax.steady_state(N, model, method="cgls")
    b = permjax.steady_state(N, _scaled(model, lam), method="cgls")
    assert check_state(b, N) == pytest.approx(check_state(a, N), abs=1e-10)


@examples(3)
@given(model=general_models(), lam=st.floats(0.2, 5.0, **finite))
def test_general_model_scaling_in_the_thermodynamic_limit(model, lam):
    """N → ∞: λ rescales time along the attractor, so I_M/N (when resolved) is unchanged, in [0, ln 2]."""
    a = permjax.mi_thermo(model, starts=1)
    b = permjax.mi_thermo(_scaled(model, lam), starts=1)
    # times are counted in units of the model's rate scale, which scales with λ: same attractor
    assert int(a.kind) == int(b.kind) and bool(a.converged) == bool(b.converged)
    if bool(a.converged):
        assert float(b.mi) == pytest.approx(float(a.mi), abs=1e-8)
        assert -1e-10 <= float(a.mi) <= LN2 + 1e-10
