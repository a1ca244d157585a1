"""The notebooks execute top to bottom (nbclient, kernel python3) in their small-size mode."""

import os
import pathlib

import pytest

import permjax

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = pathlib.Path(__file__).resolve().parent.parent / "notebooks"


@pytest.mark.parametrize("name", ["01_quickstart.ipynb", "02_paper_figures.ipynb", "03_sweeps_and_search.ipynb",
                                  "04_dynamics_and_spectrum.ipynb"])
def test_notebook_runs_in_quick_mode(name, tmp_path, monkeypatch):
    for needed in ("mi_thermo", "mi_finite"):
        if not hasattr(permjax, needed):
            pytest.skip(f"permjax.{needed} is not available yet")
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit notebooks without outputs"
    monkeypatch.setenv("PERMJAX_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    client = nbclient.NotebookClient(nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
