"""Example bodies as corrected by their errata.

Where a published example is wrong (a REQUIRED field left out, a listing body where an object
belongs, fields elided with ``...``), the erratum that says so records its ``correction``;
the OpenAPI carries the corrected body and keeps the published one beside it, and lint checks
that the corrections make the example valid. A correction is reviewed like any other fact, so
it is data in the source, never code:

* ``part``: the body it corrects — ``request`` or ``response`` of an HTTP example, ``body``
  of a JSON-only one (the default: ``response``, or ``body`` for a JSON-only example);
* ``fill_from``: optional id of another example whose (corrected) body of the same part fills
  in the fields this one elides; the fields this one publishes win;
* ``patch``: RFC 6902 operations (``add``, ``remove``, ``replace``, ``move``, ``copy``) on
  the body, applied after ``fill_from``.

Errata are applied in source order. Problems (a path that does not exist, an unknown example)
raise :class:`CorrectionError` with a message for lint.
"""

from __future__ import annotations

from typing import Any

from cdsgen import model as m
from cdsgen.jsonvalues import json_copy

PARTS = ("request", "response", "body")


class CorrectionError(ValueError):
    """A correction that cannot be applied (message says why)."""


def default_part(ex: m.Example) -> str:
    return "body" if ex.json_body is not None else "response"


def published_body(ex: m.Example, part: str) -> Any:
    """The body of one part of an example as published (after JSON repairs)."""
    msg = {"request": ex.request, "response": ex.response, "body": ex.json_body}[part]
    return None if msg is None else msg.body


def corrections_of(spec: m.Spec, ex: m.Example) -> list[m.Erratum]:
    """The errata of ``ex`` that carry a correction, in source order."""
    return [e for e in spec.errata_for(example=ex.id) if e.correction is not None]


def corrected_body(spec: m.Spec, ex: m.Example, part: str, _seen: frozenset = frozenset()) -> Any:
    """The body of ``part`` with every correction of the example's errata applied (the
    published body itself when none applies)."""
    body = published_body(ex, part)
    for _, _, after in correction_steps(spec, ex, part, _seen):
        body = after
    return body


def correction_steps(
    spec: m.Spec, ex: m.Example, part: str, _seen: frozenset = frozenset()
) -> list[tuple[m.Erratum, Any, Any]]:
    """``(erratum, body before, body after)`` for each erratum correcting ``part``, in order.

    Made once per example and part of a model (lint, each OpenAPI and the site all ask);
    the bodies are shared, so callers read them and never change them."""
    made = spec.derived.get(("correction_steps", ex.id, part))
    if made is None:
        made = spec.derived[("correction_steps", ex.id, part)] = _steps(spec, ex, part, _seen)
    return made


def _steps(
    spec: m.Spec, ex: m.Example, part: str, _seen: frozenset
) -> list[tuple[m.Erratum, Any, Any]]:
    if ex.id in _seen:
        raise CorrectionError(f"example '{ex.id}' fills itself in through `fill_from`")
    body = published_body(ex, part)
    steps: list[tuple[m.Erratum, Any, Any]] = []
    for er in corrections_of(spec, ex):
        corr = er.correction
        assert corr is not None
        if corr.get("part", default_part(ex)) != part:
            continue
        after = json_copy(body)
        source_id = corr.get("fill_from")
        if source_id:
            source = spec.examples.get(source_id)
            if source is None:
                raise CorrectionError(
                    f"erratum '{er.id}': `fill_from` names unknown example '{source_id}'"
                )
            filler = corrected_body(spec, source, part, _seen | {ex.id})
            if not isinstance(filler, dict) or not isinstance(after, dict):
                raise CorrectionError(f"erratum '{er.id}': `fill_from` needs two JSON objects")
            after = {**json_copy(filler), **after}
        try:
            after = apply_patch(after, corr.get("patch", []))
        except CorrectionError as exc:
            raise CorrectionError(f"erratum '{er.id}': {exc}") from None
        steps.append((er, body, after))
        body = after
    return steps


