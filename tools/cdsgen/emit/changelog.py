"""The changelog page of the site: every release of the source and what it changed.

Pure: it renders plain data (:class:`Changelog`) that :mod:`cdsgen.history` collects from the
release tags of the repository. The page is not part of ``cdsgen generate`` (its content
depends on the tags and the checkout, not on the source alone); the mkdocs hook
``tools/cdsgen/mkdocs_changelog.py`` adds it to the site at build time, and
``cdsgen changelog`` prints it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jinja2
from markupsafe import Markup

from cdsgen.diff import BREAKING, SEVERITIES, DiffReport
from cdsgen.emit import TEMPLATES_DIR
from cdsgen.emit.site import markdown_environment
from cdsgen.view import DocumentVersion

TEMPLATES = TEMPLATES_DIR / "releases"

#: Path of the page inside the site's docs folder.
CHANGELOG_PAGE = "changelog.md"


@dataclass(frozen=True)
class Release:
    tag: str
    commit: str
    #: Date the tag was made (YYYY-MM-DD).
    date: str
    #: Subject line of an annotated tag ('' for a lightweight tag).
    subject: str
    documents: list[DocumentVersion]
    #: Changes since the previous release; None for the first release.
    report: DiffReport | None


@dataclass
class Changelog:
    tag_pattern: str
    #: False when the site is built outside a git checkout.
    available: bool = True
    #: Oldest first.
    releases: list[Release] = field(default_factory=list)
    #: Changes of the working tree since the last release, when asked for.
    unreleased: DiffReport | None = None


def _who(change) -> Markup:
    broken = [p.capitalize() for p in ("clients", "servers") if getattr(change, p) == BREAKING]
    return Markup("breaking for " + " and ".join(broken)) if broken else Markup("")


def _environment() -> jinja2.Environment:
    env = markdown_environment(TEMPLATES)
    env.filters["who"] = _who
    env.globals.update(severities=SEVERITIES)
    return env


def render_changelog(changelog: Changelog) -> str:
    """The page as markdown, newest release first."""
    return (
        _environment()
        .get_template("changelog.md.j2")
        .render(log=changelog, releases=list(reversed(changelog.releases)))
    )
