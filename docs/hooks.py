"""mkdocs hooks (``hooks:`` in mkdocs.yml): pages that are generated while the site builds.

* ``benchmarks.md``: each ``<!-- bench: NAME -->`` line becomes the table ``docs/gen_benchmarks.py``
  renders from ``benchmarks/results/*.json``.
* ``cli.md``: each ``<!-- cli-help: COMMAND -->`` line becomes the output of
  ``permjax COMMAND --help`` (``<!-- cli-help: -->`` that of ``permjax --help``), read from the
  parser itself, so the page never drifts from the program.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import pathlib
import re
import sys

DOCS = pathlib.Path(__file__).resolve().parent
ROOT = DOCS.parent
HELP = re.compile(r"^<!-- cli-help: ?([a-z]*) -->$", re.M)
HELP_WIDTH = 100


def _gen_benchmarks():
    spec = importlib.util.spec_from_file_location("gen_benchmarks", DOCS / "gen_benchmarks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cli_help(command: str = "") -> str:
    """The ``--help`` text of ``permjax`` or one of its subcommands, at a fixed width."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from permjax.cli import build_parser

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(HELP_WIDTH)
    try:
        parser = build_parser()
        if command:
            sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
            parser = sub.choices[command]
        return parser.format_help().rstrip()
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def on_page_markdown(markdown, page, config, files):
    src = page.file.src_uri
    if src == "benchmarks.md":
        return _gen_benchmarks().expand(markdown)
    if src == "cli.md":
        return HELP.sub(lambda m: "```text\n" + cli_help(m.group(1)) + "\n```", markdown)
    return markdown
