"""The operations of the source as the generated Python packages see them: function names,
typed path and query parameters, request and response models, listings and their pages.

Plain data built once from the model, shared by the server stubs (:mod:`cdsgen.emit.server`)
and the client (:mod:`cdsgen.emit.client`), so both name and type every operation alike.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field

from cdsgen import model as m
from cdsgen.types import ArrayOf, Named, TypeExpr

#: Python types of the primitives a path or query parameter can have.
_PARAM_TYPES = {
    "integer": "int",
    "decimal": "Decimal",
    "boolean": "bool",
    "datetime": "datetime",
    "date": "date",
}
#: Python types of the filter syntaxes (see spec/README.md, "Endpoints").
_FILTER_TYPES = {
    "space_separated": "list[str]",
    "datetime": "datetime",
    "date": "date",
    "search": "str",
    "string": "str",
    "integer": "int",
    "decimal": "Decimal",
    "boolean": "bool",
}
#: The query parameter that carries the opaque page cursor of `next`/`previous` links.
CURSOR = "cursor"


@dataclass
class ParamView:
    name: str
    attr: str
    py_type: str
    parser: str
    required: bool
    summary: str
    filter: m.Filter | None = None


@dataclass
class ListView:
    """One list of a listing response and the link fields that page through it."""

    name: str
    item: str
    next: str | None
    previous: str | None


@dataclass
class OperationView:
    ep: m.Endpoint
    func: str
    reference: str
    link: str
    path_params: list[ParamView]
    query: list[ParamView]
    query_class: str | None
    request: str | None
    request_form: bool
    status: int
    accepted: bool
    body: str | None
    kind: str  # model | listing | redirect | file | empty
    lists: list[ListView] = field(default_factory=list)
    pages_class: str | None = None
    conditional: bool = False

    @property
    def access(self) -> str:
        """How the operation is called and answered, for docstrings."""
        ep = self.ep
        text = f"{ep.method} ``{ep.path}``"
        if ep.auth == "bearer":
            text += ", with a Bearer token"
            if ep.scopes:
                text += " of scope type " + ", ".join(f"``{s}``" for s in ep.scopes)
        elif ep.auth == "client_basic":
            text += ", with HTTP Basic Client authentication (``ctx.client``)"
        text += f"; answered {self.status}"
        if self.accepted:
            text += ", or 202 when the backend returns ``Accepted(body)``"
        return text + "."

    @property
    def backend_models(self) -> list[str]:
        """The :mod:`cds_models` classes the backend method's signature names."""
        names = [self.request] if self.request else []
        if self.kind == "listing":
            names += [lst.item for lst in self.lists]
        elif self.body:
            names.append(self.body)
        return names

    @property
    def returns(self) -> str:
        """The return annotation of the backend method."""
        if self.kind == "listing":
            return self.pages_class or f"Page[{self.lists[0].item}]"
        if self.kind == "redirect":
            return "Redirect"
        if self.kind == "file":
            return "FileDownload"
        if self.kind == "empty":
            return "None"
        assert self.body is not None
        return f"{self.body} | Accepted[{self.body}]" if self.accepted else self.body


def snake(name: str) -> str:
    """``listMeterDevices`` → ``list_meter_devices``; ``OAuth`` → ``oauth``."""
    out = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    return out + "_" if keyword.iskeyword(out) else out


def _attr(name: str) -> str:
    attr = re.sub(r"\W", "_", name)
    return attr + "_" if keyword.iskeyword(attr) else attr


def _named(t: TypeExpr | None) -> str | None:
    if t is None:
        return None
    if not isinstance(t, Named):
        raise ValueError(f"operation bodies are named types, not {t}")
    return t.name


def _param_type(t: TypeExpr) -> str:
    return _PARAM_TYPES.get(t.name, "str") if isinstance(t, Named) else "str"


def _reference(spec: m.Spec, ep: m.Endpoint) -> str:
    doc = spec.documents[ep.document]
    section = doc.section_by_anchor().get(ep.anchor)
    if section is None:
        return doc.code
    number = f"§{section.number} " if section.number else ""
    return f"{doc.code} {number}{section.title}"


def _lists(spec: m.Spec, listing: m.ObjectType) -> list[ListView]:
    """The paged lists of a listing object: ``x`` with ``next``/``previous`` when it has one
    list, ``x`` with ``x_next``/``x_previous`` for each of several (a link field the listing
    lacks is left out)."""
    arrays = [f for f in listing.fields.values() if isinstance(f.type, ArrayOf)]
    out = []
    for f in arrays:
        item = f.type.item
        if not isinstance(item, Named) or item.name not in spec.objects:
            raise ValueError(f"{listing.name}.{f.name}: listing items must be objects")
        prefix = "" if len(arrays) == 1 else f"{f.name}_"
        links = [f"{prefix}{link}" for link in ("next", "previous")]
        out.append(
            ListView(
                f.name, item.name, *(link if link in listing.fields else None for link in links)
            )
        )
    return out


def _filter_summary(f: m.Filter) -> str:
    if f.syntax == "search" and f.fields:
        return (
            f"{f.summary} Searched fields: " + ", ".join(f"``{name}``" for name in f.fields) + "."
        )
    return f.summary


def operation_view(spec: m.Spec, ep: m.Endpoint) -> OperationView:
    func = snake(ep.operation_id)
    doc = spec.documents[ep.document]
    path_params = [
        ParamView(p.name, _attr(p.name), _param_type(p.type), "", True, p.summary)
        for p in ep.path_params
    ]
    query = [
        ParamView(
            p.name, _attr(p.name), _param_type(p.type), _param_type(p.type), p.required, p.summary
        )
        for p in ep.query_params
    ]
    query += [
        ParamView(
            f.name, _attr(f.name), _FILTER_TYPES[f.syntax], f.syntax, False, _filter_summary(f), f
        )
        for f in ep.filters
    ]
    success = [r for r in ep.responses if 200 <= r.status < 400 and r.status != 304]
    if not success:
        raise ValueError(f"{ep.operation_id} has no success response")
    first = success[0]
    body = _named(first.type)
    accepted = any(r.status == 202 for r in success[1:])
    kind = "model"
    lists: list[ListView] = []
    if first.status in (301, 302, 303, 307):
        kind = "redirect"
    elif body is None:
        kind = "file" if first.content_type not in ("application/json",) else "empty"
    elif ep.is_listing and spec.objects.get(body) and spec.objects[body].kind == "listing":
        kind = "listing"
        lists = _lists(spec, spec.objects[body])
        if any(p.name == CURSOR for p in query):
            raise ValueError(f"{ep.operation_id} already has a `{CURSOR}` parameter")
        query.append(
            ParamView(
                CURSOR,
                CURSOR,
                "str",
                "string",
                False,
                "Opaque position of the page, from a `next` or `previous` link.",
            )
        )
    query_class = ep.operation_id[0].upper() + ep.operation_id[1:] + "Query" if query else None
    return OperationView(
        ep=ep,
        func=func,
        reference=_reference(spec, ep),
        link=doc.link(ep.anchor),
        path_params=path_params,
        query=query,
        query_class=query_class,
        request=_named(ep.request_type),
        request_form=ep.request_content_type == "application/x-www-form-urlencoded",
        status=first.status,
        accepted=accepted,
        body=body,
        kind=kind,
        lists=lists,
        pages_class=f"{body}Pages" if len(lists) > 1 else None,
        conditional=any(r.status == 304 for r in ep.responses),
    )
