"""The package's import structure, parsed from the source (every import, lazy ones included): no
cycle among permjax's modules, and no module importing from a layer above its own."""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "permjax"

#: layers, lowest first: a module may import from its own layer and the ones below
LAYERS = [
    {"host", "linalg", "entropy", "validate", "interrupt", "compilation", "programs", "resources", "files", "version"},
    {"models"},
    {"dicke", "meanfield"},
    {"solvers", "interop"},
    {"timedomain"},
    {"sweep", "optimize", "figures", "phase_space"},
    {"cli", "__main__"},
    {"__init__"},
]


def module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: pathlib.Path) -> set[str]:
    """The permjax modules ``path`` imports (a name imported from a package counts as its module
    when one exists, else the package)."""
    here = module_name(path)
    pkg = here if path.name == "__init__.py" else here.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = pkg.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{a.name}" if _is_module(f"{base}.{a.name}") else base for a in node.names]
        else:
            continue
        out |= {n for n in names if n == "permjax" or n.startswith("permjax.")}
    return out - {here}


def _is_module(name: str) -> bool:
    p = PACKAGE.parent.joinpath(*name.split("."))
    return p.with_suffix(".py").exists() or (p / "__init__.py").exists()


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports(p) for p in PACKAGE.rglob("*.py")}


def layer(module: str) -> int:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    if top.startswith("cli"):
        top = "cli"
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in g:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def _parent_packages(g):
    # a package's __init__ importing its own submodules is not a cycle through them
    return {v: {w for w in ws if not w.startswith(v + ".")} if _is_module(v) and
            (PACKAGE.parent.joinpath(*v.split(".")) / "__init__.py").exists() else ws for v, ws in g.items()}


def test_no_import_cycles():
    g = _parent_packages(graph())
    assert cycles(g) == []


def test_no_import_from_a_layer_above():
    g = graph()
    upward = sorted((v, w) for v, ws in g.items() for w in ws if w in g and layer(w) > layer(v))
    assert upward == []


def test_the_checker_sees_a_cycle_and_an_upward_import():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert layer("permjax.solvers.gmres") > layer("permjax.dicke.layout")


def test_import_is_lazy_and_every_public_name_resolves():
    import subprocess
    import sys

    code = ("import sys, permjax\n"
            "heavy = [m for m in ('diffrax', 'scipy', 'permjax.solvers', 'permjax.meanfield', 'permjax.timedomain')"
            " if m in sys.modules]\n"
            "print(heavy)\n"
            "assert permjax.jax.config.jax_enable_x64\n"
            "missing = [n for n in permjax.__all__ if getattr(permjax, n, None) is None]\n"
            "print(missing)\n"
            "print(permjax.interop.__name__)\n"
            "from permjax.sweep import SweepResult\n"  # the module permjax.sweep, the function permjax.sweep
            "assert callable(permjax.sweep) and sys.modules['permjax.sweep'].SweepResult is SweepResult\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "[]", out[0]
    assert out[1] == "[]", out[1]
    assert out[2] == "permjax.interop"
    import permjax

    assert set(permjax.__all__) <= set(dir(permjax))
    with pytest.raises(AttributeError):
        permjax.no_such_name  # noqa: B018
