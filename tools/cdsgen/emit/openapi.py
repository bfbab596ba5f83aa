"""OpenAPI 3.1 descriptions: one for all documents and one per document.

Structure is built in code as plain dicts (component schemas come from
:class:`~cdsgen.schemas.SchemaBuilder`) and dumped as JSON and YAML. Every schema and
operation carries ``x-cds-anchor``/``x-cds-document``; the root carries the machine-readable
scope and authorization-details rules as ``x-cds-scopes`` and
``x-cds-authorization-details-fields``.

Every operation documents the error responses the documents define for it, as shared
response components with the OAuth error body (:func:`error_responses`), so that generated
clients type their errors.
"""

from __future__ import annotations

import json
from typing import Any

from cdsgen import model as m
from cdsgen.corrections import corrected_parts
from cdsgen.schemas import SchemaBuilder
from cdsgen.serialize import to_json, to_yaml
from cdsgen.validate import PayloadValidator
from cdsgen.view import combined_version, view_documents

OPENAPI_DIR = "generated/openapi"

REF = "#/components/schemas/"

_FILTER_SCHEMAS: dict[str, dict[str, Any]] = {
    "space_separated": {"type": "string", "x-cds-syntax": "space-separated"},
    "datetime": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
    "search": {"type": "string", "x-cds-syntax": "search"},
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "decimal": {"type": "number"},
    "boolean": {"type": "boolean"},
}


def emit_openapi(spec: m.Spec, combined: dict[str, Any] | None = None) -> dict[str, str]:
    """``{path: text}`` for the combined description (built here unless given) and each
    document's own."""
    out: dict[str, str] = {}
    combined = combined if combined is not None else build_openapi(spec, None)
    out.update(_dump(f"{OPENAPI_DIR}/cds.openapi", combined))
    for doc in spec.documents:
        out.update(_dump(f"{OPENAPI_DIR}/{doc}.openapi", build_openapi(spec, doc)))
    return out


def _dump(stem: str, data: dict[str, Any]) -> dict[str, str]:
    return {
        f"{stem}.json": to_json(data),
        f"{stem}.yaml": to_yaml(data),
    }


def build_openapi(spec: m.Spec, document: str | None) -> dict[str, Any]:
    docs = view_documents(spec, document)
    own = docs if document is None else [document]
    builder = SchemaBuilder(spec, documents=docs)
    endpoints = [ep for ep in spec.endpoints.values() if ep.document in own]
    api: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": _info(spec, document, docs),
        "servers": [_server()],
        "tags": _tags(spec, endpoints),
        "paths": _paths(spec, endpoints, docs),
        "components": {
            "schemas": _with_error_schema(builder),
            "responses": {},
            "headers": {},
            "securitySchemes": _security_schemes(spec, own),
        },
    }
    responses = _used(api["paths"], "responses", error_response_components(spec))
    api["components"]["responses"] = responses
    api["components"]["headers"] = _used(responses, "headers", error_headers())
    _add_links(api)
    api["x-cds-scopes"] = {
        s.type: scope_rules(spec, s) for s in spec.scopes.values() if s.document in own
    }
    api["x-cds-authorization-details-fields"] = {
        f.id: authorization_details_field_rules(spec, f, builder)
        for f in spec.authorization_details_fields.values()
        if f.document in own
    }
    return api


def _server() -> dict[str, Any]:
    """One templated server: each CDS Server has its own host, and its real URLs come from
    its metadata; ``example.com`` is only the host the published examples use."""
    return {
        "url": "https://{host}",
        "description": (
            "A CDS Server. Paths here are the conventional ones of the published examples; a "
            "Server's real URLs are the ones its metadata gives (`cds_metadata_url`, "
            "`oauth_metadata` and the endpoint and `*_api` fields of its authorization server "
            "metadata), and Clients follow those, not these paths."
        ),
        "variables": {
            "host": {
                "default": "example.com",
                "description": "The Server's host (example.com in the published examples).",
            }
        },
    }


#: Who publishes the documents (their copyright section names LFESS).
CONTACT = {
    "name": "LF Energy Standards and Specifications Series (LFESS)",
    "url": "https://lfess.energy/",
}


