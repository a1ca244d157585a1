"""The quantization axis of the Dicke basis (permjax/dicke/frame.py): solves in a rotated frame
return the lab-frame state, and the automatic choice rescues drive-dominated models."""

import warnings

import jax
import numpy as np
import pytest
from scipy.linalg import expm

import permjax
from permjax.dicke import mutual_information, magnetization
from permjax.solvers import steady_state
from permjax.dicke.frame import axis_unitary, rotate_model, to_frame, to_lab, wigner_blocks
from permjax.solvers.axis import choose_axis
from permjax.dicke.layout import DickeLayout
from permjax.solvers import GMRES
from permjax.models.operators import sigma_minus, sigma_x, sigma_y, sigma_z
from permjax.models.zoo import BTC, XYZ

import bruteforce_pi as bp
from test_general_finite import random_model


def test_axis_unitary_maps_z_to_the_axis():
    theta, phi = 0.8, 2.1
    n = np.array([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])
    U = axis_unitary((theta, phi))
    np.testing.assert_allclose(U @ sigma_z @ U.conj().T, n[0] * sigma_x + n[1] * sigma_y + n[2] * sigma_z, atol=1e-14)


def test_wigner_blocks_are_u_tensor_u_on_two_qubits():
    """N = 2: the triplet block of U⊗U in |1,−1⟩ = |↓↓⟩, |1,0⟩ = (|↑↓⟩+|↓↑⟩)/√2, |1,1⟩ = |↑↑⟩
    (padded index a = M + 1), the singlet block 1."""
    axis = (1.1, -0.7)
    U = axis_unitary(axis)
    up, dn = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    basis = np.stack([np.kron(dn, dn), (np.kron(up, dn) + np.kron(dn, up)) / np.sqrt(2), np.kron(up, up)], 1)
    want = basis.T @ np.kron(U, U) @ basis
    D = wigner_blocks(DickeLayout(2), axis)
    np.testing.assert_allclose(D[1], want, atol=1e-14)
    singlet = (np.kron(up, dn) - np.kron(dn, up)) / np.sqrt(2)
    assert abs(D[0, 1, 1] - singlet @ np.kron(U, U) @ singlet) < 1e-14
    assert np.all(D[0][np.arange(3) != 1] == 0)


def test_to_frame_inverts_to_lab():
    lay = DickeLayout(7)
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(lay.n_J, lay.n_M, lay.n_M)) + 1j * rng.normal(size=(lay.n_J, lay.n_M, lay.n_M))) * lay.block_mask
    axis = (2.0, 0.3)
    np.testing.assert_allclose(np.asarray(to_frame(to_lab(x, lay, axis), lay, axis)), x, atol=1e-13)


@pytest.mark.parametrize("N", [4])
def test_rotated_gmres_solve_matches_bruteforce(N):
    """A model with every kind of term solved with the basis quantized along a tilted axis:
    I_M/N and ⟨m⟩ (lab frame) against the plain 2^N steady state; the blocks equal the z solve."""
    model = random_model(N)
    rho = bp.steady_state(model, N)
    st = steady_state(N, model, method=GMRES(axis=(0.9, 0.4), tol=1e-13))
    assert bool(st.diagnostics.converged)
    assert abs(float(mutual_information(st)) / N - bp.mutual_information(rho, N) / N) <= 1e-10
    np.testing.assert_allclose(np.asarray(magnetization(st)), bp.magnetization(rho, N), atol=1e-10)
    z = steady_state(N, model, method="cgls", tol=1e-13)
    np.testing.assert_allclose(np.asarray(st.blocks), np.asarray(z.blocks), atol=1e-10)


