"""Load ``spec/`` into one resolved :class:`~cdsgen.model.Spec`.

Every file is parsed with positions and checked against the meta-schema; items with schema
errors are left out of the model (their problems are reported once, and references to them
are not reported again). Then names are resolved and extensions applied, reporting
structural problems with the position of the offending key.
"""

from __future__ import annotations

import copy
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fastjsonschema
import yaml

from cdsgen import model as m
from cdsgen.cache import cached_parse, cached_validator
from cdsgen.diagnostics import Diagnostics, Pos
from cdsgen.source import Builder
from cdsgen.source.base import DRAFT as DRAFT
from cdsgen.source.base import RELEASED as RELEASED
from cdsgen.source.base import VERSIONS, _File
from cdsgen.sourcefiles import find_source_files, read_source_bytes
from cdsgen.yamlpos import decode_source, load_yaml

if TYPE_CHECKING:
    from jsonschema import ValidationError

#: The meta-schema's one source; ``cdsgen generate`` also publishes it as JSON for editors
#: (generated/jsonschema/cdsgen-source.schema.json).
SCHEMA_PATH = Path(__file__).with_name("schema") / "source.schema.yaml"

#: Top-level kinds whose entries are named items (name -> definition).
_NAMED_KINDS = (
    "primitives",
    "objects",
    "enums",
    "unions",
    "endpoints",
    "examples",
    "scopes",
    "authorization_details_fields",
)


#: The C loader when PyYAML has libyaml (the same result, ten times faster).
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def _fast_meta_validator():
    """The meta-schema compiled to Python: ~25x faster than jsonschema on valid files, which
    are nearly all of them; jsonschema runs only to describe the problems of invalid ones."""
    return cached_validator(copy.deepcopy(meta_schema()))  # it annotates what it gets


@cache
def meta_schema() -> dict[str, Any]:
    return yaml.load(SCHEMA_PATH.read_text(encoding="utf-8"), Loader=_SafeLoader)


#: Schema problems reported per file; beyond it the file is cut short with a note, so a file
#: of a million broken objects costs seconds, not hours.
MAX_SCHEMA_ERRORS_PER_FILE = 200

#: The kinds a shared file (at the top of ``spec/``) may hold; the rest belong to a document.
_SHARED_KINDS = {"primitives"}


def draft_documents(root: Path) -> list[str]:
    """Ids of the documents that have a draft of their own (``spec/<id>/dev/``)."""
    if not root.is_dir():
        return []
    return sorted(p.parent.parent.name for p in root.glob(f"*/{DRAFT}/document.yaml"))


def load_spec(root: Path, diags: Diagnostics) -> m.Spec:
    """Load and resolve the source under ``root``; problems go to ``diags``."""
    return Builder(_read_files(root, diags), diags).build()


def load_spec_version(root: Path, version: str, diags: Diagnostics) -> m.Spec:
    """Load one version of the source: ``latest`` (what :func:`load_spec` loads) or ``dev``,
    the editor's drafts with the released text of documents that have none."""
    if version not in VERSIONS:
        diags.error(
            Pos(str(root)),
            f"unknown version '{version}' (expected one of {VERSIONS})",
            rule="version",
        )
        return Builder([], diags).build()
    return Builder(_read_files(root, diags, draft=version == DRAFT), diags).build()


def _read_files(root: Path, diags: Diagnostics, *, draft: bool = False) -> list[_File]:
    out: list[_File] = []
    for source in find_source_files(root, diags, draft=draft):
        raw = read_source_bytes(source, diags)
        if raw is None:
            continue
        text = decode_source(raw, source.name, diags)
        if text is None:
            continue
        y = cached_parse(text, source.name, diags, load_yaml)
        if y is None:
            continue
        if not isinstance(y.data, dict):
            diags.error(
                Pos(source.name),
                "a source file must be a mapping of kinds (objects, enums, …)",
                rule="not-a-mapping",
            )
            continue
        if not y.data:
            diags.error(
                Pos(source.name),
                "file defines nothing (empty or only comments): add its items or remove it",
                rule="empty-file",
            )
            continue
        f = _File(source.path, source.name, source.doc, y)
        try:
            _fast_meta_validator()(y.data)
        except fastjsonschema.JsonSchemaException:
            import jsonschema  # only to describe the problems the fast validator found

            validator = jsonschema.Draft202012Validator(meta_schema())
            for count, err in enumerate(validator.iter_errors(y.data)):
                if count == MAX_SCHEMA_ERRORS_PER_FILE:
                    diags.error(
                        Pos(source.name),
                        f"more than {MAX_SCHEMA_ERRORS_PER_FILE} problems in this file; "
                        "the rest are not checked",
                        rule="schema",
                    )
                    _mark_all_broken(f)
                    break
                _report_schema_error(err, f, diags)
        if source.doc is None:
            _check_shared_kinds(f, diags)
        out.append(f)
    return out


