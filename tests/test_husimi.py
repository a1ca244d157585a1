"""The Husimi Q function of Dicke-basis states (``permjax.dicke.husimi``), the mean-field basins
(``permjax.meanfield.basins``), their Q weights (``permjax.phase_space``) and ``permjax figure husimi``.

References written here: the POVM E(n) = Σ_J (2J+1)/(4π) R(θ, φ) P_{J,M=J} R(θ, φ)† built on the 2^N
space from the collective spin (P_{J,M=J} by polynomial projectors in Ĵ², Ĵ_z, R by matrix
exponentials), with the brute-force steady states of tests/bruteforce_pi.py; the closed form
(2J+1)/(4π) ((1 + n·n₀)/2)^{2J} of a spin-coherent state; quadratures of n·Q against ⟨m⟩.
"""

import json
import math
import os

import numpy as np
import pytest
import scipy.linalg

import bruteforce as bf
import bruteforce_pi as bpi
import permjax
from permjax import PIModel, sigma_minus, sigma_plus, sigma_x, sigma_y, sigma_z
from permjax.cli import main
from permjax.dicke import DickeState
from permjax.dicke.husimi import exact_grid_size, husimi, husimi_blocks, husimi_grid, sphere_quadrature
from permjax.meanfield.basins import mean_field_basins
from permjax.models.zoo.laser import laser_ring
from permjax.phase_space import basin_weights

#: the Z₂ example: a π rotation about z maps the model to itself; two mean-field fixed points
Z2 = PIModel(2, hamiltonian=[(1.2, sigma_x / 2, sigma_x / 2), (-2.0, sigma_y / 2, sigma_y / 2),
                             (-0.8, sigma_z / 2, sigma_z / 2)], local=[(0.25, sigma_minus), (0.05, sigma_z)])
Z2_FIXED_POINT = np.array([0.22743417132104596, 0.2936162526282985, -0.14523687548277814])  # mi_thermo's

#: every kind of term of Eq. 1 for qubits: one-body, two-body (non-Hermitian pair), collective, local
GENERAL = PIModel(2, hamiltonian=[(0.7, sigma_x / 2), (0.4, sigma_z / 2), (0.9, sigma_x / 2, sigma_z / 2),
                                  (0.9, sigma_z / 2, sigma_x / 2), (-0.6, sigma_y / 2, sigma_y / 2)],
                  collective=[(0.8, sigma_minus), (0.3, sigma_z)],
                  local=[(0.5, sigma_plus), (0.3, sigma_minus + 0.4 * sigma_z), (0.1, sigma_x)])

ANGLES = [(0.0, 0.0), (math.pi, 1.0), (0.3, -2.0), (1.1, 0.7), (2.2, 2.9), (1.9, -1.3), (4.0, 0.5), (-0.8, 2.0)]


def direction(theta, phi):
    """n(θ, φ), shape (3, *broadcast shape)."""
    theta, phi = np.broadcast_arrays(theta, phi)
    return np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])


