"""Which files under ``spec/`` are source, and reading them without ever hanging or crashing.

Every entry under the source folder is either read as source or reported; nothing is
silently ignored, except the companion files other parts of the toolkit own (listed below).
A file is opened only after ``stat`` shows a regular file of sane size, so a FIFO named
``x.yaml`` cannot block the run and a device cannot be read.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cdsgen.diagnostics import Diagnostics, Pos

#: Largest source file read; the largest real one is about 60 KB.
MAX_FILE_BYTES = 4 * 1024 * 1024

#: Files at the top of ``spec/`` that are not source: the format guide.
TOP_LEVEL_COMPANIONS = {"README.md"}
#: Files in a document folder that are not source: the snapshot of the published facts
#: (written by ``cdsgen facts``, read by the coverage check).
DOCUMENT_COMPANIONS = {"published-facts.json"}
#: The sub-folder of a document folder holding the document's draft version (the one
#: sub-folder allowed): the complete source of the editor's draft.
DRAFT_FOLDER = "dev"


@dataclass(frozen=True)
class SourceFile:
    path: Path
    name: str  # as shown in diagnostics
    doc: str | None  # document id (folder), None for shared files


def display_name(path: Path) -> str:
    """Path as users type it: relative to the working directory when possible.

    The folder is resolved, the file itself is not, so a symlinked file is named as found."""
    full = path.parent.resolve() / path.name
    try:
        return str(full.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def find_source_files(root: Path, diags: Diagnostics, *, draft: bool = False) -> list[SourceFile]:
    """The source files in a stable order: shared files, then each document folder's — for
    the ``draft`` version, a document's ``dev/`` folder instead where it has one.

    Unexpected entries (``.yml`` files, stray files, sub-folders, FIFOs, devices, sockets,
    symlinks leaving ``root``, oversized files) are reported and left out."""
    if not root.is_dir():
        diags.error(Pos(display_name(root)), "source folder not found", rule="source-folder")
        return []
    real_root = root.resolve()
    shared: list[SourceFile] = []
    docs: list[SourceFile] = []
    for entry in sorted(root.iterdir()):
        kind = _kind(entry, real_root, diags)
        if kind == "dir":
            has_draft = (entry / DRAFT_FOLDER / "document.yaml").is_file()
            if draft and has_draft:
                docs += _document_folder(entry / DRAFT_FOLDER, real_root, diags, entry.name)
            else:
                docs += _document_folder(entry, real_root, diags, entry.name)
        elif kind == "file":
            if entry.name in TOP_LEVEL_COMPANIONS:
                continue
            if _is_source_name(entry, diags):
                shared.append(SourceFile(entry, display_name(entry), None))
    return shared + docs


def _document_folder(
    folder: Path, real_root: Path, diags: Diagnostics, doc: str
) -> list[SourceFile]:
    """The source files of document ``doc`` in ``folder`` (its own, or its ``dev/`` draft)."""
    out: list[SourceFile] = []
    is_draft = folder.name == DRAFT_FOLDER and folder.parent.name == doc
    for entry in sorted(folder.iterdir()):
        kind = _kind(entry, real_root, diags)
        if kind == "dir" and entry.name == DRAFT_FOLDER and not is_draft:
            if not (entry / "document.yaml").is_file():
                diags.error(
                    Pos(display_name(entry)),
                    f"draft folder of '{doc}' has no document.yaml",
                    rule="document",
                )
            continue  # the draft version, read when that version is loaded
        if kind == "dir":
            diags.error(
                Pos(display_name(entry)),
                f"unexpected folder in document folder '{folder.name}': a document's files sit "
                f"directly in its folder (only '{DRAFT_FOLDER}/' holds a draft version)",
                rule="unexpected-file",
            )
        elif kind == "file":
            if entry.name in DOCUMENT_COMPANIONS:
                continue
            if _is_source_name(entry, diags):
                out.append(SourceFile(entry, display_name(entry), doc))
    if not out and not (folder / DRAFT_FOLDER).is_dir():
        diags.error(
            Pos(display_name(folder)),
            f"folder '{folder.name}' holds no source files: add its document.yaml or remove it",
            rule="document",
        )
    return out


def _is_source_name(path: Path, diags: Diagnostics) -> bool:
    if path.suffix == ".yaml" and not path.name.startswith("."):
        return True
    if path.suffix == ".yml":
        hint = f"rename it to '{path.stem}.yaml' (source files end in .yaml)"
    else:
        hint = "not a source file (source files end in .yaml); move or remove it"
    diags.error(Pos(display_name(path)), f"unexpected file: {hint}", rule="unexpected-file")
    return False


def _kind(path: Path, real_root: Path, diags: Diagnostics) -> str | None:
    """``"file"``, ``"dir"`` or ``None`` (reported) for an entry, judged by ``stat`` only."""
    name = display_name(path)
    try:
        st = os.stat(path)  # follows symlinks: where the entry really leads
    except OSError as exc:
        diags.error(Pos(name), f"cannot read: {exc.strerror}", rule="read-error")
        return None
    if path.is_symlink():
        target = path.resolve()
        if target != real_root and real_root not in target.parents:
            diags.error(
                Pos(name),
                f"symlink leads outside the source folder (to {target}); copy the file instead",
                rule="file-kind",
            )
            return None
    if stat.S_ISDIR(st.st_mode):
        return "dir"
    if not stat.S_ISREG(st.st_mode):
        what = (
            "a FIFO"
            if stat.S_ISFIFO(st.st_mode)
            else "a socket"
            if stat.S_ISSOCK(st.st_mode)
            else "a device"
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
            else "not a regular file"
        )
        diags.error(Pos(name), f"{what}, not a regular file: not read", rule="file-kind")
        return None
    return "file"


def read_source_bytes(file: SourceFile, diags: Diagnostics) -> bytes | None:
    """The file's bytes, or ``None`` (reported) when it is not a regular file of sane size.

    Opened non-blocking and checked again with ``fstat``: a FIFO swapped in after the scan
    still cannot block the run."""
    try:
        fd = os.open(file.path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        diags.error(Pos(file.name), f"cannot read: {exc.strerror}", rule="read-error")
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            diags.error(Pos(file.name), "not a regular file: not read", rule="file-kind")
            return None
        if st.st_size > MAX_FILE_BYTES:
            diags.error(
                Pos(file.name),
                f"file is {st.st_size:,} bytes; a source file may be at most "
                f"{MAX_FILE_BYTES:,} bytes (split it by topic)",
                rule="file-size",
            )
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        diags.error(Pos(file.name), f"cannot read: {exc.strerror}", rule="read-error")
        return None
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        diags.error(Pos(file.name), "file grew beyond the size limit while read", rule="file-size")
        return None
    return data
