"""Finite-N time evolution (issue 14): ``evolve`` and its initial states.

References, independent of permjax's Dicke-basis code: plain-numpy 2^N operators and a scipy
DOP853 Lindblad integration (tests/lindblad_reference.py), QuTiP piqs + mesolve, the steady
state solved separately, central finite differences.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import permjax
import permjax.interop
from permjax import LMG
from permjax.timedomain.evolve import evolve, initial_blocks
from permjax.dicke.initial import product_state_blocks
from permjax.dicke.layout import DickeLayout

import lindblad_reference as ref

PAPER = dict(J=3.0, h=0.5, Gamma=1.68, gamma=1.0)


def _random_qubit_state(rng, pure=False):
    v = rng.normal(size=2) + 1j * rng.normal(size=2)
    v /= np.linalg.norm(v)
    if pure:
        return np.outer(v, v.conj())
    p = rng.uniform(0.55, 0.95)
    w = np.array([-v[1].conj(), v[0].conj()])
    return p * np.outer(v, v.conj()) + (1 - p) * np.outer(w, w.conj())


def _kron_power(r, N):
    out = np.ones((1, 1))
    for _ in range(N):
        out = np.kron(out, r)
    return out


def _block_spin(J):
    """Ĵ_+, Ĵ_z on block J, basis M = −J … J ascending (the textbook matrix elements)."""
    M = np.arange(-J, J + 0.5)
    jp = np.diag(np.sqrt((J - M[:-1]) * (J + M[:-1] + 1)), -1)
    return jp.astype(complex), np.diag(M).astype(complex)


def _full_spin(N):
    jp = ref.total(np.array([[0, 1], [0, 0]], complex), N)
    return jp, ref.total(np.diag([0.5, -0.5]).astype(complex), N)


def _monomials(jp, jz):
    jm = jp.conj().T
    return [jz, jz @ jz, jp, jp @ jp, jp @ jm @ jz, jp @ jz @ jp, jm @ jz @ jz]


@pytest.mark.parametrize("N,pure,seed", [(4, False, 0), (5, False, 1), (5, True, 2), (6, False, 3)])
def test_product_state_blocks_match_the_full_tensor_power(N, pure, seed):
    """r^{⊗N} vs its J-block decomposition: in every J sector (projector of Ĵ² in 2^N space)
    the expectation values of collective monomials, and the block spectra with multiplicities."""
    rng = np.random.default_rng(seed)
    r = _random_qubit_state(rng, pure)
    blocks = product_state_blocks(N, r)
    rho = _kron_power(r, N)
    jp, jz = _full_spin(N)
    jx, jy = (jp + jp.conj().T) / 2, (jp - jp.conj().T) / 2j
    casimir = jx @ jx + jy @ jy + jz @ jz
    lay = DickeLayout(N)
    w_full = []
    for j, J in enumerate(lay.J):
        cw, cv = np.linalg.eigh(casimir)
        P = cv[:, np.abs(cw - J * (J + 1)) < 1e-8]
        P = P @ P.conj().T
        lo, hi = int(N / 2 - J), int(N / 2 + J) + 1
        rJ = blocks[j, lo:hi, lo:hi]
        bp, bz = _block_spin(J)
        for Af, Ab in zip(_monomials(jp, jz), _monomials(bp, bz)):
            assert abs(np.trace(rho @ P @ Af) - np.trace(rJ @ Ab)) < 1e-12
        dim = math.comb(N, int(N / 2 - J)) - (math.comb(N, int(N / 2 - J) - 1) if J < N / 2 else 0)
        w_full.append(np.repeat(np.linalg.eigvalsh(rJ) / dim, dim))
    assert np.allclose(np.sort(np.concatenate(w_full)), np.linalg.eigvalsh(rho), atol=1e-13)
    assert np.all(blocks[~lay.block_mask] == 0)


def test_named_dicke_and_qutip_initial_states():
    N = 6
    lay = DickeLayout(N)
    up, down = initial_blocks(N, "up"), initial_blocks(N, "down")
    assert up[-1, N, N] == 1 and np.sum(np.abs(up)) == 1
    assert down[-1, 0, 0] == 1 and np.sum(np.abs(down)) == 1
    d = initial_blocks(N, ("dicke", 1, -1))
    assert d[1, 2, 2] == 1 and np.sum(np.abs(d)) == 1
    r = _random_qubit_state(np.random.default_rng(5))
    x = product_state_blocks(N, r)
    pytest.importorskip("qutip")
    from qutip import piqs

    np.testing.assert_allclose(initial_blocks(N, permjax.interop.to_qutip(permjax.DickeState(jnp.asarray(x), None, N))), x, atol=0)
    # piqs's own Dicke-basis states: |j, m⟩ at J = N/2, M = N/2 − 1 is row 1 of its ordering
    ket = piqs.dicke(N, N / 2, N / 2 - 1)
    np.testing.assert_allclose(initial_blocks(N, ket), initial_blocks(N, ("dicke", N / 2, N / 2 - 1)))
    # a DickeState, full or populations only
    st = permjax.DickeState(jnp.asarray(x), None, N)
    np.testing.assert_allclose(initial_blocks(N, st), x, atol=0)
    pops = permjax.DickeState(jnp.asarray(np.real(np.diagonal(x, axis1=1, axis2=2))), None, N)
    np.testing.assert_allclose(initial_blocks(N, pops), np.real(np.diagonal(x, axis1=1, axis2=2))[:, :, None] * np.eye(N + 1))
    with pytest.raises(ValueError):
        initial_blocks(N, permjax.DickeState(jnp.asarray(x), None, N + 1))
    with pytest.raises(ValueError):
        initial_blocks(N, ("dicke", 0.5, 0.5))
    with pytest.raises(ValueError):
        initial_blocks(N, "sideways")
    with pytest.raises(ValueError):
        initial_blocks(N, np.diag([0.7, 0.7]))
    del lay


def _lmg(seed):
    rng = np.random.default_rng(seed)
    return LMG(J=float(rng.uniform(-3, 3)), h=float(rng.uniform(-1, 1)), Gamma=float(rng.uniform(0.3, 2)),
               gamma=float(rng.uniform(0.3, 1.5)))


@pytest.mark.parametrize("N,seed,method", [(4, 0, "tsit5"), (6, 2, "tsit5"), (4, 0, "expm"), (6, 2, "expm")])
def test_evolve_matches_full_space_integration(N, seed, method):
    model = _lmg(seed)
    r = _random_qubit_state(np.random.default_rng(seed + 10))
    ts = np.linspace(0.0, 1.5, 4) if method == "tsit5" else np.array([0.0, 0.4, 0.5, 1.5])  # expm: uneven steps too
    res = evolve(N, model, r, ts, method=method, rtol=1e-12, atol=1e-14)
    full = ref.integrate(model.to_model(), N, _kron_power(r, N), ts)
    m_ref = np.array([ref.magnetization(x, N) for x in full])
    mi_ref = np.array([ref.mi_per_N(x, N) for x in full])
    assert np.max(np.abs(np.asarray(res.m) - m_ref)) < 1e-8
    assert np.max(np.abs(np.asarray(res.mi) - mi_ref)) < 1e-8
    np.testing.assert_allclose(np.asarray(res.trace), 1.0, atol=1e-10)
    # block populations p_J(t): Tr(ρ Π_J) in the full space
    jp, jz = _full_spin(N)
    jx, jy = (jp + jp.conj().T) / 2, (jp - jp.conj().T) / 2j
    cw, cv = np.linalg.eigh(jx @ jx + jy @ jy + jz @ jz)
    for j, J in enumerate(DickeLayout(N).J):
        P = cv[:, np.abs(cw - J * (J + 1)) < 1e-8]
        pJ = np.einsum("tab,bc,ac->t", full, P.conj(), P).real
        assert np.max(np.abs(np.asarray(res.populations)[:, j] - pJ)) < 1e-9


@pytest.mark.parametrize("method", ["tsit5", "expm"])
def test_evolve_from_up_down_and_dicke_states(method):
    N, model = 4, LMG(**PAPER)
    ts = np.array([0.0, 0.7, 1.5])
    pm = model.to_model()
    for rho0, full0 in (("up", _kron_power(np.diag([1.0, 0.0]), N)), ("down", _kron_power(np.diag([0.0, 1.0]), N))):
        res = evolve(N, model, rho0, ts, method=method, rtol=1e-12, atol=1e-14)
        full = ref.integrate(pm, N, full0, ts)
        assert np.max(np.abs(np.asarray(res.m) - [ref.magnetization(x, N) for x in full])) < 1e-8
        assert np.max(np.abs(np.asarray(res.mi) - [ref.mi_per_N(x, N) for x in full])) < 1e-8
    # Dicke state |N/2, N/2 − 1⟩: the symmetric superposition of one unit down (basis bit 1 = ↓)
    w = np.zeros(2**N, complex)
    w[[1 << i for i in range(N)]] = 1 / np.sqrt(N)
    full0 = np.outer(w, w.conj())
    res = evolve(N, model, ("dicke", N / 2, N / 2 - 1), ts, method=method, rtol=1e-12, atol=1e-14)
    full = ref.integrate(pm, N, full0, ts)
    assert np.max(np.abs(np.asarray(res.m) - [ref.magnetization(x, N) for x in full])) < 1e-8
    assert np.max(np.abs(np.asarray(res.mi) - [ref.mi_per_N(x, N) for x in full])) < 1e-8


def test_evolve_to_long_times_reaches_the_steady_state():
    N, model = 6, LMG(**PAPER)
    res = evolve(N, model, "down", np.array([0.0, 60.0]), mi=False, rtol=1e-12, atol=1e-14)
    ss = permjax.steady_state(N, model, method="cgls", tol=1e-13)
    assert np.max(np.abs(np.asarray(res.final) - np.asarray(ss.blocks))) < 1e-8
    assert abs(float(res.m[-1, 2]) - float(permjax.magnetization(ss)[2])) < 1e-8


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_evolve_matches_piqs_mesolve_at_N20():
    qutip = pytest.importorskip("qutip")
    from qutip import piqs

    N, p = 20, PAPER
    ts = np.linspace(0.0, 3.0, 7)
    jx, jy, jz = piqs.jspin(N)
    H = (p["J"] / N) * (jx * jx + jy * jy) + p["h"] * jx
    L = piqs.Dicke(N, hamiltonian=H, pumping=p["gamma"], collective_emission=p["Gamma"] / N).liouvillian()
    r = _random_qubit_state(np.random.default_rng(7))
    x0 = product_state_blocks(N, r)
    rho0 = permjax.interop.to_qutip(permjax.DickeState(jnp.asarray(x0), None, N))
    out = qutip.mesolve(L, rho0, ts, e_ops=[jx, jy, jz], options={"atol": 1e-12, "rtol": 1e-10})
    m_piqs = 2 / N * np.array(out.expect).T.real
    res = evolve(N, LMG(**p), rho0, ts, mi=False)
    # piqs computes its Liouvillian coefficients in single precision
    assert np.max(np.abs(np.asarray(res.m) - m_piqs)) < 1e-6


def test_gradient_of_an_observable_matches_finite_differences():
    N, T = 4, 1.2

    def mz_final(h, Gamma):
        model = LMG(J=3.0, h=h, Gamma=Gamma, gamma=1.0)
        return evolve(N, model, "down", jnp.array([0.0, T]), mi=False, rtol=1e-12, atol=1e-14).m[-1, 0]

    g = jax.grad(mz_final, argnums=(0, 1))(0.5, 1.68)
    eps = 1e-5
    fd_h = (mz_final(0.5 + eps, 1.68) - mz_final(0.5 - eps, 1.68)) / (2 * eps)
    fd_G = (mz_final(0.5, 1.68 + eps) - mz_final(0.5, 1.68 - eps)) / (2 * eps)
    assert abs(float(g[0]) - float(fd_h)) < 1e-7 * max(1.0, abs(float(fd_h)))
    assert abs(float(g[1]) - float(fd_G)) < 1e-7 * max(1.0, abs(float(fd_G)))


def test_evolve_vmaps_over_models():
    N = 4
    hs = jnp.array([0.0, 0.3, 0.8])
    ts = jnp.array([0.0, 1.0])
    x0 = jnp.asarray(initial_blocks(N, "down"))

    def mz(h):
        return evolve(N, LMG(J=3.0, h=h, Gamma=1.68, gamma=1.0), x0, ts, method="tsit5", mi=False).m[-1]

    batched = jax.vmap(mz)(hs)
    for i, h in enumerate(hs):
        assert np.max(np.abs(np.asarray(batched[i]) - np.asarray(mz(h)))) < 1e-12


def test_evolve_rejects_bad_input():
    with pytest.raises(ValueError):
        evolve(4, LMG(**PAPER), "up", [0.0, 1.0, 0.5])
    with pytest.raises(ValueError):
        evolve(4, LMG(**PAPER), "up", [0.0, 1.0], method="euler")
    with pytest.raises(ValueError):
        evolve(4, LMG(**PAPER), "up", [0.0, np.nan])
    with pytest.raises(RuntimeError):
        evolve(4, LMG(**PAPER), "up", [0.0, 100.0], method="tsit5", max_steps=5)
    with pytest.raises(ValueError, match="concrete"):  # the host path under vmap
        jax.vmap(lambda h: evolve(4, LMG(J=3.0, h=h, Gamma=1.68, gamma=1.0), "up", [0.0, 1.0], method="expm").m)(
            jnp.array([0.1, 0.2]))


def test_cli_evolve_and_spectrum(tmp_path):
    import json

    from permjax.cli import main

    out = tmp_path / "ev.csv"
    png = tmp_path / "ev.png"
    assert main(["evolve", "--N", "4", "--t", "1", "--points", "3", "--state", "bloch:0.6,0,-0.8",
                 "--out", str(out), "--png", str(png), "--quiet"]) == 0
    table = np.loadtxt(out, delimiter=",", skiprows=1)
    r = 0.5 * (np.eye(2) + 0.6 * np.array([[0, 1], [1, 0]]) - 0.8 * np.diag([1.0, -1.0]))
    full = ref.integrate(LMG(**PAPER).to_model(), 4, _kron_power(r, 4), np.array([0.0, 0.5, 1.0]))
    np.testing.assert_allclose(table[:, 1:4], [ref.magnetization(x, 4) for x in full], atol=1e-8)
    np.testing.assert_allclose(table[:, 4], [ref.mi_per_N(x, 4) for x in full], atol=1e-8)
    assert png.stat().st_size > 0
    # the default (auto: expm at this N) and diffrax agree
    out2 = tmp_path / "ev2.csv"
    assert main(["evolve", "--N", "4", "--t", "1", "--points", "3", "--state", "bloch:0.6,0,-0.8", "--method", "tsit5",
                 "--rtol", "1e-12", "--atol", "1e-14", "--out", str(out2), "--quiet"]) == 0
    np.testing.assert_allclose(np.loadtxt(out2, delimiter=",", skiprows=1), table, atol=1e-9)
    for method in ("auto", "tsit5"):
        rec_path = tmp_path / f"ev-{method}.json"
        assert main(["evolve", "--N", "4", "--t", "1", "--points", "3", "--method", method, "--out", str(rec_path),
                     "--quiet"]) == 0
        assert json.loads(rec_path.read_text())["method"] == {"auto": "expm", "tsit5": "tsit5"}[method]
    js = tmp_path / "sp.json"
    assert main(["spectrum", "--N", "4", "--k", "3", "--out", str(js), "--quiet"]) == 0
    rec = json.loads(js.read_text())
    lam = np.array([complex(*z) for z in rec["eigenvalues"]])
    L = ref.dense_liouvillian(LMG(**PAPER).to_model(), 4)
    assert max(np.min(np.abs(np.linalg.eigvals(L) - z)) for z in lam) < 1e-10
    assert main(["evolve", "--N", "4", "--state", "bloch:2,0,0"]) == 2
    assert main(["evolve", "--N", "4", "--out", str(tmp_path / "x.txt"), "--t", "0.1", "--points", "2", "--quiet"]) == 2


def general_models_supported():
    """Whether the Dicke-basis Liouvillian takes any qubit PIModel (not only the LMG family)."""
    from permjax.dicke.liouvillian import liouvillian

    lay = DickeLayout(3)
    model = ref.random_qubit_model(0)  # a valid PIModel (construction errors are not masked)
    try:
        liouvillian(jnp.zeros((lay.n_J, lay.n_M, lay.n_M), jnp.complex128), model, lay)
    except Exception:  # noqa: BLE001  (the LMG-only Liouvillian fails on a PIModel's attributes)
        return False
    return True


GENERAL = pytest.mark.skipif(not general_models_supported(), reason="the Dicke-basis Liouvillian takes LMG only")


@GENERAL
@pytest.mark.parametrize("N,seed,method", [(4, 11, "tsit5"), (4, 11, "expm")])
def test_evolve_general_model_matches_full_space_integration(N, seed, method):
    model = ref.random_qubit_model(seed)
    r = _random_qubit_state(np.random.default_rng(seed))
    ts = np.linspace(0.0, 1.5, 4)
    res = evolve(N, model, r, ts, method=method, rtol=1e-12, atol=1e-14)
    full = ref.integrate(model, N, _kron_power(r, N), ts)
    assert np.max(np.abs(np.asarray(res.m) - [ref.magnetization(x, N) for x in full])) < 1e-8
    assert np.max(np.abs(np.asarray(res.mi) - [ref.mi_per_N(x, N) for x in full])) < 1e-8


@GENERAL
def test_evolve_lmg_family_and_its_pimodel_agree():
    N, ts = 5, np.array([0.0, 0.8, 2.0])
    a = evolve(N, LMG(**PAPER), "down", ts)
    b = evolve(N, LMG(**PAPER).to_model(), "down", ts)
    assert np.max(np.abs(np.asarray(a.m) - np.asarray(b.m))) < 1e-10
    assert np.max(np.abs(np.asarray(a.mi) - np.asarray(b.mi))) < 1e-10


def test_evolve_and_correlation_programs_keep_no_host_callback():
    """The times are checked on the host, so diffrax's run-time checks of them are traced as
    static ones: the compiled programs carry no host callback and JAX's persistent cache keeps
    them (a second process skips their compilation)."""
    from permjax.timedomain import correlations
    from permjax.timedomain.evolve import _evolve, dicke_model

    N, model = 4, dicke_model(LMG(**PAPER))
    ts = jnp.linspace(0.0, 1.0, 3)
    x0 = jnp.asarray(initial_blocks(N, "down"))
    text = _evolve.lower(model, x0, ts, N=N, method="tsit5", rtol=1e-9, atol=1e-11, max_steps=1000, with_mi=True,
                         with_states=False).as_text()
    assert "callback" not in text
    a = tuple(complex(v) for v in np.array([[0, 1], [1, 0]], complex).ravel())
    text = correlations._correlate.lower(model, x0, ts, a, N=N, method="tsit5", rtol=1e-9, atol=1e-11,
                                         max_steps=1000).as_text()
    assert "callback" not in text
    # the checks still hold on the host
    with pytest.raises(ValueError):
        permjax.correlation(N, LMG(**PAPER), "Jx", "Jx", [0.0, 1.0, 0.5])


def test_auto_evolves_on_the_host_for_small_concrete_problems_and_with_diffrax_otherwise():
    """``method="auto"``: ``expm`` for concrete inputs up to N = EXPM_MAX_N (nothing compiled, no
    integrator steps), diffrax under jit/vmap/grad and above; the two agree."""
    from permjax.timedomain.evolve import EXPM_MAX_N, evolve_method, evolve_segments

    assert evolve_method(6, True) == "expm" and evolve_method(EXPM_MAX_N + 1, True) == "tsit5"
    assert evolve_method(6, False) == "tsit5" and evolve_method(6, True, "dopri8") == "dopri8"
    with pytest.raises(ValueError, match="unknown method"):
        evolve_method(6, True, "euler")
    N, ts = 6, np.linspace(0.0, 4.0, 9)
    auto = evolve(N, LMG(**PAPER), "down", ts)
    assert int(auto.num_steps) == ts.size - 1  # the host path: one propagation per interval
    tsit = evolve(N, LMG(**PAPER), "down", ts, method="tsit5", rtol=1e-12, atol=1e-14)
    assert int(tsit.num_steps) > ts.size
    for field in ("m", "mi", "populations", "final"):
        assert np.max(np.abs(np.asarray(getattr(auto, field)) - np.asarray(getattr(tsit, field)))) < 1e-9
    seg = evolve_segments(N, LMG(**PAPER), "down", ts, progress=False)
    assert np.max(np.abs(np.asarray(seg.m) - np.asarray(auto.m))) < 1e-13
    traced = jax.jit(lambda G: evolve(N, LMG(J=3.0, h=0.5, Gamma=G, gamma=1.0), "down", ts).num_steps)(1.68)
    assert int(traced) == int(evolve(N, LMG(**PAPER), "down", ts, method="tsit5").num_steps)
