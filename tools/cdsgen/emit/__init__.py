"""Emitters: pure functions from the :class:`~cdsgen.model.Spec` to ``{path: text}``.

No emitter reads YAML, writes files or looks at the clock; the writer does the I/O.
"""

from pathlib import Path

#: Jinja2 templates, shipped inside the package so an installed wheel generates too.
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
