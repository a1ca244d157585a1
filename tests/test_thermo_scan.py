"""Issue 13: no (J, h, Γ) point of the LMG mean field returns a number that a long scipy
integration contradicts (Γ ∈ [0, 10], h ∈ [0, 100], 𝒥 ∈ [−100, 100], γ = 1). The bigger grid is
benchmarks/thermo_scan.py."""

import itertools
import warnings

import numpy as np

import permjax
from permjax import LMG

from meanfield_reference import lmg_long_run, verdicts

GRID = list(itertools.product([-100.0, 3.0, 100.0], [0.0, 10.0, 100.0], [0.0, 2.5, 10.0]))  # (J, h, Γ)


def test_no_number_contradicted_by_a_long_scipy_run():
    J, h, G = (np.array(x) for x in zip(*GRID))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = permjax.mi_thermo(LMG(J, h, G, 1.0))
        mi = np.asarray(res.mi)
    ref = lmg_long_run(np.stack([J, h, G, np.ones_like(J)], -1))
    assert ref[3]
    v = verdicts(np.asarray(res.kind), mi, np.asarray(res.m_mean), ref)
    bad = [(GRID[i], float(mi[i]), float(ref[0][i])) for i, x in enumerate(v) if x == "contradicted"]
    assert not bad, bad
    assert v.count("nan") <= 2  # unfinished points say so; here (nearly) every point resolves
    assert np.all(np.isfinite(mi) == np.asarray(res.converged))  # a number exactly where it converged
    assert np.all(np.asarray(res.finished)[np.isfinite(mi)])
