"""``cdsgen lint``: everything the loader checks, plus the checks that need the whole model.

* every published example is parsed and validated against the strict schema of what it
  illustrates (request and response bodies of its operation, or its object type);
* an example with problems must be covered by an erratum, which turns the problems into
  warnings; every erratum is reported as a warning so maintainers keep seeing them;
* every object, enumeration and listing of a document's published-facts snapshot has a
  source item anchored at its section (:mod:`cdsgen.published_coverage`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from cdsgen import model as m
from cdsgen.diagnostics import Diagnostics, Pos
from cdsgen.emit.openapi import view_documents
from cdsgen.loader import load_spec
from cdsgen.published_coverage import check_published_coverage
from cdsgen.scope_rules import check_scope_descriptions
from cdsgen.validate import PayloadValidator


@dataclass
class LintResult:
    spec: m.Spec
    diagnostics: Diagnostics

    @property
    def ok(self) -> bool:
        return not self.diagnostics.errors


def lint(root: Path) -> LintResult:
    diags = Diagnostics()
    spec = load_spec(root, diags)
    check_spec(spec, diags, root)
    return LintResult(spec, diags)


def check_spec(spec: m.Spec, diags: Diagnostics, root: Path | None = None) -> None:
    """The checks that need the whole, loaded model (see the module docstring); ``root`` is
    the source folder holding the published-facts snapshots."""
    check_published_coverage(spec, diags, root)
    if not diags.errors:
        # examples are validated against a consistent model only; with unresolved names
        # their problems would only repeat the ones already reported
        check_examples(spec, diags)
    for er in spec.errata:
        diags.warning(er.pos, f"erratum {er.id}: {er.problem}")


def check_examples(spec: m.Spec, diags: Diagnostics) -> None:
    """Validate each example against its own document's view (the document and those it
    depends on), so a later document's additions do not break an earlier one's examples."""
    validators: dict[str, PayloadValidator] = {}
    for ex in spec.examples.values():
        if ex.document not in validators:
            validators[ex.document] = PayloadValidator(spec, view_documents(spec, ex.document))
        ex.problems = example_problems(spec, ex, validators[ex.document])
        errata = spec.errata_for(example=ex.id)
        for problem in ex.problems:
            if any(c in problem for e in errata for c in e.covers):
                continue  # accounted for; the erratum itself is reported as a warning
            diags.error(
                _body_pos(ex), f"example '{ex.id}': {problem} (fix it or record an erratum)"
            )
        for e in errata:
            for c in e.covers:
                if not any(c in p for p in ex.problems):
                    diags.error(
                        e.pos,
                        f"erratum '{e.id}' covers '{c}', "
                        f"which is not a problem of example '{ex.id}'",
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