def _mark_all_broken(f: _File) -> None:
    """Leave every item of a file cut short out of the model."""
    for kind in (*_NAMED_KINDS, "extensions", "errata"):
        table = f.y.data.get(kind)
        if isinstance(table, dict):
            f.broken.update((kind, str(name)) for name in table)
        elif isinstance(table, list):
            f.broken.update((kind, str(i)) for i in range(len(table)))


def _check_shared_kinds(f: _File, diags: Diagnostics) -> None:
    """A shared file outside any document folder may hold primitives only; anything else in
    it would belong to no document and be left out of every artefact."""
    for kind in f.y.data:
        if kind in _SHARED_KINDS or kind == "document":
            continue
        diags.error(
            f.y.pos((kind,)),
            f"'{kind}' in a shared file belongs to no document: move it into a document "
            "folder (spec/<document-id>/); shared files hold primitives only",
            rule="misplaced-kind",
        )


def _report_schema_error(err: ValidationError, f: _File, diags: Diagnostics) -> None:
    if err.context:
        from jsonschema.exceptions import best_match

        deeper = best_match(err.context)
        if deeper is not None and len(deeper.absolute_path) >= len(err.absolute_path):
            err = deeper
    path = tuple(err.absolute_path)
    if len(path) >= 2 and path[0] in (*_NAMED_KINDS, "extensions", "errata"):
        f.broken.add((str(path[0]), str(path[1])))  # left out of the model
    elif path and path[0] == "document":
        f.broken.add(("document", ""))  # the document with a broken definition is left out
    message = err.message
    pos = f.y.value_pos(path)
    rule = "schema"
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        rule = "unknown-key"
        known = err.schema.get("properties", {})
        key = next((k for k in err.instance if k not in known), None)
        if key is not None:
            pos = f.y.pos(path + (key,))
            message = f"unknown key '{key}'" + _where(path)
    elif err.validator == "required":
        rule = "missing-key"
        missing = re.findall(r"'([^']+)' is a required property", message)
        pos = f.y.pos(path) if path else Pos(f.name)
        if missing:
            message = f"missing required key '{missing[0]}'" + _where(path)
    elif err.validator == "minLength" and path and path[-1] == "summary":
        rule = "missing-description"
        message = "missing description (empty summary)"
    elif err.validator == "pattern" and isinstance(err.instance, str):
        rule = "invalid-name"
        words = _PATTERN_WORDS.get(err.validator_value, f"match {err.validator_value}")
        if "propertyNames" in err.schema_path:
            pos = f.y.pos(path + (err.instance,))
            where = str(path[-1]) if path else "the file"
            message = f"'{err.instance}' is not a valid name in {where}: a name must {words}"
        else:
            what = path[-1] if path else "value"
            message = f"'{err.instance}' is not a valid {what}: it must {words}" + _where(path)
    else:
        message = f"{message}{_where(path)}"
    diags.error(pos, message, rule=rule)


#: The meta-schema's patterns in words, so a message says what is allowed.
_PATTERN_WORDS = {
    "^[a-z][A-Za-z0-9]*$": "start with a lower-case letter, then letters and digits (camelCase)",
    "^[a-z0-9][a-z0-9-]*$": "use lower-case letters, digits and hyphens",
    "^[a-z][a-z0-9_]*$": "start with a lower-case letter, then lower-case letters, digits and "
    "underscores (snake_case, no spaces)",
    "^[A-Z][A-Za-z0-9]*$": "start with an upper-case letter, then letters and digits (PascalCase)",
    "^[A-Za-z0-9][A-Za-z0-9_.-]*$": "use letters, digits, '_', '.' and '-'",
    "^[A-Za-z_][A-Za-z0-9_]*$": "use letters, digits and underscores, not starting with a digit "
    "(no spaces)",
    "^/": "start with '/'",
    "^cds-[a-z0-9]+-[0-9]+$": "look like cds-wg1-01",
    "^[1-5][0-9][0-9]$": "be HTTP status codes (100-599)",
    "^[0-9]+(\\.[0-9]+)*$|^$": "be a section number such as 7.2.1",
    "^[A-Z][A-Za-z0-9]*\\.[a-z_][a-z0-9_]*$": "be Object.field",
}


def _where(path: tuple) -> str:
    if not path:
        return ""
    return " (in " + "/".join(str(p) for p in path) + ")"
