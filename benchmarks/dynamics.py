"""Finite-N dynamics and Liouvillian spectrum (issue 14) against QuTiP piqs, in the same run.

Model: LMG 𝒥 = 3, h = 0.5, Γ = 1.68, γ = 1 (the paper's point; ``--h`` changes h), initial state all down.

* evolve: ``permjax.evolve`` to t = 50/γ (101 saved times, ⟨m⟩ only; rtol 1e-8, atol 1e-10) vs
  piqs (Liouvillian assembly) + ``qutip.mesolve`` (same tolerances, ⟨J_x,y,z⟩ only), from the same
  state; the difference of ⟨m⟩(t) is reported.
* spectrum: ``permjax.spectrum`` (6 eigenvalues nearest 0) vs scipy ARPACK shift-invert
  (σ = 0.01, sparse LU) on piqs's Liouvillian restricted to the block-diagonal entries (its full
  operator on the whole Dicke-basis matrix carries spurious modes between blocks); the largest
  distance between the two sets is reported (piqs's coefficients are single precision).

Each job runs in a fresh process (``benchmarks/finite.py``'s ``run_isolated``) with a timeout;
``first`` = compile + run, ``warm`` = a second call. Writes benchmarks/results/dynamics.json.

    python3 benchmarks/dynamics.py [--N 40 80] [--spectrum-N 40 80] [--piqs-max 80] [--timeout 900] [--h 0.5]
"""

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import finite  # noqa: E402  (run_isolated)

MODEL = dict(J=3.0, h=float(os.environ.get("PERMJAX_BENCH_H", 0.5)), Gamma=1.68, gamma=1.0)  # workers read --h here
T_FINAL, N_SAVED, RTOL, ATOL = 50.0, 101, 1e-8, 1e-10


def _evolve_permjax(N, out):
    import permjax

    ts = np.linspace(0.0, T_FINAL, N_SAVED)
    model = permjax.LMG(**MODEL)
    times = []
    for _ in range(2):
        t0 = time.perf_counter()
        r = permjax.evolve(N, model, "down", ts, mi=False, rtol=RTOL, atol=ATOL)
        m = np.asarray(r.m)
        times.append(time.perf_counter() - t0)
    out.put(dict(first_s=times[0], warm_s=times[1], steps=int(r.num_steps), m=m.tolist()))


def _evolve_piqs(N, out):
    import qutip
    from qutip import piqs

    ts = np.linspace(0.0, T_FINAL, N_SAVED)
    t0 = time.perf_counter()
    jx, jy, jz = piqs.jspin(N)
    H = (MODEL["J"] / N) * (jx * jx + jy * jy) + MODEL["h"] * jx
    L = piqs.Dicke(N, hamiltonian=H, pumping=MODEL["gamma"], collective_emission=MODEL["Gamma"] / N).liouvillian()
    build = time.perf_counter() - t0
    rho0 = piqs.dicke(N, N / 2, -N / 2)
    t1 = time.perf_counter()
    res = qutip.mesolve(L, rho0, ts, e_ops=[jx, jy, jz], options={"rtol": RTOL, "atol": ATOL})
    solve = time.perf_counter() - t1
    m = 2 / N * np.array(res.expect).T.real
    out.put(dict(build_s=build, solve_s=solve, total_s=build + solve, m=m.tolist()))


def _spectrum_permjax(N, out):
    import permjax

    model = permjax.LMG(**MODEL)
    t0 = time.perf_counter()
    r = permjax.spectrum(N, model, k=6)
    first = time.perf_counter() - t0
    out.put(dict(first_s=first, seconds_inside=r.seconds, eigenvalues=[[z.real, z.imag] for z in r.eigenvalues],
                 max_residual=float(np.max(r.residuals)), inner_solves=int(len(r.inner_iterations)),
                 max_inner_iterations=int(np.max(r.inner_iterations)), gap=r.gap))