def povm(N: int, theta: float, phi: float) -> np.ndarray:
    """E(n) on the 2^N space: Σ_J (2J+1)/(4π) R P_{J,J} R†, R = exp(−iφĴ_z) exp(−iθĴ_y)."""
    s = {k: np.asarray(v.todense()) for k, v in bf.collective_spin(N).items()}
    J2 = s["x"] @ s["x"] + s["y"] @ s["y"] + s["z"] @ s["z"]
    one = np.eye(2**N)
    Js = [N / 2 - k for k in range(N // 2 + 1)]
    R = scipy.linalg.expm(-1j * phi * s["z"]) @ scipy.linalg.expm(-1j * theta * s["y"])
    E = np.zeros_like(one, dtype=complex)
    for J in Js:
        P = one.astype(complex)
        for K in Js:  # onto Ĵ² = J(J+1)
            if K != J:
                P = P @ (J2 - K * (K + 1) * one) / (J * (J + 1) - K * (K + 1))
        for M in np.arange(-N / 2, N / 2 + 1):  # onto Ĵ_z = J
            if M != J:
                P = P @ (s["z"] - M * one) / (J - M)
        E += (2 * J + 1) / (4 * math.pi) * R @ P @ R.conj().T
    return E


def q_bruteforce(rho: np.ndarray, N: int):
    return np.array([np.real(np.trace(rho @ povm(N, th, ph))) for th, ph in ANGLES])


def q_permjax(state):
    th, ph = np.array(ANGLES).T
    return np.asarray(husimi(state, th, ph))


def test_povm_is_a_resolution_of_the_identity():
    """The reference itself: Σ_i w_i E(n_i) = 1 on a quadrature grid exact for degree N."""
    N = 3
    theta, phi, w = sphere_quadrature(*exact_grid_size(N))
    total = sum(w[i, k] * povm(N, t, p) for i, t in enumerate(theta) for k, p in enumerate(phi))
    assert np.max(np.abs(total - np.eye(2**N))) < 1e-12


@pytest.mark.parametrize("N,model", [(4, permjax.LMG()), (5, GENERAL)], ids=["LMG-4", "general-5"])
def test_q_equals_the_bruteforce_povm(N, model):
    rho = bpi.steady_state(model.to_model() if hasattr(model, "to_model") else model, N)
    ref = q_bruteforce(rho, N)
    # the same state in permjax's block grid: the Q formula alone, to round-off
    projected = DickeState(np.asarray(bpi.project(rho, N)), None, N)
    assert np.max(np.abs(q_permjax(projected) - ref)) < 1e-13
    # permjax's own steady state: up to its solve
    assert np.max(np.abs(q_permjax(permjax.steady_state(N, model)) - ref)) < 1e-9
    assert ref.min() > 0


def test_q_of_populations_only_and_symmetric_states():
    # the laser conserves q = M − M′: its steady state comes as populations (the rates solver)
    N = 5
    laser = permjax.SuperradiantLaser(w=0.4, gamma=0.05, gamma_phi=0.02)
    state = permjax.steady_state(N, laser)
    assert state.is_diagonal
    ref = q_bruteforce(bpi.steady_state(laser.to_model(), N), N)
    assert np.max(np.abs(q_permjax(state) - ref)) < 1e-9
    # no local jumps: the symmetric block alone, embedded on the 2^N space by the test's Dicke basis
    N = 6
    btc = PIModel(2, hamiltonian=[(0.8, sigma_x / 2)], collective=[(1.0, sigma_minus)])
    state = permjax.steady_state(N, btc, block="symmetric")
    full = np.zeros((N // 2 + 1, N + 1, N + 1), complex)
    full[-1] = np.asarray(state.blocks[0])
    ref = q_bruteforce(bpi.embed(full, N), N)
    assert np.max(np.abs(q_permjax(state) - ref)) < 1e-12


def test_normalisation_and_first_moments():
    """∫ Q_J dΩ = Tr ρ_J and ∫ Q_J n dΩ = ⟨Ĵ⟩_J/(J+1), so (2/N) Σ_J (J+1) ∫ Q_J n dΩ = ⟨m⟩."""
    for N, model in ((7, permjax.LMG()), (6, GENERAL)):
        state = permjax.steady_state(N, model)
        g = husimi_grid(state)
        assert abs(float(np.sum(g.Q * g.weights)) - 1) < 1e-13
        th, ph = np.asarray(g.theta)[:, None], np.asarray(g.phi)[None, :]
        qJ = np.asarray(husimi_blocks(state, th, ph))
        np.testing.assert_allclose(np.einsum("jik,ik->j", qJ, g.weights), np.sum(state.populations, axis=-1),
                                   atol=1e-14)
        first = np.einsum("jik,aik,ik->ja", qJ, direction(th, ph), g.weights)
        m = 2 / N * np.sum((state.layout.J[:, None] + 1) * first, axis=0)
        np.testing.assert_allclose(m, np.asarray(permjax.magnetization(state)), atol=1e-13)


def _coherent_block(N: int, theta0: float, phi0: float) -> np.ndarray:
    """|N/2, n₀⟩⟨N/2, n₀| on the padded grid, from ⟨M|n₀⟩ = √C(N, N/2+M) c^{N/2+M} s^{N/2−M} e^{i(N/2−M)φ₀}."""
    c, s = math.cos(theta0 / 2), math.sin(theta0 / 2)
    k = np.arange(N + 1)  # N/2 + M
    log_amp = 0.5 * np.array([math.lgamma(N + 1) - math.lgamma(i + 1) - math.lgamma(N - i + 1) for i in k])
    amp = np.exp(log_amp + k * math.log(c) + (N - k) * math.log(s)) * np.exp(1j * (N - k) * phi0)
    return np.outer(amp, amp.conj())[None]


def test_q_of_a_product_coherent_state_closed_form():
    # small N: the product state |n₀⟩^⊗N built from Kronecker products, projected by the test's Dicke basis
    N, th0, ph0 = 5, 1.1, -0.7
    one = np.array([math.cos(th0 / 2), np.exp(1j * ph0) * math.sin(th0 / 2)])
    psi = one
    for _ in range(N - 1):
        psi = np.kron(psi, one)
    state = DickeState(np.asarray(bpi.project(np.outer(psi, psi.conj()), N)), None, N)
    th, ph = np.array(ANGLES).T
    closed = (N + 1) / (4 * math.pi) * ((1 + direction(th, ph).T @ direction(th0, ph0)) / 2) ** N
    np.testing.assert_allclose(q_permjax(state), closed, rtol=1e-12, atol=1e-15)
    # large N, symmetric block: log-binomials, no overflow (C(1000, 500) ~ 1e299)
    N, th0, ph0 = 1000, 2.0, 0.4
    state = DickeState(_coherent_block(N, th0, ph0), None, N, symmetric=True)
    th = th0 + np.array([0.0, 0.02, -0.05, 0.1, 1.0, 3.0])
    ph = ph0 + np.array([0.0, 0.03, 0.01, -0.1, 0.5, 1.0])
    closed = (N + 1) / (4 * math.pi) * ((1 + direction(th, ph).T @ direction(th0, ph0)) / 2) ** N
    q = np.asarray(husimi(state, th, ph))
    assert np.all(np.isfinite(q))
    np.testing.assert_allclose(q, closed, rtol=1e-9, atol=1e-60)  # far from n₀: round-off of terms ~1e-30


def test_mean_field_basins_kinds():
    rng = np.random.default_rng(1)
    starts = rng.normal(size=(40, 3))
    starts *= rng.uniform(0.05, 1.0, (40, 1)) / np.linalg.norm(starts, axis=1, keepdims=True)
    # two fixed points exchanged by the π rotation about z
    b = mean_field_basins(Z2, starts)
    assert [a.kind for a in b.attractors] == ["fixed point"] * 2 and all(a.stable for a in b.attractors)
    got = sorted((a.mean for a in b.attractors), key=lambda m: m[0])
    np.testing.assert_allclose(got[1], Z2_FIXED_POINT, atol=1e-10)
    np.testing.assert_allclose(got[0], Z2_FIXED_POINT * [-1, -1, 1], atol=1e-10)
    assert np.all(b.labels >= 0)
    # LMG at the paper's point: one limit cycle, whatever the start
    b = mean_field_basins(permjax.LMG(), starts[:12])
    assert [a.kind for a in b.attractors] == ["cycle"] and np.all(b.labels == 0)
    res = permjax.mi_thermo(permjax.LMG())
    np.testing.assert_allclose(b.attractors[0].mean, np.asarray(res.m_mean), atol=0.01)  # sampled, one turn


def test_basin_weights_z2_pair_and_the_centre():
    N = 10
    state = permjax.steady_state(N, Z2)
    res = basin_weights(state, Z2, 6, 12)
    assert res.unresolved == 0 and res.neglected < 1e-10
    assert abs(sum(res.weights) - 1) < 1e-14
    # an even n_φ: the grid maps to itself under the π rotation, so do the basins: equal weights
    assert len(res.weights) == 2 and abs(res.weights[0] - res.weights[1]) < 1e-12
    assert res.labels.shape == (N // 2 + 1, 6, 12) and res.total == pytest.approx(1, abs=1e-13)
    # an odd n_φ breaks that: the difference measures the grid's resolution of the basin boundary
    odd = basin_weights(state, Z2, 6, 11)
    assert abs(sum(odd.weights) - 1) < 1e-14 and abs(odd.weights[0] - odd.weights[1]) < 0.06
    # r0 = 0: all of J = 0 starts at the centre, which flows along the z axis to the saddle (0, 0, −1)
    centre = basin_weights(state, Z2, 6, 12, r0=0.0)
    saddle = [k for k, a in enumerate(centre.attractors) if a.stable is False]
    assert len(saddle) == 1
    np.testing.assert_allclose(centre.attractors[saddle[0]].mean, [0, 0, -1], atol=1e-9)
    assert centre.weights[saddle[0]] == pytest.approx(float(np.sum(state.populations[0])), rel=1e-10)


def test_basin_weights_laser_ring_is_one_attractor():
    N, n_phi = 10, 12
    laser = permjax.SuperradiantLaser()
    res = basin_weights(permjax.steady_state(N, laser), laser, 6, n_phi)
    assert [a.kind for a in res.attractors] == ["ring"] and res.weights[0] == pytest.approx(1, abs=1e-14)
    ring = res.attractors[0].samples
    mz, mxy = (float(v) for v in laser_ring(laser))
    assert len(ring) == n_phi  # ω = 0: each start keeps its azimuth, the grid's n_φ of them
    np.testing.assert_allclose(ring[:, 2], mz, atol=1e-6)
    np.testing.assert_allclose(np.hypot(ring[:, 0], ring[:, 1]), mxy, atol=1e-6)


# --- the command ------------------------------------------------------------------------------


def test_cli_figure_husimi(tmp_path, capsys):
    argv = ["figure", "husimi", "--N", "4", "--family", "xyz", "--set", "Jy=-1.5", "--grid", "10x19",
            "--basin-grid", "4x6", "--out", str(tmp_path)]
    assert main(argv + ["--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    with open(rec["png"], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    rows = np.loadtxt(rec["csv"], delimiter=",", skiprows=1)
    assert rows.shape == (10 * 19, 3)
    on_disk = json.load(open(rec["json"]))
    assert on_disk["N"] == 4 and on_disk["model"]["Jy"] == -1.5 and len(on_disk["m"]) == 3
    assert abs(sum(on_disk["weights"]) - 1) < 1e-12 and abs(on_disk["normalisation_error"]) < 1e-12
    assert os.path.basename(rec["png"]) == "husimi_xyz_N4.png"


@pytest.mark.parametrize("argv,needle", [
    (["figure", "husimi", "--grid", "5"], "--grid"),
    (["figure", "husimi", "--family", "nope"], "--family"),
    (["figure", "husimi", "--N", "1"], "--N"),
    (["figure", "husimi", "--quick"], "--quick"),
    (["figure", "husimi", "--family", "laser", "--J", "2"], "--J"),
    (["figure", "husimi", "--family", "spin1_lmg", "--N", "3"], "qubits"),
    (["figure", "husimi", "--set", "nope=1"], "nope"),
    (["figure", "2", "--N", "5"], "husimi only"),
])
def test_cli_figure_husimi_bad_input_is_one_line(capsys, tmp_path, argv, needle):
    assert main(argv + ["--out", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == "" and len(lines) == 1 and lines[0].startswith("permjax: error:") and needle in lines[0]