def test_rotated_model_has_the_rotated_steady_state():
    """ρ′ = U^{†⊗N} ρ U^{⊗N} for the model with A → U†AU, checked on 2^N matrices (N = 3)."""
    N, axis = 3, (0.6, 1.3)
    model = random_model(11)
    U = axis_unitary(axis)
    UN = np.kron(np.kron(U, U), U)
    rho = bp.steady_state(model, N)
    rho_rot = bp.steady_state(rotate_model(model, axis), N)
    np.testing.assert_allclose(rho_rot, UN.conj().T @ rho @ UN, atol=1e-10)


def test_choose_axis_rule():
    assert choose_axis(BTC(omega=1.0)) == (np.pi / 2, 0.0)  # the drive along x dominates
    assert choose_axis(permjax.LMG(3.0, 0.5, 1.68, 1.0)) is None  # z: the paper's model
    assert choose_axis(BTC(omega=0.3)) is None
    assert choose_axis(XYZ(Jy=1.0)) is None  # q-conserving along z

    @jax.jit
    def traced(omega):
        assert choose_axis(BTC(omega=omega)) is None  # traced coefficients: z
        return omega

    traced(1.0)


def test_auto_axis_cuts_iterations_of_a_driven_time_crystal():
    """BTC, ω = κ, weak local noise: GMRES quantized along x needs a fraction of the z
    iterations (measured 37 against 299); the same state."""
    N = 16
    model = BTC(kappa=1.0, omega=1.0)
    z = steady_state(N, model, method=GMRES(axis="z"))
    auto = steady_state(N, model, method=GMRES())
    assert bool(z.diagnostics.converged) and bool(auto.diagnostics.converged)
    assert int(auto.diagnostics.iterations) * 4 <= int(z.diagnostics.iterations)
    np.testing.assert_allclose(np.asarray(auto.blocks), np.asarray(z.blocks), atol=1e-10)


