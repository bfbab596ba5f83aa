"""``cdsgen lint``: everything the loader checks, plus the checks that need the whole model.

* every published example is parsed and validated against the strict schema of what it
  illustrates (request and response bodies of its operation, or its object type);
* an example with problems must be covered by an erratum, which turns the problems into
  warnings; every erratum is reported as a warning so maintainers keep seeing them;
* every object, enumeration and listing of a document's published-facts snapshot has a
  source item anchored at its section (:mod:`cdsgen.published_coverage`).
* an example body that does not satisfy its schema must be corrected by the ``correction``
  of one of its errata, and the corrected body must satisfy the schema (the OpenAPI carries
  the corrected body, so every example there is valid).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from cdsgen import model as m
from cdsgen.corrections import CorrectionError, corrected_body, corrections_of, default_part
from cdsgen.diagnostics import Diagnostics, Pos
from cdsgen.loader import DRAFT, RELEASED, draft_documents, load_spec, load_spec_version
from cdsgen.published_coverage import check_published_coverage
from cdsgen.scope_rules import check_scope_descriptions
from cdsgen.validate import PayloadValidator
from cdsgen.view import view_documents


@dataclass
class LintResult:
    spec: m.Spec
    diagnostics: Diagnostics
    #: Example id → the problems lint found in it as published (empty: valid); an example
    #: missing here was not checked (the model had errors).
    example_problems: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.diagnostics.errors


def lint(root: Path) -> LintResult:
    """Lint the released version and, where documents have drafts, the draft version too
    (its errors count; a problem of a file both versions read, and the warnings of those
    files, are listed once)."""
    diags = Diagnostics()
    spec = load_spec(root, diags)
    verdicts = check_spec(spec, diags, root)
    if draft_documents(root):
        draft_diags = Diagnostics()
        draft = load_spec_version(root, DRAFT, draft_diags)
        check_spec(draft, draft_diags, root)
        versions = {RELEASED: spec, DRAFT: draft}
        check_cross_document_links(draft, versions, draft_diags)
        seen = {(d.pos, d.message) for d in diags.errors}
        for d in draft_diags.errors:
            if (d.pos, d.message) not in seen:
                diags.error(d.pos, d.message, rule=d.rule, cause=d.cause)
        for d in draft_diags.warnings:
            if f"/{DRAFT}/" in d.pos.path:
                diags.warning(d.pos, d.message, rule=d.rule)
    else:
        versions = {RELEASED: spec, DRAFT: spec}
    check_cross_document_links(spec, versions, diags)
    return LintResult(spec, diags, verdicts)


def check_cross_document_links(
    spec: m.Spec, versions: dict[str, m.Spec], diags: Diagnostics
) -> None:
    """Every reference of a document of ``spec`` to another document (``links_to``) must
    name an anchor that exists in the version of that document its URL names, or be
    recorded as an erratum of the referring document (``target: {link: <reference>}``)."""
    for doc in spec.documents.values():
        recorded = {
            e.target.get("link") for e in spec.errata if e.document == doc.id and "link" in e.target
        }
        for ref, target in doc.links_to.items():
            name, _, anchor = target.partition("#")
            other, _, version = name.partition("@")
            built = versions.get(version)
            target_doc = built.documents.get(other) if built else None
            if target_doc is None:
                problem = f"reference '{ref}' names unknown document '{other}' ({version})"
            elif anchor and anchor not in target_doc.all_anchors():
                problem = (
                    f"reference '{ref}' links to #{anchor}, which {target_doc.code} "
                    f"{target_doc.version} ({version}) does not have"
                )
            else:
                continue
            if ref not in recorded:
                diags.error(
                    _anchor_pos(doc, ref),
                    f"{problem}; fix it or record an erratum (target: {{link: {ref}}})",
                    rule="cross-document-link",
                )


def _anchor_pos(doc: m.Document, anchor: str) -> Pos:
    """Where ``document.yaml`` lists a non-heading anchor (the document's position if the
    file cannot be read, e.g. when the model was not loaded from files)."""
    try:
        lines = Path(doc.pos.path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return doc.pos
    for number, line in enumerate(lines, start=1):
        if line.strip().startswith(f"{anchor}:"):
            return Pos(doc.pos.path, number, line.index(anchor) + 1)
    return doc.pos


def lint_version(root: Path, version: str = RELEASED) -> LintResult:
    """:func:`lint` of one version of the source (``latest`` or ``dev``, the drafts)."""
    diags = Diagnostics()
    spec = load_spec_version(root, version, diags)
    verdicts = check_spec(spec, diags)
    released = spec if version == RELEASED else load_spec(root, Diagnostics())
    check_cross_document_links(spec, {RELEASED: released, DRAFT: spec}, diags)
    return LintResult(spec, diags, verdicts)


def check_spec(spec: m.Spec, diags: Diagnostics, root: Path | None = None) -> dict[str, list[str]]:
    """The checks that need the whole, loaded model (see the module docstring); ``root`` is
    the source folder holding the published-facts snapshots. Returns what lint found in each
    example (see :attr:`LintResult.example_problems`); the model itself is not changed."""
    check_published_coverage(spec, diags, root)
    verdicts: dict[str, list[str]] = {}
    if not diags.errors:
        # examples are validated against a consistent model only; with unresolved names
        # their problems would only repeat the ones already reported
        verdicts = check_examples(spec, diags)
    for er in spec.errata:
        diags.warning(er.pos, f"erratum {er.id}: {er.problem}", rule="erratum")
    return verdicts


def check_examples(spec: m.Spec, diags: Diagnostics) -> dict[str, list[str]]:
    """Validate each example against its own document's view (the document and those it
    depends on), so a later document's additions do not break an earlier one's examples.
    Returns example id → its problems as published."""
    verdicts: dict[str, list[str]] = {}
    validators: dict[str, PayloadValidator] = {}
    published: dict[str, PayloadValidator] = {}
    for ex in spec.examples.values():
        if ex.document not in validators:
            view = view_documents(spec, ex.document)
            validators[ex.document] = PayloadValidator(spec, view, memo=True)
            published[ex.document] = PayloadValidator(spec, view, strict=False, memo=True)
        problems = verdicts[ex.id] = example_problems(spec, ex, validators[ex.document])
        errata = spec.errata_for(example=ex.id)
        uncovered: set[str] = set()
        for problem in problems:
            if any(c in problem for e in errata for c in e.covers):
                continue  # accounted for; the erratum itself is reported as a warning
            uncovered.add(problem)
            diags.error(
                _body_pos(ex),
                f"example '{ex.id}': {problem} (fix it or record an erratum)",
                rule="example-invalid",
            )
        if _unreadable(ex):
            continue  # what the erratum covers cannot be checked against a body not read
        for e in errata:
            for c in e.covers:
                if not any(c in p for p in problems):
                    diags.error(
                        e.pos,
                        f"erratum '{e.id}' covers '{c}', "
                        f"which is not a problem of example '{ex.id}'",
                        rule="erratum-covers",
                    )
        check_corrected(spec, ex, published[ex.document], diags, reported=uncovered)
    return verdicts


def _typed_parts(spec: m.Spec, ex: m.Example) -> dict[str, object]:
    """The JSON parts of an example with the type each must satisfy."""
    if ex.json_body is not None:
        return {"body": ex.object_type} if ex.object_type is not None else {}
    ep = spec.endpoints.get(ex.operation or "")
    if ep is None:
        return {}
    parts: dict[str, object] = {}
    if ex.request is not None and ex.request.body_is_json and ep.request_type is not None:
        parts["request"] = ep.request_type
    resp = next((r for r in ep.responses if r.status == ex.status), None)
    if ex.response is not None and ex.response.body_is_json and resp and resp.type is not None:
        parts["response"] = resp.type
    return parts


def _part_of(er: m.Erratum, ex: m.Example) -> str:
    return (er.correction or {}).get("part", default_part(ex))


def check_corrected(
    spec: m.Spec,
    ex: m.Example,
    v: PayloadValidator,
    diags: Diagnostics,
    reported: set[str] = frozenset(),  # type: ignore[assignment]
) -> None:
    """Each JSON part of the example, as corrected by its errata, satisfies its schema as
    the OpenAPI publishes it (``v``: the published flavour, where Server-specific fields and
    values are allowed), so that every example in the OpenAPI is valid. ``reported``: the
    problems of the published body already reported as covered by no erratum."""
    corrections = corrections_of(spec, ex)
    for part, t in _typed_parts(spec, ex).items():
        try:
            body = corrected_body(spec, ex, part)
        except CorrectionError as exc:
            diags.error(
                corrections[0].pos if corrections else ex.pos, str(exc), rule="example-correction"
            )
            continue
        if body is None:
            continue
        for problem in v.schema_problems(t, body):  # type: ignore[arg-type]
            if f"{part} {problem}" in reported:
                continue  # the published body has it too, and no erratum covers it: said once
            where = next(
                (e.pos for e in corrections if _part_of(e, ex) == part),
                _body_pos(ex),
            )
            diags.error(
                where,
                f"example '{ex.id}' as corrected: {part} {problem} "
                "(give one of its errata a `correction` that fixes it)",
                rule="example-correction",
            )


def _unreadable(ex: m.Example) -> bool:
    """True when a body of the example is not JSON at all, so it has no other problems."""
    return any(
        msg is not None and msg.parse_error for msg in (ex.request, ex.response, ex.json_body)
    )


def _body_pos(ex: m.Example) -> Pos:
    msg = ex.response or ex.request or ex.json_body
    if msg is not None and msg.body_line:
        return Pos(ex.pos.path, msg.body_line, 1)
    return ex.pos


def _json_problems(what: str, msg: m.HttpMessage) -> list[str]:
    if msg.parse_error:
        return [f"{what} body is not JSON: {msg.parse_error}"]
    return [f"{what} body is not valid JSON: {r}" for r in msg.repairs]


def example_problems(spec: m.Spec, ex: m.Example, v: PayloadValidator) -> list[str]:
    problems: list[str] = []
    if ex.json_body is not None:
        problems += _json_problems("the", ex.json_body)
        if ex.object_type is not None and ex.json_body.body is not None:
            problems += [f"body {e}" for e in v.problems(ex.object_type, ex.json_body.body)]
        return problems
    ep = spec.endpoints.get(ex.operation or "")
    if ex.request is None:
        problems.append("no ==Request== part")
    if ex.response is None:
        problems.append("no ==Response== part")
    if ep is None:
        return problems
    if ex.request is not None:
        problems += _request_problems(ep, ex, v)
    if ex.response is not None:
        problems += _json_problems("response", ex.response)
        status = ex.status
        resp = next((r for r in ep.responses if r.status == status), None)
        if resp is None:
            problems.append(f"status {status} is not a documented response of {ep.operation_id}")
        elif resp.type is not None and ex.response.body is not None and ex.response.body_is_json:
            problems += [f"response {e}" for e in v.problems(resp.type, ex.response.body)]
            if isinstance(ex.response.body, dict) and "cds_scope_descriptions" in ex.response.body:
                problems += [
                    f"scope rule: {x}" for x in check_scope_descriptions(spec, ex.response.body)
                ]
    return problems


def _request_problems(ep: m.Endpoint, ex: m.Example, v: PayloadValidator) -> list[str]:
    problems: list[str] = []
    req = ex.request
    assert req is not None
    parts = req.start_line.split()
    if len(parts) < 2:
        return [f"request line '{req.start_line}' has no method and target"]
    method, target = parts[0], parts[1]
    if method != ep.method:
        problems.append(f"request method {method} differs from {ep.operation_id}'s {ep.method}")
    url = urlsplit(target)
    if not ep.advertised_by or ep.well_known:
        pattern = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(ep.path)) + "$"
        if not re.match(pattern, url.path):
            problems.append(f"request path {url.path} does not match {ep.path}")
    known = {f.name for f in ep.filters} | {p.name for p in ep.query_params}
    for name, _ in parse_qsl(url.query, keep_blank_values=True):
        if name not in known:
            problems.append(
                f"query parameter '{name}' is not a filter or parameter of {ep.operation_id}"
            )
    problems += _json_problems("request", req)
    if req.body is not None and ep.request_type is not None:
        problems += [f"request {e}" for e in v.problems(ep.request_type, req.body)]
    elif req.body is not None and ep.request_type is None and ep.method != "GET":
        problems.append(f"request has a body but {ep.operation_id} takes none")
    return problems
