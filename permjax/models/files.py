"""Model files (TOML): a family of the zoo with parameter values, or a model spelled out as terms.

A family of the zoo (``permjax.models.zoo.FAMILIES``); parameters not given take its defaults::

    family = "lmg"
    [parameters]
    J = 3.0
    h = 0.5

Terms of the paper's Eq. 1 (docs/theory.md §2). The coefficients named in ``[parameters]`` are the
model's parameters (what sweep axes, ``--set`` and ``--over`` refer to); a coefficient may also
be a plain number (fixed)::

    d = 2                                   # top-level keys come before the first [table]
    name = "lmg"                            # optional: the family's name (default: the file's stem)

    [parameters]                            # name = value, or a table:
    J = 3.0
    h = 0.5
    Gamma = { value = 1.68, bounds = [1.0, 4.0] }
    gamma = { value = 1.0, domain = ">0", help = "local pumping" }

    [[hamiltonian]]                         # coefficient Σ_i A^(i); with B: (coefficient/N) A_tot B_tot
    coefficient = "J"
    A = "sigma_x/2"
    B = "sigma_x/2"

    [[collective]]                          # (rate/N) D[A_tot]
    rate = "Gamma"
    A = "sigma_minus"

    [[local]]                               # rate Σ_i D[L^(i)]
    rate = "gamma"
    L = "sigma_plus"

A coefficient or rate is a number, a parameter name, or a parameter with a real factor
(``"0.25*J"``, ``"J/4"``, ``"-h"``). A parameter used as a rate has domain ≥ 0 unless its table
says otherwise (``domain = ">=0"`` or ``">0"``); ``bounds = [lo, hi]`` is its default search box.

A matrix is either a name — ``sigma_x``, ``sigma_y``, ``sigma_z``, ``sigma_plus`` (|↑⟩⟨↓|),
``sigma_minus`` (d = 2 only), ``identity``, ``ket_bra(a,b)`` (|a⟩⟨b|, levels 0 … d−1),
``gell_mann(k)`` (k = 1 … d²−1, in the order of ``permjax.gell_mann(d)``) — with an optional real
factor (``"sigma_x/2"``, ``"0.5*sigma_x"``, ``"-sigma_y"``), or a d×d list of rows whose entries
are numbers or complex numbers written as strings in Python's notation: ``[[0, "-1j"], ["1j", 0]]``.

``load_model(path)`` returns a family point (a point of the zoo family, or of a family made
from the file with ``permjax.family``), or a ``PIModel`` when the file names no parameters.
Every problem raises ``ModelFileError`` (a ``ValueError``) whose message starts with the file's
path and names the key at fault.
"""

from __future__ import annotations

import inspect
import math
import os
import re
import sys

import numpy as np

from . import operators
from .families import _DOMAINS, family
from .pimodel import PIModel

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ModelFileError(ValueError):
    """A model file that cannot be read: ``"<path>: <problem>"``."""


_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_SCALED = re.compile(
    rf"^\s*(?:(?P<mul>{_NUMBER})\s*\*\s*|(?P<sign>[+-])\s*)?"
    rf"(?P<name>[A-Za-z_][A-Za-z_0-9]*(?:\s*\([^()]*\))?)"
    rf"(?:\s*/\s*(?P<div>{_NUMBER}))?\s*$"
)
_TERM_KEYS = {"hamiltonian": ("coefficient", "A", "B"), "collective": ("rate", "A"), "local": ("rate", "L")}
_TERMS_FILE_KEYS = ("d", "name", "parameters", "hamiltonian", "collective", "local")
_QUBIT = {"sigma_x": operators.sigma_x, "sigma_y": operators.sigma_y, "sigma_z": operators.sigma_z,
          "sigma_plus": operators.sigma_plus, "sigma_minus": operators.sigma_minus}


class _Problem(Exception):
    """Raised while parsing; ``load_model`` prefixes the file name."""