def test_auto_axis_converges_where_z_stalls():
    """XYZ with J_y = −1.5 at N = 24, a Krylov basis of 60: GMRES along z stalls (residual ≈ 1;
    600 iterations, while the x axis needs 109); along the chosen axis it converges, to the
    sparse-LU state."""
    N, model = 24, XYZ(Jy=-1.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        z = steady_state(N, model, method=GMRES(axis="z", restart=60), on_failure="warn")
    assert not bool(z.diagnostics.converged)
    auto = steady_state(N, model, method=GMRES(restart=60))
    lu = steady_state(N, model, method="direct")
    assert bool(auto.diagnostics.converged)
    assert abs(float(mutual_information(auto)) - float(mutual_information(lu))) / N <= 1e-10
    np.testing.assert_allclose(np.asarray(magnetization(auto)), np.asarray(magnetization(lu)), atol=1e-10)


def test_gradient_through_a_rotated_solve():
    """d(I_M/N)/dω of a BTC at N = 4 with the basis along x (forward-mode, the same implicit
    solve): central finite differences."""
    N = 4

    @jax.jit
    def f(omega):
        return permjax.mi_finite(N, BTC(omega=omega, gamma_phi=0.2, gamma_down=0.2), method=GMRES(axis=(np.pi / 2, 0.0)))

    _, g = jax.jvp(f, (1.0,), (1.0,))
    eps = 1e-5
    fd = (float(f(1.0 + eps)) - float(f(1.0 - eps))) / (2 * eps)
    assert abs(float(g) - fd) <= 1e-7 * max(1.0, abs(fd))


def test_spectrum_along_the_chosen_axis_matches_the_dense_liouvillian():
    """The BTC's low-lying spectrum with inner solves along x (``axis="auto"``): eigenvalues of
    the dense 4^N Liouvillian, eigenvectors (lab frame) with L v = λ v there, the steady state
    equal to ``steady_state``'s."""
    import lindblad_reference as ref

    from permjax.timedomain.spectrum import spectrum

    N, k = 4, 6
    model = BTC(omega=1.0, gamma_phi=0.2, gamma_down=0.2)
    assert choose_axis(model) is not None
    res = spectrum(N, model, k=k, eigenvectors=True)
    L = ref.dense_liouvillian(model.to_model(), N)
    full = np.linalg.eigvals(L)
    assert max(np.min(np.abs(full - z)) for z in res.eigenvalues) < 1e-10
    zres = spectrum(N, model, k=k, method=GMRES(tol=1e-12, maxiter=2000, axis="z"))
    a, b = np.asarray(res.eigenvalues), np.asarray(zres.eigenvalues)
    assert max(np.min(np.abs(b - z)) for z in a) < 1e-10 and max(np.min(np.abs(a - z)) for z in b) < 1e-10
    ss = steady_state(N, model, method=GMRES(axis="z", tol=1e-13))
    np.testing.assert_allclose(res.eigenvectors[0], np.asarray(ss.blocks), atol=1e-10)
    from permjax.dicke.liouvillian import liouvillian

    for lam, v in zip(res.eigenvalues[1:], res.eigenvectors[1:]):
        Lv = np.asarray(liouvillian(v, model, DickeLayout(N)))
        assert np.linalg.norm(Lv - lam * v) <= 1e-8 * np.linalg.norm(v)


def _weak_btc():
    """A boundary time crystal driven below its transition, with local noise: its steady state
    lies near a spin-coherent state tilted from −z."""
    return permjax.PIModel(2, hamiltonian=[(0.3, sigma_x / 2)], collective=[(1.0, sigma_minus)],
                           local=[(0.2, sigma_z), (0.2, sigma_minus)])


@pytest.mark.parametrize("N", [4, 5])
def test_small_magnetization_matches_bruteforce(N):
    """⟨m⟩ of the host sparse-LU state that picks the axis, against the plain 2^N steady state."""
    from permjax.solvers.axis import small_magnetization

    for model in (random_model(N), _weak_btc()):
        want = bp.magnetization(bp.steady_state(model, N), N)
        np.testing.assert_allclose(small_magnetization(model, N), want, atol=1e-10)


def test_coherent_state_is_solved_along_its_magnetization():
    """|⟨m⟩| ≥ 0.8 at N = 10: the axis is ±⟨m⟩; GMRES then needs far fewer iterations than along z
    (measured 52 → 30 at N = 40, 77 → 39 at N = 80, 178 → 53 at N = 160) for the same state."""
    from permjax.solvers.axis import small_magnetization

    model = _weak_btc()
    m = small_magnetization(model)
    assert np.linalg.norm(m) >= 0.8
    theta, phi = choose_axis(model)
    n = np.array([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])
    assert abs(abs(n @ m) - np.linalg.norm(m)) < 1e-12
    N = 24
    z = steady_state(N, model, method=GMRES(axis="z"))
    auto = steady_state(N, model, method=GMRES())
    assert bool(z.diagnostics.converged) and bool(auto.diagnostics.converged)
    assert int(auto.diagnostics.iterations) <= 0.7 * int(z.diagnostics.iterations)
    np.testing.assert_allclose(np.asarray(auto.blocks), np.asarray(z.blocks), atol=1e-10)


@pytest.mark.parametrize("N,symmetric", [(1, False), (6, False), (7, False), (9, True)])
def test_packed_states_are_the_valid_entries(N, symmetric):
    """The GMRES basis vectors (DickeLayout.pack): the entries |M|, |M′| ≤ J in row-major order,
    and unpack restores the grid with zero padding."""
    lay = DickeLayout(N, symmetric)
    rng = np.random.default_rng(N)
    x = rng.normal(size=(lay.n_J, lay.n_M, lay.n_M)) + 1j * rng.normal(size=(lay.n_J, lay.n_M, lay.n_M))
    v = np.asarray(lay.pack(x))
    assert v.shape == (lay.n_unknowns,)
    np.testing.assert_array_equal(v, x[lay.block_mask])
    np.testing.assert_array_equal(np.asarray(lay.unpack(v)), np.where(lay.block_mask, x, 0))