def _spectrum_piqs(N, out):
    import scipy.sparse.linalg as spla

    sys.path.insert(0, os.path.join(HERE, "..", "tests"))
    from qutip import piqs

    t0 = time.perf_counter()
    jx, jy, jz = piqs.jspin(N)
    H = (MODEL["J"] / N) * (jx * jx + jy * jy) + MODEL["h"] * jx
    L = piqs.Dicke(N, hamiltonian=H, pumping=MODEL["gamma"], collective_emission=MODEL["Gamma"] / N).liouvillian()
    L = L.data.as_scipy().tocsr()
    nds = piqs.num_dicke_states(N)
    sizes = [N + 1 - 2 * k for k in range(N // 2 + 1)]
    starts = np.cumsum([0] + sizes)
    idx = np.concatenate([(s0 + a) + (s0 + np.arange(d)) * nds for s0, d in zip(starts, sizes) for a in range(d)])
    Lb = L[idx][:, idx].tocsc()
    build = time.perf_counter() - t0
    t1 = time.perf_counter()
    vals = spla.eigs(Lb, k=6, sigma=0.01, which="LM", return_eigenvectors=False)
    solve = time.perf_counter() - t1
    vals = vals[np.argsort(np.abs(vals))]
    out.put(dict(build_s=build, solve_s=solve, total_s=build + solve, eigenvalues=[[z.real, z.imag] for z in vals]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--N", type=int, nargs="*", default=[40, 80])
    ap.add_argument("--spectrum-N", type=int, nargs="+", default=[40, 80])
    ap.add_argument("--piqs-max", type=int, default=80)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--h", type=float, default=0.5)
    a = ap.parse_args()
    os.environ["PERMJAX_BENCH_H"] = repr(a.h)
    MODEL["h"] = a.h
    rows = {"evolve": [], "spectrum": []}
    for N in a.N:
        pj = finite.run_isolated(_evolve_permjax, N, a.timeout)
        pq = finite.run_isolated(_evolve_piqs, N, a.timeout) if N <= a.piqs_max else {"error": "skipped"}
        row = dict(N=N, permjax=pj, piqs=pq)
        if "error" not in pj and "error" not in pq:
            row["max_dm"] = float(np.max(np.abs(np.array(pj["m"]) - np.array(pq["m"]))))
            row["piqs_over_permjax_warm"] = pq["total_s"] / pj["warm_s"]
            row["piqs_over_permjax_first"] = pq["total_s"] / pj["first_s"]
        rows["evolve"].append(row)
        print(f"evolve N={N} done", file=sys.stderr, flush=True)
    for N in a.spectrum_N:
        pj = finite.run_isolated(_spectrum_permjax, N, a.timeout)
        pq = finite.run_isolated(_spectrum_piqs, N, a.timeout) if N <= a.piqs_max else {"error": "skipped"}
        row = dict(N=N, permjax=pj, piqs=pq)
        if "error" not in pj and "error" not in pq:
            zp = np.array([complex(*z) for z in pj["eigenvalues"]])
            zq = np.array([complex(*z) for z in pq["eigenvalues"]])
            row["max_dlambda"] = float(max(np.min(np.abs(zq - z)) for z in zp))
        rows["spectrum"].append(row)
        print(f"spectrum N={N} done", file=sys.stderr, flush=True)

    def f(x, k, fmt="{:8.2f}"):
        return fmt.format(x[k]) if k in x else f"{x.get('error', '-')[:8]:>8}"

    print(f"evolve to t = {T_FINAL}/γ from all-down, LMG {MODEL}, rtol {RTOL}, atol {ATOL}")
    print(f"{'N':>4} | {'permjax 1st':>11} {'warm':>8} {'steps':>6} | {'piqs build':>10} {'mesolve':>8} | "
          f"{'speed-up (warm)':>15} {'max|dm|':>8}")
    for r in rows["evolve"]:
        pj, pq = r["permjax"], r["piqs"]
        print(f"{r['N']:>4} | {f(pj, 'first_s'):>11} {f(pj, 'warm_s')} {pj.get('steps', '-'):>6} | "
              f"{f(pq, 'build_s'):>10} {f(pq, 'solve_s')} | {r.get('piqs_over_permjax_warm', float('nan')):15.1f} "
              f"{r.get('max_dm', float('nan')):8.1e}")
    print("\n6 eigenvalues nearest 0 of the Dicke-basis Liouvillian")
    print(f"{'N':>4} | {'permjax':>8} {'solves':>6} {'max res':>8} | {'piqs+ARPACK':>11} | {'max|dλ|':>8}")
    for r in rows["spectrum"]:
        pj, pq = r["permjax"], r["piqs"]
        print(f"{r['N']:>4} | {f(pj, 'first_s')} {pj.get('inner_solves', '-'):>6} {pj.get('max_residual', float('nan')):8.1e} | "
              f"{f(pq, 'total_s'):>11} | {r.get('max_dlambda', float('nan')):8.1e}")
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", f"dynamics_h{a.h:g}.json"), "w") as fh:
        json.dump(dict(model=MODEL, t_final=T_FINAL, rows=rows, cpu_count=os.cpu_count()), fh, indent=1)


if __name__ == "__main__":
    main()
