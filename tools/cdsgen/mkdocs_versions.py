"""mkdocs hook (``hooks:`` in mkdocs.yml): the version selector of the spec pages.

The site carries two versions of the specification pages, in the manner of a versioned
documentation site: the released texts (``spec/…``, published at ``…/latest``) and the
editor's drafts (``spec/dev/…``, published at ``…/dev``). Every page that exists in both
gets ``page.meta["cds_versions"]``: one entry per version with its label and the URL of the
same page in that version (relative to the page), which the theme override
(``templates/mkdocs/main.html``) shows as a selector above the content. Pages that only one
version has (e.g. the drafts' change list) point the other version at its overview.
"""

from __future__ import annotations

from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page
from mkdocs.utils import get_relative_url

SPEC = "spec/"
DRAFT = "spec/dev/"
#: Version name, label, folder of its pages.
VERSIONS = (
    ("latest", "latest — released texts", SPEC),
    ("dev", "dev — editor's drafts", DRAFT),
)

_files: dict[str, Any] = {}


def on_files(files: Files, config: MkDocsConfig) -> Files:
    _files.clear()
    _files.update({f.src_uri: f for f in files.documentation_pages()})
    return files


def _version_of(src_uri: str) -> tuple[str, str] | None:
    """(version, path inside the version folder) of a spec page, or None."""
    if src_uri.startswith(DRAFT):
        return "dev", src_uri[len(DRAFT) :]
    if src_uri.startswith(SPEC) and "/" not in src_uri[len(SPEC) :]:
        return "latest", src_uri[len(SPEC) :]
    return None


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    found = _version_of(page.file.src_uri)
    if found is None or not _files.get(DRAFT + "index.md"):
        return markdown
    current, rest = found
    entries = []
    for name, label, folder in VERSIONS:
        target = _files.get(folder + rest) or _files.get(folder + "index.md")
        if target is None:
            continue
        entries.append(
            {
                "name": name,
                "label": label,
                "url": get_relative_url(target.url, page.file.url),
                "current": name == current,
            }
        )
    page.meta["cds_versions"] = entries
    page.meta["cds_version"] = current
    return markdown
