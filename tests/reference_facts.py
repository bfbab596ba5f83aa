"""The published facts as the tests read them: the committed snapshots, never the texts.

Each document's facts (extracted from the published text by :mod:`cdsgen.published`, which
does not use the loader) are committed as ``spec/<doc-id>/published-facts.json``, so the
fact-by-fact tests run on every machine. The published texts themselves are needed only by
the few tests that read prose or prove a snapshot fresh; :func:`reference_dir` finds them.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import pytest
from cdsgen.published import PublishedFacts, load_snapshot

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ["cds-wg1-01", "cds-wg1-02", "cds-wg3-01"]
#: How to run a test that needs the published texts; shown when it is skipped.
HOW_TO_RUN = (
    "the published CDS texts are not at hand: set CDS_REFERENCE_DIR=/path/to/reference "
    "(or pass --reference DIR to pytest, or put shared/reference beside the repository)"
)


@cache
def facts(document: str) -> PublishedFacts:
    """The committed snapshot of a document's published facts."""
    return load_snapshot(ROOT / "spec" / document / "published-facts.json")


def reference_dir() -> Path | None:
    """The folder of published texts: $CDS_REFERENCE_DIR (set by ``--reference`` too), else
    ``../shared/reference`` beside the repository when it exists."""
    given = os.environ.get("CDS_REFERENCE_DIR")
    if given:
        return Path(given)
    default = ROOT.parent / "shared" / "reference"
    return default if default.is_dir() else None


def published_text(document: str) -> Path:
    """The published markdown of a document; skips the calling test when it is absent."""
    folder = reference_dir()
    if folder is None or not (folder / f"{document}.md").is_file():
        pytest.skip(HOW_TO_RUN)
    return folder / f"{document}.md"


# -- our side: signatures of generated schemas ---------------------------------------------------
def schema_signature(schema: dict, components: dict[str, dict]) -> tuple[str, bool]:
    """(signature, nullable) of a generated property schema, in the terms of
    :func:`cdsgen.published.signature`."""
    nullable = False
    s = dict(schema)
    t = s.get("type")
    if isinstance(t, list) and "null" in t:
        nullable = True
        rest = [x for x in t if x != "null"]
        s["type"] = rest[0] if len(rest) == 1 else rest
    if "anyOf" in s:
        options = [o for o in s["anyOf"] if o != {"type": "null"}]
        if len(options) < len(s["anyOf"]):
            nullable = True
        refs = [o for o in options if "$ref" in o]
        if len(options) == 2 and len(refs) == 1 and {"type": "string"} in options:
            name = refs[0]["$ref"].rsplit("/", 1)[-1]
            if components.get(name, {}).get("x-cds-open"):
                return name, nullable
        if len(options) == 1:
            sig, n2 = schema_signature(options[0], components)
            return sig, nullable or n2
        return "|".join(sorted(schema_signature(o, components)[0] for o in options)), nullable
    if "$ref" in s:
        return s["$ref"].rsplit("/", 1)[-1], nullable
    t = s.get("type")
    if t == "array":
        inner, _ = schema_signature(s.get("items", {}), components)
        return f"array<{inner}>", nullable
    if t == "object":
        ap = s.get("additionalProperties")
        if isinstance(ap, dict):
            return f"map<{schema_signature(ap, components)[0]}>", nullable
        return "object", nullable
    if t == "string":
        return {"date-time": "datetime", "uri": "url", "date": "date"}.get(
            s.get("format"), "string"
        ), nullable
    if t in ("integer", "number", "boolean"):
        return t, nullable
    if "const" in s:
        return "string", nullable
    if not {"type", "$ref", "anyOf", "oneOf", "const", "enum"} & set(s):
        return "any", nullable
    return str(t), nullable