def load_model(path):
    """The model described by the TOML file ``path`` (see the module docstring for the format).

    Returns a family point or, for a file of terms without parameters, a ``PIModel``.
    Raises ``ModelFileError`` (a ``ValueError``) naming the file and the problem.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such model file") from None
    except IsADirectoryError:
        raise ModelFileError(f"{path}: is a directory, not a model file") from None
    except OSError as e:
        raise ModelFileError(f"{path}: cannot read the model file ({e.strerror or e})") from None
    except tomllib.TOMLDecodeError as e:
        raise ModelFileError(f"{path}: not valid TOML ({e})") from None
    except UnicodeDecodeError:
        raise ModelFileError(f"{path}: not valid TOML (not UTF-8 text)") from None
    stem = os.path.splitext(os.path.basename(path))[0]
    return parse_model(data, source=path, default_name=stem)


def parse_model(data: dict, source: str = "model", default_name: str = "model"):
    """The model described by ``data`` (a parsed TOML document, see the module docstring).

    Errors raise ``ModelFileError`` whose message starts with ``source``.
    """
    try:
        if not isinstance(data, dict):
            raise _Problem(f"expected a table of keys, got {type(data).__name__}")
        if "family" in data:
            return _zoo_point(data)
        return _terms_model(data, default_name)
    except _Problem as e:
        raise ModelFileError(f"{source}: {e}") from None
    except ValueError as e:  # the family's or PIModel's own validation
        raise ModelFileError(f"{source}: {e}") from None


# --- a family of the zoo ---------------------------------------------------------------------


def _zoo_point(data: dict):
    from .zoo import FAMILIES

    extra = sorted(set(data) - {"family", "parameters"})
    if extra:
        spelled = sorted(set(extra) & set(_TERM_KEYS) | ({"d"} & set(extra)))
        hint = " (a file names a family or spells out terms, not both)" if spelled else ""
        raise _Problem(f"unknown key(s) {extra} next to 'family'; expected 'family' and [parameters]{hint}")
    name = data["family"]
    if not isinstance(name, str) or name.lower() not in FAMILIES:
        raise _Problem(f"unknown family {name!r}; the zoo has {sorted(FAMILIES)}")
    cls = FAMILIES[name.lower()]
    table = data.get("parameters", {})
    if not isinstance(table, dict):
        raise _Problem(f"'parameters' must be a table of name = value, got {_kind(table)}")
    unknown = sorted(set(table) - set(cls.PARAMETERS))
    if unknown:
        raise _Problem(f"unknown {cls.NAME} parameter(s) {unknown} in [parameters]; expected some of {cls.PARAMETERS}")
    values = {k: _number(v, f"parameter {k}") for k, v in table.items()}
    return cls(**values)


# --- a model spelled out as terms ------------------------------------------------------------


def _terms_model(data: dict, default_name: str):
    table = data.get("parameters", {})
    if not isinstance(table, dict):
        raise _Problem(f"'parameters' must be a table, got {_kind(table)}")
    extra = sorted(set(data) - set(_TERMS_FILE_KEYS))
    if extra:
        raise _Problem(f"unknown key(s) {extra}; a model file has 'family' and [parameters], or "
                       f"{', '.join(_TERMS_FILE_KEYS)}")
    if "d" not in data:
        hint = " (it is inside [parameters]: top-level keys go before the first [table])" if "d" in table else ""
        raise _Problem("missing 'd' (levels per unit) or 'family' (a zoo family)" + hint)
    d = data["d"]
    if isinstance(d, bool) or not isinstance(d, int) or d < 2:
        raise _Problem(f"'d' must be an integer >= 2, got {d!r}")
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name:
        raise _Problem(f"'name' must be a non-empty string, got {name!r}")
    for kind in _TERM_KEYS:
        if kind in table:
            raise _Problem(f"'{kind}' is inside [parameters]: write the terms as [[{kind}]] tables")
    params, domain, bounds, help_ = _parameter_table(table)

    terms = {}
    used = set()
    for kind, keys in _TERM_KEYS.items():
        raw = data.get(kind, [])
        if not isinstance(raw, list):
            raise _Problem(f"'{kind}' must be a list of [[{kind}]] tables, got {_kind(raw)}")
        parsed = []
        for k, term in enumerate(raw, 1):
            where = f"[[{kind}]] #{k}"
            if not isinstance(term, dict):
                raise _Problem(f"{where} must be a table with keys {', '.join(keys)}, got {_kind(term)}")
            bad = sorted(set(term) - set(keys))
            if bad:
                raise _Problem(f"{where}: unknown key(s) {bad}; expected {', '.join(keys)}")
            required = keys[:2]
            missing = [key for key in required if key not in term]
            if missing:
                raise _Problem(f"{where}: missing '{missing[0]}'")
            coeff = _coefficient(term[keys[0]], params, f"{where}: {keys[0]}")
            if coeff[0] is not None:
                used.add(coeff[0])
                if kind != "hamiltonian" and coeff[1] > 0 and coeff[0] not in domain:
                    domain[coeff[0]] = ">=0"  # a rate
            elif kind != "hamiltonian" and coeff[1] < 0:
                raise _Problem(f"{where}: rate must be >= 0, got {coeff[1]:g}")
            mats = tuple(_matrix(term[key], d, f"{where}: {key}") for key in keys[1:] if key in term)
            parsed.append((coeff, mats))
        terms[kind] = parsed
    if not any(terms.values()):
        raise _Problem("no terms: give [[hamiltonian]], [[collective]] or [[local]] tables")
    unused = [p for p in params if p not in used]
    if unused:
        raise _Problem(f"parameter(s) {unused} in [parameters] are used by no term")

    def build(**p):
        def value(coeff):
            ref, factor = coeff
            return factor if ref is None else factor * p[ref] if factor != 1.0 else p[ref]

        return PIModel(d, **{kind: [(value(c), *mats) for c, mats in parsed] for kind, parsed in terms.items()})

    if not params:
        return build()
    build.__signature__ = inspect.Signature(
        [inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in params])
    build.__name__ = name
    build.__doc__ = f"The model of a model file ({name}, d = {d})."
    cls = family(build, name=name, defaults=params, domain=domain, bounds=bounds, help=help_)
    point = cls()
    point.to_model()  # Hermiticity and the terms' own checks, at the file's values
    return point


def _parameter_table(table: dict):
    params, domain, bounds, help_ = {}, {}, {}, {}
    for name, entry in table.items():
        what = f"parameter {name}"
        if not re.fullmatch(r"[A-Za-z_][A-Za-z_0-9]*", name):
            raise _Problem(f"{what}: a parameter name must be an identifier (letters, digits, _)")
        if isinstance(entry, dict):
            bad = sorted(set(entry) - {"value", "bounds", "domain", "help"})
            if bad:
                raise _Problem(f"{what}: unknown key(s) {bad}; expected value, bounds, domain, help")
            if "value" not in entry:
                raise _Problem(f"{what}: missing 'value'")
            params[name] = _number(entry["value"], f"{what}: value")
            if "bounds" in entry:
                b = entry["bounds"]
                if not isinstance(b, list) or len(b) != 2:
                    raise _Problem(f"{what}: bounds must be [lo, hi], got {b!r}")
                lo, hi = (_number(x, f"{what}: bounds") for x in b)
                if not lo < hi:
                    raise _Problem(f"{what}: bounds must have lo < hi, got [{lo:g}, {hi:g}]")
                bounds[name] = (lo, hi)
            if "domain" in entry:
                if entry["domain"] not in _DOMAINS:
                    raise _Problem(f"{what}: domain must be one of {sorted(_DOMAINS)}, got {entry['domain']!r}")
                domain[name] = entry["domain"]
            if "help" in entry:
                if not isinstance(entry["help"], str):
                    raise _Problem(f"{what}: help must be a string")
                help_[name] = entry["help"]
        else:
            params[name] = _number(entry, what)
    return params, domain, bounds, help_


def _number(v, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _Problem(f"{what} must be a real number, got {v!r}")
    if not math.isfinite(v):
        raise _Problem(f"{what} must be finite, got {v!r}")
    return float(v)


def _scaled(text: str, what: str) -> tuple[str, float]:
    """``"0.5*name"``, ``"name/2"``, ``"-name"`` → (name, factor)."""
    m = _SCALED.match(text)
    if m is None:
        raise _Problem(f"{what}: cannot read {text!r} (expected NAME, NUMBER*NAME or NAME/NUMBER)")
    factor = float(m["mul"]) if m["mul"] else -1.0 if m["sign"] == "-" else 1.0
    if m["div"]:
        if float(m["div"]) == 0:
            raise _Problem(f"{what}: division by zero in {text!r}")
        factor /= float(m["div"])
    return re.sub(r"\s+", "", m["name"]), factor


def _coefficient(v, params: dict, what: str) -> tuple[str | None, float]:
    """(parameter name or None, factor): the coefficient is factor·parameter, or factor."""
    if isinstance(v, str):
        try:
            return None, _number(float(v), what)
        except ValueError:
            pass
        name, factor = _scaled(v, what)
        if name not in params:
            raise _Problem(f"{what}: {name!r} is not a parameter; [parameters] has {sorted(params)}")
        return name, factor
    return None, _number(v, what)


def _matrix(v, d: int, what: str) -> np.ndarray:
    if isinstance(v, str):
        name, factor = _scaled(v, what)
        return factor * _named_matrix(name, d, what)
    if not isinstance(v, list) or len(v) != d or not all(isinstance(row, list) and len(row) == d for row in v):
        raise _Problem(f"{what} must be a matrix name or a {d}×{d} list of rows, got {v!r}")
    return np.array([[_entry(x, what) for x in row] for row in v], dtype=np.complex128)


def _entry(x, what: str) -> complex:
    if isinstance(x, str):
        try:
            z = complex(x.replace(" ", ""))
        except ValueError:
            raise _Problem(f"{what}: cannot read the entry {x!r} as a complex number (write e.g. \"0.5j\", \"1-2j\")") from None
    elif isinstance(x, bool) or not isinstance(x, (int, float)):
        raise _Problem(f"{what}: entries must be numbers or complex strings like \"0.5j\", got {x!r}")
    else:
        z = complex(x)
    if not (math.isfinite(z.real) and math.isfinite(z.imag)):
        raise _Problem(f"{what}: entry {x!r} is not finite")
    return z


def _named_matrix(name: str, d: int, what: str) -> np.ndarray:
    call = re.fullmatch(r"(ket_bra|gell_mann)\(([^()]*)\)", name)
    if name in _QUBIT:
        if d != 2:
            raise _Problem(f"{what}: {name} is a qubit matrix (d = 2); the model has d = {d}")
        return _QUBIT[name]
    if name == "identity":
        return operators.identity(d)
    if call is not None:
        try:
            args = [int(a) for a in call[2].split(",")]
        except ValueError:
            raise _Problem(f"{what}: the arguments of {call[1]} must be integers, got {name!r}") from None
        if call[1] == "ket_bra":
            if len(args) != 2 or not all(0 <= a < d for a in args):
                raise _Problem(f"{what}: ket_bra(a,b) needs two levels in 0..{d - 1}, got {name!r}")
            return operators.ket_bra(d, *args)
        if len(args) != 1 or not 1 <= args[0] <= d * d - 1:
            raise _Problem(f"{what}: gell_mann(k) needs k in 1..{d * d - 1} for d = {d}, got {name!r}")
        return operators.gell_mann(d)[args[0] - 1]
    known = sorted(_QUBIT) + ["identity", "ket_bra(a,b)", "gell_mann(k)"]
    raise _Problem(f"{what}: unknown matrix {name!r}; known: {', '.join(known)} (or a {d}×{d} list of rows)")


def _kind(v) -> str:
    return {dict: "a table", list: "a list", str: "a string"}.get(type(v), type(v).__name__)


__all__ = ["load_model", "parse_model", "ModelFileError"]
