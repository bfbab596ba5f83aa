"""A per-user cache of work that does not change between runs of ``cdsgen generate``.

Compiling the Jinja2 templates took about a fifth of a generation run, every run, though the
templates change only when cdsgen does. The compiled templates are kept in the user's cache
folder (``$CDSGEN_CACHE_DIR``, else ``$XDG_CACHE_HOME/cdsgen``, else ``~/.cache/cdsgen``).

The cache can only save time, never change an output: an entry is found by the template's
file name *and* the checksum of its source, in a folder named after the environment's
settings and the Jinja2 and Python versions; a folder that cannot be written, or an entry
that cannot be read, is simply work done again. ``CDSGEN_CACHE_DIR=off`` turns it off.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import jinja2
from jinja2.bccache import Bucket


def cache_dir() -> Path | None:
    """The cache folder, or ``None`` when caching is turned off."""
    configured = os.environ.get("CDSGEN_CACHE_DIR")
    if configured == "off":
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
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