def _info(spec: m.Spec, document: str | None, docs: list[str]) -> dict[str, Any]:
    listed = [spec.documents[d] for d in docs]
    if document is None:
        title = "LF Energy Connected Data Specifications (CDS)"
        summary = "All CDS documents: " + ", ".join(f"{d.code} {d.title}" for d in listed) + "."
        version = combined_version(spec)
    else:
        doc = spec.documents[document]
        title = f"{doc.code} {doc.title}"
        summary = doc.summary
        version = doc.version
    return {
        "title": title,
        "summary": summary,
        "description": (
            "Generated by cdsgen from the canonical CDS source. Each schema and operation links "
            "to the section of the published document that defines it (`x-cds-anchor`)."
        ),
        "version": version,
        "contact": dict(CONTACT),
        "license": {"name": "Apache 2.0", "identifier": "Apache-2.0"},
        "x-cds-documents": [
            {
                "id": d.id,
                "code": d.code,
                "title": d.title,
                "version": d.version,
                "status": d.status,
                "url": d.published_url,
            }
            for d in listed
        ],
    }


def _tags(spec: m.Spec, endpoints: list[m.Endpoint]) -> list[dict[str, Any]]:
    """One tag per API group, described by the published sections that define its
    operations (so the description follows the source)."""
    tags = []
    for group in sorted({ep.group for ep in endpoints}):
        sections: dict[tuple[str, str], str] = {}
        for ep in endpoints:
            if ep.group != group:
                continue
            doc = spec.documents[ep.document]
            section = doc.section_by_anchor().get(ep.anchor)
            title = section.title if section else ep.anchor
            sections.setdefault(
                (ep.document, ep.anchor), f"{doc.code} §{_number(doc, ep.anchor)} {title}"
            )
        first_doc, first_anchor = next(iter(sections))
        tags.append(
            {
                "name": group,
                "description": "Operations defined in " + "; ".join(sections.values()) + ".",
                "externalDocs": {
                    "url": spec.documents[first_doc].link(first_anchor),
                    "description": next(iter(sections.values())),
                },
            }
        )
    return tags


