"""Finite-N dynamics and Liouvillian spectrum (issue 14) against QuTiP piqs, in the same run.

Model: LMG 𝒥 = 3, h = 0.5, Γ = 1.68, γ = 1 (the paper's point; ``--h`` changes h), initial state all down.

* evolve: ``permjax.evolve`` to t = 50/γ (101 saved times, ⟨m⟩ only; rtol 1e-8, atol 1e-10) vs
  piqs (Liouvillian assembly) + ``qutip.mesolve`` (same tolerances, ⟨J_x,y,z⟩ only), from the same
  state; the difference of ⟨m⟩(t) is reported.
* spectrum: ``permjax.spectrum`` (6 eigenvalues nearest 0) vs scipy ARPACK shift-invert
  (σ = 0.01, sparse LU) on piqs's Liouvillian restricted to the block-diagonal entries (its full
  operator on the whole Dicke-basis matrix carries spurious modes between blocks); the largest
  distance from an eigenvalue of permjax to piqs's set and its conjugates is reported (the 6th
  eigenvalue may be either member of a conjugate pair; piqs's coefficients are single precision).

Each job runs in a fresh process (``common.fresh_process``) with a timeout;
``first`` = compile + run, ``warm`` = a second call. Prints tables, writes benchmarks/results/dynamics_h<h>.json.

    python3 benchmarks/dynamics.py [--N 40 80] [--spectrum-N 40 80] [--piqs-max 80] [--timeout 900] [--h 0.5]
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

MODEL = dict(J=3.0, h=0.5, Gamma=1.68, gamma=1.0)  # --h changes h; the workers get the model as an argument
T_FINAL, N_SAVED, RTOL, ATOL = 50.0, 101, 1e-8, 1e-10


def _piqs_liouvillian(N, model):
    from qutip import piqs

    jx, jy, jz = piqs.jspin(N)
    H = (model["J"] / N) * (jx * jx + jy * jy) + model["h"] * jx
    L = piqs.Dicke(N, hamiltonian=H, pumping=model["gamma"], collective_emission=model["Gamma"] / N).liouvillian()
    return L, (jx, jy, jz)


def _evolve_permjax(N, model):
    import permjax

    ts = np.linspace(0.0, T_FINAL, N_SAVED)
    lmg = permjax.LMG(**model)

    def once():
        r = permjax.evolve(N, lmg, "down", ts, mi=False, rtol=RTOL, atol=ATOL)
        return r, np.asarray(r.m)

    t = common.first_and_warm(once, repeats=1)
    r, m = t.value
    return dict(first_s=t.first_s, warm_s=t.warm_s, steps=int(r.num_steps), m=m.tolist())


def _evolve_piqs(N, model):
    import qutip
    from qutip import piqs

    ts = np.linspace(0.0, T_FINAL, N_SAVED)
    build = common.first_and_warm(lambda: _piqs_liouvillian(N, model), repeats=0)
    L, (jx, jy, jz) = build.value
    rho0 = piqs.dicke(N, N / 2, -N / 2)
    solve = common.first_and_warm(lambda: qutip.mesolve(L, rho0, ts, e_ops=[jx, jy, jz],
                                                        options={"rtol": RTOL, "atol": ATOL}), repeats=0)
    m = 2 / N * np.array(solve.value.expect).T.real
    return dict(build_s=build.first_s, solve_s=solve.first_s, total_s=build.first_s + solve.first_s, m=m.tolist())


def _spectrum_permjax(N, model):
    import permjax

    t = common.first_and_warm(lambda: permjax.spectrum(N, permjax.LMG(**model), k=6), repeats=0)
    r = t.value
    return dict(first_s=t.first_s, seconds_inside=r.seconds, eigenvalues=[[z.real, z.imag] for z in r.eigenvalues],
                max_residual=float(np.max(r.residuals)), inner_solves=int(len(r.inner_iterations)),
                max_inner_iterations=int(np.max(r.inner_iterations)), gap=r.gap)


def _block_diagonal(N, model):
    from qutip import piqs

    L = _piqs_liouvillian(N, model)[0].data.as_scipy().tocsr()
    nds = piqs.num_dicke_states(N)
    sizes = [N + 1 - 2 * k for k in range(N // 2 + 1)]
    starts = np.cumsum([0] + sizes)
    idx = np.concatenate([(s0 + a) + (s0 + np.arange(d)) * nds for s0, d in zip(starts, sizes) for a in range(d)])
    return L[idx][:, idx].tocsc()


def _spectrum_piqs(N, model):
    import scipy.sparse.linalg as spla
    from qutip import piqs  # noqa: F401 (imported before the clock starts)

    build = common.first_and_warm(lambda: _block_diagonal(N, model), repeats=0)
    solve = common.first_and_warm(lambda: spla.eigs(build.value, k=6, sigma=0.01, which="LM", return_eigenvectors=False),
                                  repeats=0)
    vals = solve.value
    vals = vals[np.argsort(np.abs(vals))]
    return dict(build_s=build.first_s, solve_s=solve.first_s, total_s=build.first_s + solve.first_s,
                eigenvalues=[[z.real, z.imag] for z in vals])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--N", type=int, nargs="*", default=[40, 80])
    ap.add_argument("--spectrum-N", type=int, nargs="+", default=[40, 80])
    ap.add_argument("--piqs-max", type=int, default=80)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--h", type=float, default=0.5)
    a = ap.parse_args()
    MODEL["h"] = a.h
    rows = {"evolve": [], "spectrum": []}

    def pair(N, ours, piqs):
        """permjax's and piqs's run at N, each in a fresh process; the row, and whether both ran."""
        pj = common.fresh_process(ours, N, MODEL, timeout=a.timeout)
        pq = common.fresh_process(piqs, N, MODEL, timeout=a.timeout) if N <= a.piqs_max else {"error": "skipped"}
        return dict(N=N, permjax=pj, piqs=pq), "error" not in pj and "error" not in pq

    for N in a.N:
        row, ok = pair(N, _evolve_permjax, _evolve_piqs)
        if ok:
            pj, pq = row["permjax"], row["piqs"]
            row["max_dm"] = float(np.max(np.abs(np.array(pj["m"]) - np.array(pq["m"]))))
            row["piqs_over_permjax_warm"] = pq["total_s"] / pj["warm_s"]
            row["piqs_over_permjax_first"] = pq["total_s"] / pj["first_s"]
        rows["evolve"].append(row)
        print(f"evolve N={N} done", file=sys.stderr, flush=True)
    for N in a.spectrum_N:
        row, ok = pair(N, _spectrum_permjax, _spectrum_piqs)
        if ok:
            zp = np.array([complex(*z) for z in row["permjax"]["eigenvalues"]])
            zq = np.array([complex(*z) for z in row["piqs"]["eigenvalues"]])
            zq = np.concatenate([zq, zq.conj()])  # the spectrum is closed under conjugation; k may split a pair
            row["max_dlambda"] = float(max(np.min(np.abs(zq - z)) for z in zp))
        rows["spectrum"].append(row)
        print(f"spectrum N={N} done", file=sys.stderr, flush=True)

    print(f"evolve to t = {T_FINAL}/γ from all-down, LMG {MODEL}, rtol {RTOL}, atol {ATOL}")
    print(common.table(rows["evolve"], [
        ("N", "N"), ("permjax 1st s", "permjax.first_s", ".2f"), ("warm s", "permjax.warm_s", ".2f"),
        ("steps", "permjax.steps"), ("piqs build s", "piqs.build_s", ".2f"), ("mesolve s", "piqs.solve_s", ".2f"),
        ("speed-up (warm)", "piqs_over_permjax_warm", ".1f"), ("max|dm|", "max_dm", ".1e"),
        common.errors("permjax", "piqs")]))
    print("\n6 eigenvalues nearest 0 of the Dicke-basis Liouvillian")
    common.report(f"dynamics_h{a.h:g}", rows["spectrum"], [
        ("N", "N"), ("permjax s", "permjax.first_s", ".2f"), ("solves", "permjax.inner_solves"),
        ("max res", "permjax.max_residual", ".1e"), ("piqs+ARPACK s", "piqs.total_s", ".2f"),
        ("max|dλ|", "max_dlambda", ".1e"), common.errors("permjax", "piqs")],
        dict(model=MODEL, t_final=T_FINAL, rows=rows, cpu_count=os.cpu_count()))


if __name__ == "__main__":
    main()
