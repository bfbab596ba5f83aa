"""The source as it was: in a folder, at a git ref, at each release tag.

This is the one place that reads git. ``cdsgen diff`` and the changelog load older versions
of ``spec/`` here (``git archive`` of the ref into a temporary folder, then the normal
loader) and hand plain models and reports to :mod:`cdsgen.diff` and
:mod:`cdsgen.emit.changelog`, which stay pure.

Releases of the source are git tags named ``spec-v<version>`` (e.g. ``spec-v1.0.0``), in the
order they were created; an annotated tag's subject line is shown as the release title.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cdsgen import model as m
from cdsgen.diagnostics import Diagnostics
from cdsgen.diff import compare
from cdsgen.emit.changelog import Changelog, Release, render_changelog
from cdsgen.loader import DRAFT, RELEASED, load_spec, load_spec_version
from cdsgen.view import document_versions

#: Git tags that mark releases of the source.
RELEASE_TAG_PATTERN = "spec-v*"


class HistoryError(Exception):
    """A source that cannot be found or read (unknown ref, not a git checkout, …)."""


@dataclass
class LoadedSource:
    label: str
    spec: m.Spec
    #: Problems the loader found; items with problems are left out of the model.
    errors: int
    #: The one document the comparison is about (``spec/<id>`` or ``spec/<id>/dev`` given).
    document: str | None = None


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip()
        raise HistoryError(f"git {' '.join(args)}: {message}")
    return proc.stdout.decode("utf-8")


def repository(spec_dir: Path) -> tuple[Path, str] | None:
    """The git work tree holding ``spec_dir`` and the folder's path inside it, or None."""
    try:
        top = Path(_git(spec_dir.resolve().parent, "rev-parse", "--show-toplevel").strip())
    except (HistoryError, OSError):
        return None
    try:
        rel = spec_dir.resolve().relative_to(top.resolve())
    except ValueError:
        return None
    return top, rel.as_posix()


def is_source_folder(path: Path) -> bool:
    return path.is_dir() and (
        (path / "primitives.yaml").is_file() or any(path.glob("*/document.yaml"))
    )


def load_folder(path: Path, label: str | None = None) -> LoadedSource:
    diags = Diagnostics()
    spec = load_spec(path, diags)
    return LoadedSource(label or str(path), spec, len(diags.errors))


def load_ref(repo: Path, spec_rel: str, ref: str) -> LoadedSource:
    """The source folder ``spec_rel`` as it was at commit ``ref``."""
    try:
        commit = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except HistoryError:
        raise HistoryError(f"'{ref}' is neither a source folder nor a git commit") from None
    data = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", commit, "--", spec_rel],
        capture_output=True,
        check=False,
    )
    if data.returncode != 0:
        raise HistoryError(f"{ref} ({commit[:12]}) has no {spec_rel}/ folder")
    with tempfile.TemporaryDirectory(prefix="cdsgen-ref-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(data.stdout)) as tar:
            tar.extractall(tmp, filter="data")
        return load_folder(Path(tmp, spec_rel), f"{ref} ({commit[:12]})")


def load_version(spec_dir: Path, version: str, document: str | None = None) -> LoadedSource:
    """One version of the source in ``spec_dir``: ``latest`` (the releases) or ``dev`` (the
    editor's drafts, with the release of documents that have no draft)."""
    diags = Diagnostics()
    spec = load_spec_version(spec_dir, version, diags)
    label = f"{document} {version}" if document else f"{spec_dir} {version}"
    return LoadedSource(label, spec, len(diags.errors), document)


def document_folder(path: Path) -> tuple[Path, str, str] | None:
    """``spec/<id>`` → (spec, id, ``latest``); ``spec/<id>/dev`` → (spec, id, ``dev``)."""
    if not (path / "document.yaml").is_file():
        return None
    if path.name == DRAFT:
        return path.resolve().parent.parent, path.resolve().parent.name, DRAFT
    return path.resolve().parent, path.resolve().name, RELEASED


def load_source(what: str, spec_dir: Path) -> LoadedSource:
    """``what`` is a source folder (or a project folder holding ``spec/``), a document folder
    (``spec/<id>``: its release, ``spec/<id>/dev``: its draft) or a git ref of the repository
    that holds ``spec_dir``."""
    path = Path(what)
    folder = document_folder(path)
    if folder is not None:
        return load_version(folder[0], folder[2], folder[1])
    if is_source_folder(path):
        return load_folder(path)
    if is_source_folder(path / "spec"):
        return load_folder(path / "spec", str(path))
    found = repository(spec_dir)
    if found is None:
        raise HistoryError(f"'{what}' is not a source folder, and {spec_dir} is not in git")
    return load_ref(*found, what)


# -- releases ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tag:
    name: str
    commit: str
    date: str
    subject: str


def release_tags(repo: Path) -> list[Tag]:
    """Release tags, oldest first (creation order, then name)."""
    fields = ["refname:short", "objecttype", "objectname", "*objectname", "creatordate:short"]
    fmt = "%00".join(f"%({f})" for f in [*fields, "contents:subject"])
    out = _git(
        repo,
        "for-each-ref",
        "--sort=refname",
        "--sort=creatordate",
        f"--format={fmt}",
        f"refs/tags/{RELEASE_TAG_PATTERN}",
    )
    tags = []
    for line in out.splitlines():
        name, kind, obj, target, date, subject = line.split("\0")
        if kind == "tag":  # annotated: the tag object points at the commit and has a message
            tags.append(Tag(name, target, date, subject))
        else:
            tags.append(Tag(name, obj, date, ""))
    return tags


def changelog(spec_dir: Path, *, unreleased: bool = False) -> Changelog:
    """Every release of the source with its changes since the previous one; with
    ``unreleased``, also the changes of ``spec_dir`` since the last release."""
    found = repository(spec_dir)
    if found is None:
        return Changelog(RELEASE_TAG_PATTERN, available=False)
    repo, rel = found
    releases: list[Release] = []
    previous: LoadedSource | None = None
    for tag in release_tags(repo):
        try:
            current = load_ref(repo, rel, tag.commit)
        except HistoryError:
            continue  # a tag from before the source existed
        report = None
        if previous is not None:
            report = compare(previous.spec, current.spec, previous.label, tag.name)
        versions = document_versions(current.spec)
        releases.append(Release(tag.name, tag.commit, tag.date, tag.subject, versions, report))
        previous = LoadedSource(tag.name, current.spec, current.errors)
    pending = None
    if unreleased and previous is not None:
        pending = compare(previous.spec, load_folder(spec_dir).spec, previous.label, "working tree")
        pending = pending if pending.changes else None
    return Changelog(RELEASE_TAG_PATTERN, releases=releases, unreleased=pending)


def changelog_markdown(spec_dir: Path, *, unreleased: bool = True) -> str:
    """The changelog page for the site (what the mkdocs hook publishes as changelog.md)."""
    return render_changelog(changelog(spec_dir, unreleased=unreleased))
