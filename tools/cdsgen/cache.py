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

import atexit
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
import orjson
from jinja2.bccache import Bucket

from cdsgen.cachedir import cache_dir, store_bytes
from cdsgen.diagnostics import Diagnostics

T = TypeVar("T")


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
        store_bytes(path, marshal.dumps((name, code)))
    # what compile() puts beside the code that its printed form leaves out
    namespace: dict[str, Any] = {"Decimal": decimal.Decimal, "custom_formats": {}}
    exec(code, namespace)  # our own compiled output of fastjsonschema, as compile() does
    return namespace[name]


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
    store_bytes(path, text.encode("utf-8"))
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime)
        for old in entries[:-DERIVED_LIMIT]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
    return text


# -- memo tables -------------------------------------------------------------------------------
class MemoTable:
    """Results of one pure function of text, kept together in one file of the cache.

    For results that are many and small (the YAML of each schema of a description, the verdict
    on each example): one file read at the first lookup and written once when the process
    ends (:func:`flush_memo_tables`), instead of a file per result. The file keeps the
    results used by the last run, then as many older ones as fit in ``limit``; a key is the
    SHA-256 of everything the result depends on, so a stale result cannot be found."""

    def __init__(self, root: Path | None, kind: str, limit: int) -> None:
        self.kind = kind
        self.limit = limit
        self._path: Path | None = None
        if root is not None:
            name = hashlib.sha256(kind.encode()).hexdigest()[:16]
            self._path = root / "memo" / f"{name}.json"
        self._old: dict[str, str] | None = None
        self.used: dict[str, str] = {}

    def _load(self) -> dict[str, str]:
        if self._old is None:
            self._old = {}
            if self._path is not None:
                try:
                    loaded = orjson.loads(self._path.read_bytes())
                    if isinstance(loaded, dict):
                        self._old = loaded
                except (OSError, orjson.JSONDecodeError):
                    pass
        return self._old

    def get(self, key: str, make: Callable[[], str]) -> str:
        """The result for ``key``: the one kept, or ``make()``'s (then kept)."""
        found = self.used.get(key)
        if found is None:
            found = self._load().get(key)
            if found is None:
                found = make()
            self.used[key] = found
        return found

    def take(self, results: dict[str, str]) -> None:
        """Count ``results`` (used by another process of this run) as used here."""
        self._load()
        self.used.update(results)

    def flush(self) -> None:
        """Write the file: the results used in this process first, then older ones."""
        old = self._load()
        if self._path is None or (not self.used or set(self.used) == set(old)):
            return
        kept = dict(self.used)
        for key, value in old.items():
            if len(kept) >= self.limit:
                break
            kept.setdefault(key, value)
        store_bytes(self._path, orjson.dumps(kept))


_MEMO_TABLES: dict[tuple[Path | None, str], MemoTable] = {}


def memo_table(kind: str, limit: int = 5000) -> MemoTable:
    """The process's table of ``kind`` (its name and the version of what computes it) in
    the cache folder of the moment."""
    root = cache_dir()
    table = _MEMO_TABLES.get((root, kind))
    if table is None:
        table = _MEMO_TABLES[root, kind] = MemoTable(root, kind, limit)
        if len(_MEMO_TABLES) == 1:
            atexit.register(flush_memo_tables)
    return table


def memo_results() -> dict[str, dict[str, str]]:
    """What this process used of the tables of the cache folder of the moment (sent back by
    a worker process of the run)."""
    root = cache_dir()
    return {kind: table.used for (where, kind), table in _MEMO_TABLES.items() if where == root}


def take_memo_results(results: dict[str, dict[str, str]]) -> None:
    for kind, used in results.items():
        memo_table(kind).take(used)


def flush_memo_tables() -> None:
    for table in _MEMO_TABLES.values():
        table.flush()


def memo_key(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8") if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()