def differences(before: Any, after: Any, pointer: str = "") -> list[tuple[str, str, Any, Any]]:
    """``(kind, JSON pointer, before, after)`` for each place ``after`` differs from
    ``before``; kind is ``added``, ``removed`` or ``changed``."""
    if before == after:
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[tuple[str, str, Any, Any]] = []
        for key in before:
            if key not in after:
                out.append(("removed", f"{pointer}/{_escape(key)}", before[key], None))
        for key in after:
            here = f"{pointer}/{_escape(key)}"
            if key not in before:
                out.append(("added", here, None, after[key]))
            else:
                out += differences(before[key], after[key], here)
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            d
            for i, (b, a) in enumerate(zip(before, after, strict=True))
            for d in differences(b, a, f"{pointer}/{i}")
        ]
    return [("changed", pointer or "/", before, after)]


def _escape(key: str) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def corrected_parts(spec: m.Spec, ex: m.Example) -> dict[str, tuple[Any, list[str]]]:
    """``{part: (corrected body, ids of the errata that changed it)}`` for each part some
    erratum corrects."""
    errata: dict[str, list[str]] = {}
    for er in corrections_of(spec, ex):
        assert er.correction is not None
        errata.setdefault(er.correction.get("part", default_part(ex)), []).append(er.id)
    return {part: (corrected_body(spec, ex, part), ids) for part, ids in errata.items()}


# -- RFC 6902 -----------------------------------------------------------------------------------
def apply_patch(doc: Any, ops: list[dict[str, Any]]) -> Any:
    """``doc`` with the JSON Patch operations applied (a new value; ``doc`` is not changed)."""
    doc = json_copy(doc)
    for i, op in enumerate(ops):
        kind = op.get("op")
        try:
            if kind == "add":
                doc = _add(doc, op["path"], json_copy(op["value"]))
            elif kind == "remove":
                doc, _ = _remove(doc, op["path"])
            elif kind == "replace":
                doc, _ = _remove(doc, op["path"])
                doc = _add(doc, op["path"], json_copy(op["value"]))
            elif kind == "move":
                doc, value = _remove(doc, op["from"])
                doc = _add(doc, op["path"], value)
            elif kind == "copy":
                doc = _add(doc, op["path"], json_copy(_get(doc, op["from"])))
            else:
                raise CorrectionError(f"unknown operation '{kind}'")
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            if isinstance(exc, CorrectionError):
                raise CorrectionError(f"patch operation {i + 1} ({kind}): {exc}") from None
            raise CorrectionError(
                f"patch operation {i + 1} ({kind} {op.get('path')}): no such location"
            ) from None
    return doc


def _tokens(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise CorrectionError(f"'{pointer}' is not a JSON pointer")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _parent(doc: Any, pointer: str) -> tuple[Any, str]:
    tokens = _tokens(pointer)
    node = doc
    for t in tokens[:-1]:
        node = node[int(t)] if isinstance(node, list) else node[t]
    return node, tokens[-1]


def _get(doc: Any, pointer: str) -> Any:
    node = doc
    for t in _tokens(pointer):
        node = node[int(t)] if isinstance(node, list) else node[t]
    return node


def _add(doc: Any, pointer: str, value: Any) -> Any:
    if pointer == "":
        return value
    parent, key = _parent(doc, pointer)
    if isinstance(parent, list):
        index = len(parent) if key == "-" else int(key)
        if not 0 <= index <= len(parent):
            raise IndexError(index)
        parent.insert(index, value)
    elif isinstance(parent, dict):
        parent[key] = value
    else:
        raise TypeError(key)
    return doc


def _remove(doc: Any, pointer: str) -> tuple[Any, Any]:
    if pointer == "":
        return None, doc
    parent, key = _parent(doc, pointer)
    if isinstance(parent, list):
        return doc, parent.pop(int(key))
    if isinstance(parent, dict):
        return doc, parent.pop(key)
    raise TypeError(key)
