"""Helpers for emitters that write Python source through Jinja2 templates.

Every value that ends up in generated Python passes through :func:`py_literal` (a Python
literal) or :func:`docstring` (text safe inside a triple-quoted string); the result is
formatted by the pinned ruff with :func:`ruff_format_package`.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tempfile
import textwrap
import tokenize
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from cdsgen.cache import cache_templates, cached_text
from cdsgen.cachedir import installed_version
from cdsgen.emit.textsafe import INVISIBLE, escape_char


def py_literal(value: Any) -> str:
    """A Python literal for a JSON-like value (strings, numbers, bools, None, lists, dicts);
    lists become tuples."""
    if isinstance(value, (list, tuple)):
        inner = ", ".join(py_literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py_literal(k)}: {py_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def docstring(text: str, indent: int = 4, width: int = 88) -> str:
    """Text for the inside of a triple-quoted docstring: wrapped, with quotes and backslashes
    escaped so that no description can end the string early."""
    paragraphs = [p for p in str(text).split("\n\n") if p.strip()]
    lines: list[str] = []
    for i, para in enumerate(paragraphs):
        if i:
            lines.append("")
        lines += textwrap.wrap(
            " ".join(para.split()),
            width=width - indent,
            break_long_words=False,
            break_on_hyphens=False,
        )
    return _escaped(("\n" + " " * indent).join(lines))


def _escaped(body: str) -> str:
    """Docstring text that cannot end the string early or hide characters: backslashes
    doubled, ``\"\"\"`` and a closing ``"`` escaped, invisible characters as escapes (so the
    docstring's value is still the text)."""
    body = body.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    body = INVISIBLE.sub(lambda m: escape_char(m.group()), body)
    return body[:-1] + '\\"' if body.endswith('"') else body


def docstring_entry(head: str, text: str, indent: int = 12, width: int = 88) -> str:
    """``head: text`` as one entry of a docstring list (``Args:``), wrapped with a hanging
    indent; escaped like :func:`docstring`."""
    lines = textwrap.wrap(
        f"{head}: " + " ".join(str(text).split()),
        width=width - indent,
        subsequent_indent="    ",
        break_long_words=False,
        break_on_hyphens=False,
    )
    return _escaped(("\n" + " " * indent).join(lines))


def escape_invisible(source: str) -> str:
    """Python ``source`` with every invisible character inside a string literal or comment
    written as an escape (code that a third-party generator wrote, e.g. the models)."""
    if not INVISIBLE.search(source):
        return source
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    edits: list[tuple[int, int, str]] = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in (tokenize.STRING, tokenize.COMMENT) or not INVISIBLE.search(tok.string):
            continue
        prefix = re.match(r"[A-Za-z]*", tok.string).group().lower()
        if "r" in prefix:
            raise ValueError(f"invisible character in a raw string: {tok.string[:60]!r}")
        start = starts[tok.start[0] - 1] + tok.start[1]
        end = starts[tok.end[0] - 1] + tok.end[1]
        edits.append((start, end, INVISIBLE.sub(lambda m: escape_char(m.group()), tok.string)))
    for start, end, text in reversed(edits):
        source = source[:start] + text + source[end:]
    return source


_MARKER = "CDSGENTEXT{:06d}X"
_MARKERS = re.compile(r"CDSGENTEXT(\d{6})X")


def protect_descriptions(data: Any) -> tuple[Any, list[str]]:
    """A copy of a JSON-like ``data`` whose ``description`` strings are replaced by plain
    markers, and the texts they stand for (see :func:`restore_descriptions`).

    Two reasons: a third-party code generator may not quote every text correctly (a
    trailing backslash, for one, ends up escaping the closing quote; invisible characters);
    and with markers its output depends on the shape of the schemas only, so a change of
    wording finds the generator's earlier output in the cache (:mod:`cdsgen.emit.codegen`)."""
    texts: list[str] = []

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "description" and isinstance(value, str):
                    texts.append(value)
                    out[key] = _MARKER.format(len(texts) - 1)
                else:
                    out[key] = walk(value)
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(data), texts


def restore_descriptions(source: str, texts: list[str]) -> str:
    """Python ``source`` with each marker replaced by its text, escaped for the inside of a
    double-quoted string or docstring (JSON's escapes are Python's)."""
    escaped = [json.dumps(" ".join(text.split()), ensure_ascii=False)[1:-1] for text in texts]
    return _MARKERS.sub(lambda m: escaped[int(m.group(1))], source)


def python_environment(templates: Path) -> Environment:
    """The Jinja2 environment of every template that renders Python: no autoescape (it is
    not HTML), so every model value must pass through the ``py``, ``docstring`` or
    ``docentry`` filter; undefined names fail instead of rendering empty."""
    env = Environment(
        loader=FileSystemLoader(templates),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        extensions=["jinja2.ext.do"],
    )
    env.filters["py"] = py_literal
    env.filters["docstring"] = docstring
    env.filters["docentry"] = docstring_entry
    return cache_templates(env)


#: The ruff runs of :func:`ruff_format_package`, in order, and the options they share.
RUFF_STEPS = (["check", "--select", "I,F401", "--fix", "--quiet"], ["format", "--quiet"])
RUFF_COMMON = ["--isolated", "--line-length", "100", "--target-version", "py311"]


def ruff_format_package(package: str, files: dict[str, str]) -> dict[str, str]:
    """Sort imports, drop unused ones and format the files of ``package`` with the pinned ruff.

    The result is a function of the files and ruff's version and options only, so the same
    files formatted in an earlier run come from the user cache (:mod:`cdsgen.cache`)."""
    kind = f"ruff_format_package {installed_version('ruff')} {RUFF_STEPS} {RUFF_COMMON} {package}"
    given = orjson.dumps(files, option=orjson.OPT_SORT_KEYS)
    made = cached_text(kind, given, lambda: orjson.dumps(_run_ruff(package, files)).decode())
    formatted = orjson.loads(made)
    return {rel: formatted[rel] for rel in files}


def ruff_format_isolated(source: str, options: Sequence[str] = ()) -> str:
    """``source`` formatted by ruff with its default settings, as datamodel-code-generator
    formats what it writes: the layout its output would have had with the texts in place of
    the markers of :func:`protect_descriptions`. ``options``: other settings (e.g.
    :data:`RUFF_COMMON`, to format again what :func:`ruff_format_package` formatted)."""
    ruff = str(Path(sys.executable).parent / "ruff")
    proc = subprocess.run(
        [ruff, "format", "--isolated", *(o for o in options if o != "--isolated"), "-"],
        input=source,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"ruff format failed:\n{proc.stderr}")
    return proc.stdout


def _run_ruff(package: str, files: dict[str, str]) -> dict[str, str]:
    """The files are laid out as the package in a temporary folder, so that import sorting
    sees the same first-party package wherever generation runs."""
    ruff = str(Path(sys.executable).parent / "ruff")
    common = RUFF_COMMON
    with tempfile.TemporaryDirectory(prefix=f"cdsgen-{package}-") as tmp:
        root = Path(tmp, package)
        for rel, text in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(escape_invisible(text), encoding="utf-8")
        for args in RUFF_STEPS:
            proc = subprocess.run(
                [ruff, *args, *common, package],
                cwd=tmp,
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                raise RuntimeError(
                    f"ruff {args[0]} failed on {package}:\n{proc.stdout}{proc.stderr}"
                )
        return {rel: (root / rel).read_text(encoding="utf-8") for rel in files}
