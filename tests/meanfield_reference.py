"""Independent N → ∞ references: the N-unit Lindbladian (numpy kron) on product states r^{⊗N},
its exact 1/N extrapolation to the mean-field drift (docs/theory.md §6), and that drift fitted as a
quadratic polynomial of ξ for long scipy integrations."""

import itertools

import numpy as np
from scipy.integrate import solve_ivp


def embed(op, i, N, d):
    mats = [np.eye(d)] * N
    mats[i] = op
    out = mats[0]
    for m in mats[1:]:
        out = np.kron(out, m)
    return out


def dissipator(L, rho):
    LdL = L.conj().T @ L
    return L @ rho @ L.conj().T - 0.5 * (LdL @ rho + rho @ LdL)


def unit_rate(terms, r, N):
    """d r_1/dt for ρ = r^{⊗N}: Tr_{2..N} of the full Lindbladian (Eq. 1) applied to ρ.
    ``terms``: {"hamiltonian": [(c, A) or (c, A, B)], "collective": [(rate, A)], "local": [(rate, L)]}."""
    d = r.shape[0]
    rho = r
    for _ in range(N - 1):
        rho = np.kron(rho, r)
    tot = lambda A: sum(embed(A, i, N, d) for i in range(N))
    H = np.zeros((d**N, d**N), complex)
    for t in terms["hamiltonian"]:
        H += t[0] * tot(t[1]) if len(t) == 2 else (t[0] / N) * tot(t[1]) @ tot(t[2])
    out = -1j * (H @ rho - rho @ H)
    for rate, A in terms["collective"]:
        out += (rate / N) * dissipator(tot(A), rho)
    for rate, L in terms["local"]:
        out += rate * sum(dissipator(embed(L, i, N, d), rho) for i in range(N))
    return np.trace(out.reshape(d, d ** (N - 1), d, d ** (N - 1)), axis1=1, axis2=3)


def mean_field_rate(terms, r):
    """The N → ∞ limit of d r_1/dt: exactly 3 f(3) − 2 f(2) (affine in 1/N)."""
    return 3 * unit_rate(terms, r, 3) - 2 * unit_rate(terms, r, 2)


def terms_of(model):
    """A PIModel's terms as plain (float, ndarray) tuples."""
    return {
        "hamiltonian": [(float(t.c), t.A.array) if not hasattr(t, "B") else (float(t.c), t.A.array, t.B.array)
                        for t in model.hamiltonian],
        "collective": [(float(t.rate), t.A.array) for t in model.collective],
        "local": [(float(t.rate), t.L.array) for t in model.local],
    }


def fitted_drift(terms, v):
    """The brute-force mean-field drift on ξ (basis ``v``, r = (1 + ξ·v)/d) as a numpy function:
    it is a quadratic polynomial, fitted exactly from evaluations at random ξ."""
    d = v.shape[-1]
    n = d * d - 1
    pairs = list(itertools.combinations_with_replacement(range(n), 2))
    feats = lambda x: np.concatenate([[1.0], x, [x[i] * x[j] for i, j in pairs]])
    rng = np.random.default_rng(0)
    X = rng.normal(size=(len(pairs) + n + 1 + 8, n)) * 0.3
    Y = []
    for x in X:
        r = (np.eye(d) + np.tensordot(x, v, axes=1)) / d
        dr = mean_field_rate(terms, r)
        Y.append((d / 2) * np.real(np.einsum("ij,lji->l", dr, v)))
    coef, *_ = np.linalg.lstsq(np.array([feats(x) for x in X]), np.array(Y), rcond=None)
    return lambda t, x: feats(x) @ coef


TIGHT = dict(method="DOP853", rtol=1e-11, atol=1e-13)


def unit_entropy(xi, v):
    """S(r) of r = (1 + ξ·v)/d (v: the Gell-Mann matrices), by numpy's eigvalsh."""
    d = v.shape[-1]
    w = np.linalg.eigvalsh((np.eye(d) + np.tensordot(xi, v, axes=1)) / d)
    w = w[w > 0]
    return float(-np.sum(w * np.log(w)))