def _paths(spec: m.Spec, endpoints: list[m.Endpoint], docs: list[str]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    view = PayloadValidator(spec, docs, strict=False, memo=True)
    for ep in endpoints:
        paths.setdefault(ep.path, {})[ep.method.lower()] = _operation(spec, ep, view)
    return dict(sorted(paths.items()))


def _schema_of(t) -> dict[str, Any]:
    from cdsgen.types import Named

    if isinstance(t, Named):
        return {"$ref": REF + t.name}
    raise ValueError("operation bodies are named types")


def _operation(spec: m.Spec, ep: m.Endpoint, view: PayloadValidator) -> dict[str, Any]:
    doc = spec.documents[ep.document]
    builder = SchemaBuilder(spec)
    op: dict[str, Any] = {
        "operationId": ep.operation_id,
        "summary": ep.summary.split(". ")[0].rstrip("."),
        "description": ep.summary,
        "tags": [ep.group],
        "externalDocs": {
            "url": doc.link(ep.anchor),
            "description": f"{doc.code} §{_number(doc, ep.anchor)}",
        },
        "x-cds-anchor": ep.anchor,
        "x-cds-document": ep.document,
    }
    if ep.advertised_by:
        op["x-cds-advertised-by"] = ep.advertised_by
    if ep.well_known:
        op["x-cds-well-known"] = True
    params: list[dict[str, Any]] = []
    for p in ep.path_params:
        params.append(
            {
                "name": p.name,
                "in": "path",
                "required": True,
                "description": p.summary,
                "schema": builder.type_schema(p.type),
            }
        )
    for p in ep.query_params:
        params.append(
            {
                "name": p.name,
                "in": "query",
                "required": p.required,
                "description": p.summary,
                "schema": builder.type_schema(p.type),
            }
        )
    for f in ep.filters:
        schema = dict(_FILTER_SCHEMAS[f.syntax])
        param: dict[str, Any] = {
            "name": f.name,
            "in": "query",
            "required": False,
            "description": f.summary,
            "schema": schema,
        }
        if f.matches:
            param["x-cds-matches"] = f.matches
        if f.compare != "in" or f.syntax not in ("space_separated", "search"):
            param["x-cds-compare"] = f.compare
        if f.fields:
            param["x-cds-search-fields"] = list(f.fields)
        if f.syntax == "space_separated":
            param["style"] = "form"
            param["explode"] = False
        params.append(param)
    if params:
        op["parameters"] = params
    if ep.ordering:
        op["x-cds-ordering"] = [
            {k: v for k, v in vars(key).items() if v is not None} for key in ep.ordering
        ]
    examples = [ex for ex in spec.examples.values() if ex.operation == ep.operation_id]
    elsewhere: dict[str, Any] = {}
    if ep.request_type is not None:
        content = {"schema": _schema_of(ep.request_type)}
        req_examples = _examples(spec, examples, request=True)
        _set_aside(req_examples, ep.request_type, view, elsewhere, "request")
        if req_examples:
            content["examples"] = req_examples
        op["requestBody"] = {"required": True, "content": {ep.request_content_type: content}}
    op["responses"] = {}
    for r in ep.responses:
        resp: dict[str, Any] = {"description": r.summary}
        if r.type is not None:
            content = {"schema": _schema_of(r.type)}
            resp_examples = _examples(
                spec, [e for e in examples if e.status == r.status], request=False
            )
            _set_aside(resp_examples, r.type, view, elsewhere, str(r.status))
            if resp_examples:
                content["examples"] = resp_examples
            resp["content"] = {r.content_type: content}
        if r.status == 401 and ep.auth != "none":
            resp["headers"] = {
                "WWW-Authenticate": {
                    "description": "The authentication scheme and the OAuth error.",
                    "schema": {"type": "string"},
                }
            }
        if r.status >= 400 and r.type is None and not _answers_a_browser(ep):
            resp["content"] = {"application/json": {"schema": error_body(spec)}}
        op["responses"][str(r.status)] = resp
    for status, response in error_responses(ep).items():
        op["responses"].setdefault(status, response)
    op["responses"] = dict(sorted(op["responses"].items()))
    if elsewhere:
        op["x-cds-examples-of-earlier-documents"] = elsewhere
    security = _security(ep)
    if security is not None:
        op["security"] = security
    return op


def _number(doc: m.Document, anchor: str) -> str:
    section = doc.section_by_anchor().get(anchor)
    return section.number if section and section.number else anchor


def _set_aside(
    examples: dict[str, Any], t: Any, view: PayloadValidator, aside: dict[str, Any], where: str
) -> None:
    """Move the examples that do not satisfy this view's schema into ``aside``: examples of an
    earlier document, right for a Server of that document alone, that the later documents of
    the view extend with REQUIRED fields (e.g. the CDS-WG1-01 metadata example, which has no
    CDS-WG1-02 `oauth_metadata`). They stay in the earlier document's own OpenAPI."""
    for name in list(examples):
        own_view = set(view_documents(view.spec, view.spec.examples[name].document))
        if own_view == view.builder.documents:
            continue  # the view lint checked the example in
        if not view.schema_valid(t, examples[name]["value"]):
            aside[name] = {"in": where, **examples.pop(name)}


def _examples(spec: m.Spec, examples: list[m.Example], *, request: bool) -> dict[str, Any]:
    """The examples of one request or response body. A body an erratum corrects is given as
    corrected (so every example validates against its schema); the published body and the
    errata behind the change stay in ``x-cds-published-example``."""
    out: dict[str, Any] = {}
    part = "request" if request else "response"
    for ex in examples:
        msg = ex.request if request else ex.response
        if msg is None or msg.body is None:
            continue
        corrected = corrected_parts(spec, ex).get(part)
        value = corrected[0] if corrected else msg.body
        entry: dict[str, Any] = {"summary": ex.summary, "value": value}
        entry["x-cds-anchor"] = ex.anchor
        if ex.errata:
            entry["x-cds-errata"] = list(ex.errata)
        if corrected:
            entry["x-cds-published-example"] = {"value": msg.body, "errata": corrected[1]}
        out[ex.id] = entry
    return out


#: The error responses every operation may give, as shared components (status → name).
_ERROR_RESPONSES: dict[str, tuple[str, str]] = {
    "400": (
        "BadRequest",
        "The request is malformed: `invalid_request` (or the operation's own OAuth error code); "
        "`error_description` names the parameter or body field at fault.",
    ),
    "401": (
        "Unauthorized",
        "No, an unknown, expired or revoked credential (`invalid_token`, `invalid_client`); "
        "`WWW-Authenticate` says which scheme to use and why.",
    ),
    "403": (
        "Forbidden",
        "The access token is valid but its scope or Grant does not cover this request "
        "(`insufficient_scope`).",
    ),
    "404": (
        "NotFound",
        "No object with this id exists, or none the credential may see (`not_found`).",
    ),
    "413": (
        "PayloadTooLarge",
        "The request body is larger than the Server accepts (`invalid_request`).",
    ),
    "415": (
        "UnsupportedMediaType",
        "The request body is not of the media type the operation takes (`invalid_request`).",
    ),
    "429": (
        "TooManyRequests",
        "Too many requests (§ Rate Limiting of the documents): wait as `Retry-After` says, "
        "then try again.",
    ),
    "503": (
        "ServiceUnavailable",
        "The Server is temporarily unable to answer: try again after `Retry-After` "
        "(`temporarily_unavailable`).",
    ),
}


#: The error body every error response carries (RFC 6749 §5.2, defined with CDS-WG1-02).
ERROR_SCHEMA = "OAuthError"


def _with_error_schema(builder: SchemaBuilder) -> dict[str, Any]:
    """The view's component schemas, plus the error body when the view does not hold it
    (CDS-WG1-01 alone: its operations answer errors in the same form)."""
    schemas = builder.components()
    if ERROR_SCHEMA not in schemas and ERROR_SCHEMA in builder.spec.objects:
        home = view_documents(builder.spec, builder.spec.document_of(ERROR_SCHEMA))
        schemas[ERROR_SCHEMA] = SchemaBuilder(builder.spec, documents=home).component(ERROR_SCHEMA)
    return schemas


def _answers_a_browser(ep: m.Endpoint) -> bool:
    """An operation a user's browser calls and that answers by redirecting (the
    authorization endpoint): its errors go to the user or back through the redirect, not as
    a JSON body to a Client."""
    success = [r.status for r in ep.responses if r.status < 400]
    return bool(success) and all(300 <= s < 400 for s in success)


def error_headers() -> dict[str, Any]:
    """The headers of the error responses, as shared components."""
    return {
        "WWW-Authenticate": {
            "description": (
                "The authentication scheme (`Bearer` or `Basic`) with the realm and, for a "
                "rejected token, the OAuth `error` (RFC 6750 §3)."
            ),
            "schema": {"type": "string"},
        },
        "Retry-After": {
            "description": "Seconds to wait, or the HTTP date after which to try again.",
            "schema": {
                "anyOf": [
                    {"type": "integer", "minimum": 0},
                    {"type": "string", "description": "An HTTP date (RFC 9110 §5.6.7)."},
                ]
            },
        },
    }


def _used(where: dict[str, Any], section: str, components: dict[str, Any]) -> dict[str, Any]:
    """The shared components of ``section`` that ``where`` refers to (a document without
    authenticated operations, e.g. CDS-WG1-01, has no use for 401 and 403)."""
    text = json.dumps(where)
    return {n: c for n, c in components.items() if f'"#/components/{section}/{n}"' in text}


def error_body(spec: m.Spec) -> dict[str, Any]:
    """The schema of error bodies: ``OAuthError`` where the source defines it (it does, with
    CDS-WG1-02), else the same object inline (sources without it, e.g. test fixtures)."""
    if ERROR_SCHEMA in spec.objects:
        return {"$ref": REF + ERROR_SCHEMA}
    return {
        "type": "object",
        "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
        "required": ["error"],
        "additionalProperties": True,
    }


def error_response_components(spec: m.Spec) -> dict[str, Any]:
    """One shared response per error status: the OAuth error body (``OAuthError``, the
    object the reference server and the client use), plus the headers the status needs."""
    out: dict[str, Any] = {}
    for status, (name, description) in _ERROR_RESPONSES.items():
        response: dict[str, Any] = {
            "description": description,
            "content": {"application/json": {"schema": error_body(spec)}},
        }
        header = {"401": "WWW-Authenticate", "429": "Retry-After", "503": "Retry-After"}
        if status in header:
            response["headers"] = {
                header[status]: {"$ref": f"#/components/headers/{header[status]}"}
            }
        out[name] = response
    return out


def error_responses(ep: m.Endpoint) -> dict[str, dict[str, str]]:
    """The error responses of one operation (status → reference to a shared response):
    400 and 429 and 503 always; 401 when it needs credentials and 403 when they are access
    tokens with scopes; 404 with path parameters; 413 and 415 with a request body. A
    response the source defines itself takes precedence (see ``_operation``)."""
    statuses = ["400", "429", "503"]
    if ep.auth != "none":
        statuses.append("401")
    if ep.auth == "bearer":
        statuses.append("403")
    if ep.path_params:
        statuses.append("404")
    if ep.request_type is not None:
        statuses += ["413", "415"]
    return {
        s: {"$ref": f"#/components/responses/{_ERROR_RESPONSES[s][0]}"} for s in sorted(statuses)
    }


def _security(ep: m.Endpoint) -> list[dict[str, list[str]]] | None:
    if ep.auth == "none":
        return [] if ep.scopes == [] else None
    if ep.auth in ("client_basic", "client_credentials"):
        return [{"clientBasic": []}]
    if not ep.scopes:
        return [{"oauth2": []}]
    return [{"oauth2": [s]} for s in ep.scopes]


def _security_schemes(spec: m.Spec, own: list[str]) -> dict[str, Any]:
    scopes = {s.type: s.name for s in spec.scopes.values()}
    return {
        "clientBasic": {
            "type": "http",
            "scheme": "basic",
            "description": "HTTP Basic with the Client's client_id and client_secret.",
        },
        "oauth2": {
            "type": "oauth2",
            "description": (
                "Access tokens from the Server's token endpoint. Scope names below are CDS scope "
                "*types*; a Server publishes its own scope ids for them in "
                "`cds_scope_descriptions`."
            ),
            "flows": {
                "clientCredentials": {
                    "tokenUrl": "https://example.com/oauth/token",
                    "scopes": scopes,
                },
                "authorizationCode": {
                    "authorizationUrl": "https://example.com/oauth/authorize",
                    "tokenUrl": "https://example.com/oauth/token",
                    "refreshUrl": "https://example.com/oauth/token",
                    "scopes": scopes,
                },
            },
        },
    }


def scope_rules(spec: m.Spec, s: m.Scope) -> dict[str, Any]:
    """A scope's rules in the normalized, machine-readable form of ``x-cds-scopes``."""
    req = s.requirements
    ad = req.of("authorization_details_types_supported")
    return {
        "x-cds-anchor": s.anchor,
        "x-cds-document": s.document,
        "name": s.name,
        "category": s.category,
        "description": s.summary,
        "grant_types": req.of("grant_types_supported").export(),
        "response_types": req.of("response_types_supported").export(),
        "token_endpoint_auth_methods": req.of("token_endpoint_auth_methods_supported").export(),
        "code_challenge_methods": req.of("code_challenge_methods_supported").export(),
        "authorization_details_types": {
            "required": ad.listed("includes"),
            "conditional": list(s.conditional_authorization_details_types),
            "forbidden": ad.listed("excludes"),
        },
        "authorization_details_fields": s.authorization_details_fields.export(),
        "requirements": req.export(),
        "rules": [r.export() for r in s.rules],
        "default_includes": list(s.default_includes),
        "forbid_preselection_in_grants": s.forbid_preselection_in_grants,
    }


def authorization_details_field_rules(
    spec: m.Spec, f: m.AuthorizationDetailsFieldRule, builder: SchemaBuilder
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "x-cds-anchor": f.anchor,
        "x-cds-document": f.document,
        "name": f.name,
        "category": f.category,
        "description": f.summary,
        "requirements": f.requirements.export(),
        "rules": [r.export() for r in f.rules],
    }
    if f.value_type is not None:
        schema = builder.type_schema(f.value_type)
        out["value_schema"] = builder._nullable(schema) if f.value_nullable else schema
    if f.fills:
        out["fills"] = {obj: list(names) for obj, names in f.fills.items()}
    return out


# -- links between operations, for stateful API testers ---------------------------------------
def _add_links(api: dict[str, Any]) -> None:
    """OpenAPI ``links`` from each operation that returns objects of a collection (creating
    one, or listing them) to every operation on one of those objects' paths, filling the
    path parameter from the response body (``$response.body#/client_id`` after a create,
    ``$response.body#/clients/0/client_id`` after a listing), so testers such as
    Schemathesis can chain create → get and list → get."""
    schemas = api["components"]["schemas"]

    def target(ref: dict[str, Any]) -> dict[str, Any]:
        name = ref.get("$ref", "").rsplit("/", 1)[-1]
        return schemas.get(name, {})

    def pointers(schema: dict[str, Any], param: str) -> dict[str, str]:
        """Link name suffix → JSON pointer of ``param`` in a response of ``schema``."""
        props = schema.get("properties", {})
        if param in props:
            return {"": f"/{param}"}
        lists = [
            name
            for name, prop in props.items()
            if prop.get("type") == "array"
            and param in target(prop.get("items", {})).get("properties", {})
        ]
        suffix = (lambda n: "") if len(lists) == 1 else (lambda n: "_" + n)
        return {suffix(name): f"/{name}/0/{param}" for name in lists}

    for path, item in api["paths"].items():
        parts = path.rsplit("/{", 1)
        if len(parts) != 2 or "{" in parts[0]:
            continue
        collection, rest = parts
        param = rest.split("}", 1)[0]
        for source in api["paths"].get(collection, {}).values():
            for status, resp in source["responses"].items():
                schema = resp.get("content", {}).get("application/json", {}).get("schema", {})
                found = pointers(target(schema), param) if status.startswith("2") else {}
                for suffix, where in found.items():
                    for op in item.values():
                        resp.setdefault("links", {})[op["operationId"] + suffix] = {
                            "operationId": op["operationId"],
                            "parameters": {param: f"$response.body#{where}"},
                            "description": f"The {param} of an object this response returns.",
                        }
