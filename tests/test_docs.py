"""The documentation site: ``mkdocs build --strict`` passes (no warning: a broken link, a docstring
mkdocstrings cannot parse, a page missing from the nav), every page of the nav exists, and the
python examples of the pages marked ``<!-- docs-test: ... -->`` run."""

import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
MARK = "<!-- docs-test: run the python blocks -->"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)


def nav_pages():
    """The Markdown files the nav of mkdocs.yml names (read without a YAML parser: one
    ``- Title: page.md`` or ``- page.md`` per line)."""
    text = (ROOT / "mkdocs.yml").read_text()
    nav = text.split("\nnav:\n", 1)[1]
    nav = nav.split("\n\n", 1)[0]
    return re.findall(r"^\s*-\s*(?:[^:\n]+:\s*)?([\w./-]+\.md)\s*$", nav, re.M)


def marked_pages():
    return sorted(p for p in DOCS.rglob("*.md") if MARK in p.read_text())


def test_every_page_of_the_nav_exists():
    pages = nav_pages()
    assert "index.md" in pages and "getting-started.md" in pages and "api/solvers.md" in pages
    missing = [p for p in pages if not (DOCS / p).is_file()]
    assert missing == []
    assert len(set(pages)) == len(pages)


def test_the_benchmark_results_the_docs_read_are_tracked():
    """benchmarks/results/ is ignored by git (runs write there); the files the site's tables read
    must be committed all the same, or a fresh clone cannot build the site."""
    named = set(re.findall(r"benchmarks/results/([\w.-]+\.json)", (DOCS / "gen_benchmarks.py").read_text()))
    assert named, "docs/gen_benchmarks.py names no results file"
    try:
        out = subprocess.run(["git", "ls-files", "benchmarks/results"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    tracked = {pathlib.Path(line).name for line in out.split()}
    assert sorted(named - tracked) == []


def test_the_marked_pages_have_examples():
    for name in ("getting-started.md", "models.md", "thermodynamic-limit.md", "finite-n.md"):
        assert DOCS / name in marked_pages(), f"{name} should run its python blocks"
    for page in marked_pages():
        assert BLOCK.findall(page.read_text()), f"{page.name} is marked but has no python block"


def test_readme_is_short_and_cites_no_spec_sections():
    """The README stays an overview (at most 150 lines) that starts with the two commands, and
    the sources cite the paper's equations and docs/theory.md, not the spec's sections."""
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 150
    assert 'pip install -e ".[test,plot]" && permjax thermo' in text and "python3 -m pytest -n 2 -q tests" in text
    assert 'python3 -m pytest -n 2 -q -m "not slow" tests' in text and "mkdocs serve" in text
    cited = [str(p.relative_to(ROOT)) for p in [ROOT / "README.md", *(ROOT / "permjax").rglob("*.py"), *DOCS.rglob("*.md")]
             if "SPEC §" in p.read_text()]
    assert cited == []


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1",
               PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    out = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    assert "WARNING" not in out.stderr
    for page in nav_pages():
        html = tmp_path / "site" / ("index.html" if page == "index.md" else page[:-3] + "/index.html")
        assert html.is_file(), f"{page} was not rendered"
    # the generated parts were filled in
    bench = (tmp_path / "site" / "benchmarks" / "index.html").read_text()
    assert "<!-- bench:" not in bench and "symmetric.json" in bench
    cli = (tmp_path / "site" / "cli" / "index.html").read_text()
    assert "<!-- cli-help" not in cli and "usage: permjax spectrum" in cli


def _blocks():
    return [pytest.param(page, i, code, id=f"{page.stem}-{i}")
            for page in marked_pages() for i, code in enumerate(BLOCK.findall(page.read_text()))]


@pytest.mark.slow
@pytest.mark.parametrize("page, index, code", _blocks())
def test_python_examples_run(page, index, code, monkeypatch):
    monkeypatch.chdir(ROOT)  # examples may name files of the repository (examples/models/...)
    exec(compile(code, f"{page.name}[python block {index}]", "exec"), {"__name__": "__docs__"})