def one_period(f, x0, t_settle, period_guess, v):
    """A limit cycle by scipy: settle from ``x0`` for ``t_settle``, time the first return to the
    plane through x ⟂ f(x) within 2.5 ``period_guess``, then integrate ξ and S(r) over that period
    (Eq. 13). ``f(t, x)``. Returns (T, distance of the return from x, I_M/N = S(ξ̄) − mean S)."""
    n = len(x0)
    x = solve_ivp(f, (0, t_settle), x0, **TIGHT).y[:, -1]
    normal = f(0, x) / np.linalg.norm(f(0, x))
    plane = lambda t, y: normal @ (y - x)
    plane.direction = 1
    one = solve_ivp(f, (0, 2.5 * period_guess), x, events=plane, **TIGHT)
    later = one.t_events[0] > 1e-6
    T = one.t_events[0][later][0]
    closure = float(np.max(np.abs(one.y_events[0][later][0] - x)))
    aug = lambda t, y: np.concatenate([f(t, y[:n]), y[:n], [unit_entropy(y[:n], v)]])
    q = solve_ivp(aug, (0, T), np.concatenate([x, np.zeros(n + 1)]), **TIGHT).y[n:, -1] / T
    return T, closure, unit_entropy(q[:n], v) - q[n]


def _binary_entropy(x):
    x = np.clip(x, 0.0, 1.0)
    out = np.zeros_like(x)
    for p in ((1 + x) / 2, (1 - x) / 2):
        ok = p > 0
        out[ok] -= p[ok] * np.log(p[ok])
    return out


def lmg_long_run(points, m0=(0.1, 0.0, 0.99), t_transient=400.0, t_window=100.0, samples=20001):
    """Eq. 16 for many LMG points (rows J, h, Γ, γ) as one vectorised DOP853 solve (rtol 1e-10)
    from ``m0``, past ``t_transient``/γ; over the window after it returns the smooth (bump) window
    averages I_M/N = b(|m̄|) − mean b(|m|), m̄, and the largest distance of the window from m̄."""
    p = np.asarray(points, float)
    J, h, G, g = (p[:, k:k + 1] for k in range(4))
    P = len(p)

    def rhs(t, y):
        m = y.reshape(P, 3)
        mx, my, mz = m[:, :1], m[:, 1:2], m[:, 2:]
        return np.concatenate([J * my * mz + G * mx * mz / 2 - g * mx / 2,
                               -J * mx * mz - h * mz + G * my * mz / 2 - g * my / 2,
                               h * my - G * (mx * mx + my * my) / 2 + g * (1 - mz)], axis=1).ravel() / g.ravel().repeat(3)

    # time in units of 1/γ per point (the right-hand side is divided by γ)
    u = np.linspace(0.0, 1.0, samples)
    t = t_transient + t_window * u
    sol = solve_ivp(rhs, (0, t[-1]), np.tile(np.asarray(m0, float), P), method="DOP853", rtol=1e-10, atol=1e-12,
                    t_eval=t)
    m = sol.y.reshape(P, 3, -1).transpose(0, 2, 1)  # (P, samples, 3)
    inside = (u > 0) & (u < 1)
    w = np.where(inside, np.exp(-1.0 / np.where(inside, u * (1 - u), 1.0)), 0.0)
    w /= w.sum()
    m_bar = np.einsum("s,psk->pk", w, m)
    mean_b = _binary_entropy(np.linalg.norm(m, axis=-1)) @ w
    mi = _binary_entropy(np.linalg.norm(m_bar, axis=-1)) - mean_b
    spread = np.max(np.linalg.norm(m - m_bar[:, None, :], axis=-1), axis=1)
    return mi, m_bar, spread, sol.success


def verdicts(kind, mi, m_mean, ref):
    """Per point: "nan" (no number returned), "agrees" or "contradicted" by ``lmg_long_run``'s
    ``ref``: a fixed point must be where the long run sits (window within 1e-4 of it), a limit
    cycle's I_M/N must match the window average to 1e-4, a not-resolved (window) estimate to 0.05."""
    ref_mi, ref_m, spread, _ = ref
    out = []
    for k, v, m, rmi, rm, sp in zip(kind, mi, m_mean, ref_mi, ref_m, spread):
        if not np.isfinite(v):
            out.append("nan")
        elif k == 0:
            out.append("agrees" if sp < 1e-4 and np.max(np.abs(m - rm)) < 1e-4 and v == 0.0 else "contradicted")
        elif k == 1:
            out.append("agrees" if abs(v - rmi) <= 1e-4 else "contradicted")
        else:
            out.append("agrees" if abs(v - rmi) <= 0.05 else "contradicted")
    return out
