"""Emitters: pure functions from the :class:`~cdsgen.model.Spec` to ``{path: text}``.

No emitter reads YAML, writes files or looks at the clock; the writer does the I/O.
"""

from pathlib import Path

#: Jinja2 templates, shipped inside the package so an installed wheel generates too.
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

#: Modules of the generated packages that do not depend on the source: real, linted Python
#: files copied as they are (``runtime/<package>/<module>.py``).
RUNTIME_DIR = Path(__file__).resolve().parent.parent / "runtime"


def runtime_sources(package: str) -> dict[str, str]:
    """``{file name: text}`` of the fixed modules of a generated ``package``."""
    return {
        p.name: p.read_text(encoding="utf-8") for p in sorted((RUNTIME_DIR / package).glob("*.py"))
    }
