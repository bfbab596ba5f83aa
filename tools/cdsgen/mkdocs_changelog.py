"""mkdocs hook (``hooks:`` in mkdocs.yml) that adds the changelog page at build time.

The page lists the releases of the source (git tags ``spec-v*``) and, when there are any,
the changes since the last one. It depends on the tags and the checkout rather than on the
source alone, so it is made here for each site build and never committed (``cdsgen generate
--check`` stays independent of git). Outside a git checkout the page says so.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

from cdsgen.emit.changelog import CHANGELOG_PAGE
from cdsgen.history import changelog_markdown


def on_files(files: Files, config: MkDocsConfig) -> Files:
    root = Path(config.config_file_path).resolve().parent
    text = changelog_markdown(root / "spec", unreleased=True)
    files.append(File.generated(config, CHANGELOG_PAGE, content=text))
    return files
