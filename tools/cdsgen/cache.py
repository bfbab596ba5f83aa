"""A per-user cache of work that does not change between runs of ``cdsgen generate``.

Compiling the Jinja2 templates took about a fifth of a generation run, every run, though the
templates change only when cdsgen does; reading the YAML source with positions another
fifth, though an edit changes one file. Compiled templates and parsed source files are kept
in the user's cache folder (``$CDSGEN_CACHE_DIR``, else ``$XDG_CACHE_HOME/cdsgen``, else
``~/.cache/cdsgen``).

The cache can only save time, never change an output: a compiled template is found by its
file name *and* the checksum of its source, in a folder named after the environment's
settings and the Jinja2 and Python versions; a parsed file by its name and full text, in a
folder named after the parser's own source. A folder that cannot be written, or an entry
that cannot be read, is simply work done again. ``CDSGEN_CACHE_DIR=off`` turns it off.
"""

from __future__ import annotations

import decimal
import functools
import hashlib
import marshal
import os
import pickle
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import jinja2
from jinja2.bccache import Bucket

from cdsgen.diagnostics import Diagnostics

T = TypeVar("T")


def cache_dir() -> Path | None:
    """The cache folder, or ``None`` when caching is turned off."""
    configured = os.environ.get("CDSGEN_CACHE_DIR")
    if configured == "off":
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except (KeyError, RuntimeError):  # no home folder: no cache
            return None
    return Path(base, "cdsgen")


def cache_templates(env: jinja2.Environment) -> jinja2.Environment:
    """Give ``env`` a bytecode cache of its own settings; returns ``env``."""
    root = cache_dir()
    if root is not None:
        env.bytecode_cache = _QuietBytecodeCache(root / "templates" / _fingerprint(env))
    return env


def _fingerprint(env: jinja2.Environment) -> str:
    """What the compiled code of a template depends on besides its source."""
    settings = (
        jinja2.__version__,
        sys.version,
        env.block_start_string,
        env.block_end_string,
        env.variable_start_string,
        env.variable_end_string,
        env.comment_start_string,
        env.comment_end_string,
        env.line_statement_prefix,
        env.line_comment_prefix,
        env.trim_blocks,
        env.lstrip_blocks,
        env.newline_sequence,
        env.keep_trailing_newline,
        repr(env.autoescape) if isinstance(env.autoescape, bool) else "callable",
        env.finalize is not None,
        env.optimized,
        sorted(env.extensions),
    )
    return hashlib.sha256(repr(settings).encode()).hexdigest()[:16]


class _QuietBytecodeCache(jinja2.FileSystemBytecodeCache):
    """A bytecode cache whose failures cost time only."""

    def __init__(self, directory: Path) -> None:
        super().__init__(str(directory), "%s.jinja")

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, EOFError, ValueError, TypeError):
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            os.makedirs(self.directory, exist_ok=True)
            super().dump_bytecode(bucket)
        except OSError:
            pass


# -- parsed source files ---------------------------------------------------------------------
#: Entries kept in the parsed-source cache; beyond this the oldest go.
PARSED_LIMIT = 400


def cached_parse(
    text: str, file: str, diags: Diagnostics, parse: Callable[[str, str, Diagnostics], T]
) -> T:
    """``parse(text, file, diags)``, or its earlier result for the same text of the same file.

    Reading the YAML source with positions was a fifth of a run; after an edit only the edited
    file has a new text. A result is kept only when the parse reported nothing, so a file with
    problems is parsed (and its problems reported) every time. The key also covers the parser's
    own source, so a changed parser never finds an old result."""
    root = cache_dir()
    if root is None:
        return parse(text, file, diags)
    folder = root / "parsed" / _parser_fingerprint(parse)
    key = hashlib.sha256(f"{file}\0{text}".encode()).hexdigest()
    path = folder / f"{key}.pickle"
    try:
        with path.open("rb") as f:
            return pickle.load(f)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ValueError, TypeError):
        pass
    before = len(diags.items)
    result = parse(text, file, diags)
    if len(diags.items) == before and result is not None:
        _store(folder, path, result)
    return result


def _store(folder: Path, path: Path, result: Any) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=folder, suffix=".tmp", delete=False) as f:
            pickle.dump(result, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(f.name, path)
        entries = sorted(folder.glob("*.pickle"), key=lambda p: p.stat().st_mtime)
        for old in entries[:-PARSED_LIMIT]:
            old.unlink(missing_ok=True)
    except OSError:
        pass


@functools.cache
def _parser_fingerprint(parse: Callable[..., Any]) -> str:
    module = sys.modules[parse.__module__]
    sources = [Path(module.__file__ or ""), Path(__file__).with_name("diagnostics.py")]
    digest = hashlib.sha256(sys.version.encode())
    for source in sources:
        digest.update(source.read_bytes() if source.is_file() else b"?")
    return digest.hexdigest()[:16]


# -- compiled JSON Schema validators ---------------------------------------------------------
def cached_validator(schema: dict[str, Any]) -> Callable[[Any], Any]:
    """``fastjsonschema.compile(schema)``, with the generated and compiled Python kept.

    Generating and compiling the validator of the source meta-schema took a tenth of a
    second in every run. The entry is found by the schema's text and the fastjsonschema and
    Python versions; the function is the first one of the generated code (its root)."""
    import fastjsonschema

    root = cache_dir()
    if root is None:
        return fastjsonschema.compile(schema)
    key = hashlib.sha256(repr((schema, fastjsonschema.VERSION, sys.version)).encode()).hexdigest()
    path = root / "validators" / f"{key[:32]}.marshal"
    try:
        name, code = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        source = fastjsonschema.compile_to_code(schema)
        found = re.search(r"^def (\w+)\(", source, re.MULTILINE)
        if found is None:
            return fastjsonschema.compile(schema)
        name, code = found.group(1), compile(source, f"<validator {key[:12]}>", "exec")
        _store_bytes(path, marshal.dumps((name, code)))
    # what compile() puts beside the code that its printed form leaves out
    namespace: dict[str, Any] = {"Decimal": decimal.Decimal, "custom_formats": {}}
    exec(code, namespace)  # our own compiled output of fastjsonschema, as compile() does
    return namespace[name]


def _store_bytes(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, suffix=".tmp", delete=False) as f:
            f.write(data)
        os.replace(f.name, path)
    except OSError:
        pass


# -- derived texts -----------------------------------------------------------------------------
#: Entries kept per kind of derived text; beyond this the least recently used go.
DERIVED_LIMIT = 200


def cached_text(kind: str, given: bytes, make: Callable[[], str]) -> str:
    """``make()``, a pure function of ``given``, or its earlier result for the same bytes.

    For outputs derived from an input that usually did not change since the last run (the
    YAML of a description whose JSON is the same, a package's files formatted by ruff): the
    entry is found by the SHA-256 of ``given`` and of ``kind``, which names the function and
    the version of any tool it runs."""
    root = cache_dir()
    if root is None:
        return make()
    folder = root / "derived" / hashlib.sha256(kind.encode()).hexdigest()[:16]
    path = folder / hashlib.sha256(given).hexdigest()
    try:
        text = path.read_bytes().decode("utf-8")
        os.utime(path)  # recently used: kept longest
        return text
    except (OSError, UnicodeDecodeError):
        pass
    text = make()
    _store_bytes(path, text.encode("utf-8"))
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime)
        for old in entries[:-DERIVED_LIMIT]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
    return text
