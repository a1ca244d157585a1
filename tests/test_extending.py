"""Extending permjax: a new steady-state solver is one class (here, in this file) plus one entry in
``Auto``'s order; a new model family is one class. Both checked against independent references:
the plain-numpy 2^N brute force, and the family's model written out as terms."""

import jax
import jax.numpy as jnp
import numpy as np

import permjax
from permjax.models.families import Family
from permjax.resources import MemoryEstimate
from permjax.solvers import Auto, Solver, SolveResult, Status

import bruteforce_pi as bp


class DenseLU(Solver):
    """A toy solver: the augmented operator assembled column by column and solved by dense LU
    (jnp.linalg.solve); small N only."""

    name = "dense_lu"

    def compute(self, state, operator, b, x0, maxiter):
        shape = b.shape
        n = b.size
        cols = jax.vmap(lambda e: operator.mv(e.reshape(shape)).ravel())(jnp.eye(n, dtype=b.dtype))
        A = cols.T + jnp.diag(jnp.where(operator.layout.block_mask.ravel(), 0.0, 1.0))  # padding: identity
        x = jnp.linalg.solve(A, b.ravel()).reshape(shape)
        res = jnp.linalg.norm(b - operator.mv(x)) / jnp.linalg.norm(b)
        return SolveResult(x, jnp.where(res <= 10 * self.tol, Status.SUCCESSFUL, Status.BREAKDOWN), jnp.asarray(1), res)

    def memory(self, N, batch=1, block="all"):
        n = permjax.dicke.DickeLayout(N).n_J * (N + 1) ** 2
        return MemoryEstimate(batch * 16 * n * n, 0, {"dense matrix": 16 * n * n})

    def supports(self, N, model, block="all"):
        return block == "all" and N <= 6


def general_model(g=0.4):
    sx, sy, sz, sm, sp = (permjax.sigma_x, permjax.sigma_y, permjax.sigma_z, permjax.sigma_minus, permjax.sigma_plus)
    return permjax.PIModel(2, hamiltonian=[(0.7, sx / 2), (1.1, sx / 2, sy / 2), (1.1, sy / 2, sx / 2)],
                           collective=[(1.0, sm)], local=[(g, sz), (0.5, 0.3 * sm + 0.95 * sp)])


def test_a_new_solver_is_one_class_and_one_entry_in_auto():
    N, model = 4, general_model()
    ref = bp.mutual_information(bp.steady_state(model, N), N) / N
    st = permjax.steady_state(N, model, method=DenseLU())
    assert bool(st.diagnostics.converged) and int(st.diagnostics.status) == Status.SUCCESSFUL
    assert abs(float(permjax.mutual_information(st)) / N - ref) < 1e-11
    auto = Auto(order=(DenseLU(), *Auto().candidates()))
    assert isinstance(auto.select(N, model), DenseLU) and not isinstance(auto.select(20, model), DenseLU)
    st = permjax.steady_state(N, model, method=auto)
    assert abs(float(permjax.mutual_information(st)) / N - ref) < 1e-11
    # the contract gives it implicit derivatives (the transposed solve) for free
    f = lambda g: permjax.mi_finite(N, general_model(g), method=DenseLU())
    h = 1e-5
    assert abs(float(jax.grad(f)(0.4)) - (float(f(0.4 + h)) - float(f(0.4 - h))) / (2 * h)) < 1e-7
    assert permjax.solvers.memory(N, DenseLU()).total == 16 * (3 * 25) ** 2


class DrivenDephasedAtom(Family):
    """A toy family: a driven qubit ensemble with collective decay and local dephasing."""

    omega = permjax.models.families.Parameter(1.0, help="drive ω of ω J_x")
    kappa = permjax.models.families.Parameter(1.0, domain=">0", bounds=(0.5, 2.0), help="collective decay κ")
    gamma_phi = permjax.models.families.Parameter(0.1, domain=">=0", help="local dephasing γ_φ")

    NAME = "driven_dephased_atom"

    def to_model(self):
        return permjax.PIModel(2, hamiltonian=[(self.omega, permjax.sigma_x / 2)],
                               collective=[(self.kappa, permjax.sigma_minus)], local=[(self.gamma_phi, permjax.sigma_z)])


def test_a_new_family_is_one_class():
    point = DrivenDephasedAtom(omega=1.5)
    assert point.PARAMETERS == ("omega", "kappa", "gamma_phi") and point.DEFAULTS["kappa"] == 1.0
    assert point.BOUNDS == {"kappa": (0.5, 2.0)} and point.HELP["omega"].startswith("drive")
    model = point.to_model()
    terms = permjax.PIModel(2, hamiltonian=[(1.5, permjax.sigma_x / 2)], collective=[(1.0, permjax.sigma_minus)],
                            local=[(0.1, permjax.sigma_z)])
    N = 4
    a = float(permjax.mi_finite(N, point))
    assert abs(a - bp.mutual_information(bp.steady_state(terms, N), N) / N) < 1e-10
    assert abs(float(permjax.mi_thermo(point).mi) - float(permjax.mi_thermo(terms).mi)) < 1e-12
    try:
        DrivenDephasedAtom(kappa=-1.0)
    except ValueError as e:
        assert "kappa" in str(e)
    else:
        raise AssertionError("a negative kappa was accepted")
    g = jax.grad(lambda w: permjax.mi_finite(N, DrivenDephasedAtom(omega=w)))(1.5)
    assert np.isfinite(float(g))
