"""Endpoints: methods, paths, authentication, parameters, filters, bodies and responses."""

from __future__ import annotations

from collections.abc import Iterator

from cdsgen import model as m
from cdsgen.diff.core import (
    CLIENTS,
    SERVERS,
    Change,
    DifferBase,
    _fmt,
    _rename,
    _Verdict,
    type_relation,
)


class EndpointsDiff(DifferBase):
    # -- endpoints -------------------------------------------------------------------------
    def _endpoints(self) -> Iterator[Change]:
        for op, n in self.new.endpoints.items():
            o = self.old.endpoints.get(op)
            subject = op
            if o is None:
                yield self._change(
                    n.document,
                    "endpoint-added",
                    subject,
                    f"endpoint added ({n.method} {n.path})",
                    _Verdict(),
                )
                continue
            yield from self._endpoint(o, n)
        for op, o in self.old.endpoints.items():
            if op not in self.new.endpoints:
                v = _Verdict().breaks(CLIENTS, "can no longer call it")
                yield self._change(
                    o.document, "endpoint-removed", op, f"endpoint removed ({o.method} {o.path})", v
                )

    def _both(self, what: str) -> _Verdict:
        return _Verdict().breaks(CLIENTS, f"must call {what}").breaks(SERVERS, f"must serve {what}")

    def _endpoint(self, o: m.Endpoint, n: m.Endpoint) -> Iterator[Change]:
        op, doc = n.operation_id, n.document
        if o.method != n.method:
            yield self._change(
                doc,
                "endpoint-method",
                op,
                f"method {o.method} → {n.method}",
                self._both(f"it with {n.method}"),
            )
        if o.path != n.path:
            if o.advertised_by and n.advertised_by:
                yield self._change(
                    doc,
                    "endpoint-path",
                    op,
                    f"conventional path {o.path} → {n.path} "
                    f"(the URL is discovered through `{n.advertised_by}`)",
                    _Verdict(),
                )
            else:
                yield self._change(
                    doc,
                    "endpoint-path",
                    op,
                    f"path {o.path} → {n.path}",
                    self._both(f"it at {n.path}"),
                )
        if o.advertised_by != n.advertised_by:
            v = _Verdict()
            if o.advertised_by:
                where = f"in `{n.advertised_by}`" if n.advertised_by else "elsewhere"
                v.breaks(CLIENTS, f"must find its URL {where}")
            if n.advertised_by:
                v.breaks(SERVERS, f"must advertise its URL in `{n.advertised_by}`")
            yield self._change(
                doc,
                "endpoint-advertised-by",
                op,
                f"advertised by `{o.advertised_by}` → `{n.advertised_by}`",
                v,
            )
        if o.auth != n.auth:
            yield self._change(
                doc,
                "endpoint-auth",
                op,
                f"authentication {o.auth} → {n.auth}",
                self._both(f"it with {n.auth} authentication"),
            )
        for s in n.scopes:
            if s not in o.scopes:
                yield self._change(
                    doc,
                    "endpoint-scope-added",
                    op,
                    f"now also callable with scope `{s}`",
                    _Verdict().breaks(SERVERS, f"must accept tokens of scope `{s}`"),
                )
        for s in o.scopes:
            if s not in n.scopes:
                yield self._change(
                    doc,
                    "endpoint-scope-removed",
                    op,
                    f"no longer callable with scope `{s}`",
                    _Verdict().breaks(CLIENTS, f"can no longer call it with scope `{s}`"),
                )
        yield from self._parameters(o, n)
        yield from self._filters(o, n)
        if o.ordering != n.ordering:

            def text(keys: list[m.OrderKey]) -> str:
                return "by " + ", then ".join(k.describe() for k in keys) if keys else "unspecified"

            v = _Verdict()
            if o.ordering:
                v.breaks(CLIENTS, "can no longer rely on the old order")
            if n.ordering:
                v.breaks(SERVERS, "must return items in the new order")
            yield self._change(
                doc, "endpoint-ordering", op, f"order {text(o.ordering)} → {text(n.ordering)}", v
            )
        yield from self._bodies(o, n)

    def _parameters(self, o: m.Endpoint, n: m.Endpoint) -> Iterator[Change]:
        op, doc = n.operation_id, n.document
        old_params = {p.name: p for p in o.query_params}
        for p in n.query_params:
            q = old_params.get(p.name)
            subject = f"{op}?{p.name}"
            if q is None:
                v = _Verdict().breaks(SERVERS, "must support it")
                if p.required:
                    v.breaks(CLIENTS, "must now send it")
                yield self._change(
                    doc,
                    "parameter-added",
                    subject,
                    f"{'REQUIRED' if p.required else 'OPTIONAL'} query parameter added",
                    v,
                )
                continue
            if q.required != p.required:
                if p.required:
                    yield self._change(
                        doc,
                        "parameter-required",
                        subject,
                        "OPTIONAL → REQUIRED",
                        _Verdict().breaks(CLIENTS, "must now send it"),
                    )
                else:
                    yield self._change(
                        doc,
                        "parameter-optional",
                        subject,
                        "REQUIRED → OPTIONAL",
                        _Verdict().breaks(SERVERS, "must handle its absence"),
                    )
            if str(q.type) != str(p.type):
                yield self._change(
                    doc,
                    "parameter-type",
                    subject,
                    f"type `{q.type}` → `{p.type}`",
                    self._both("it with the new parameter type"),
                )
        new_params = {p.name for p in n.query_params}
        for q in o.query_params:
            if q.name not in new_params:
                yield self._change(
                    doc,
                    "parameter-removed",
                    f"{op}?{q.name}",
                    "query parameter removed",
                    _Verdict().breaks(CLIENTS, "can no longer use it"),
                )

    def _filters(self, o: m.Endpoint, n: m.Endpoint) -> Iterator[Change]:
        op, doc = n.operation_id, n.document
        old_filters = {f.name: f for f in o.filters}
        for f in n.filters:
            g = old_filters.get(f.name)
            subject = f"{op}?{f.name}"
            if g is None:
                yield self._change(
                    doc,
                    "filter-added",
                    subject,
                    f"filter added ({f.syntax})",
                    _Verdict().breaks(
                        SERVERS, "must support it (ignoring it would return unfiltered results)"
                    ),
                )
                continue
            for attr in ("syntax", "matches", "compare"):
                if getattr(g, attr) != getattr(f, attr):
                    yield self._change(
                        doc,
                        "filter-changed",
                        subject,
                        f"{attr} `{getattr(g, attr)}` → `{getattr(f, attr)}`",
                        self._both("it with the new filter semantics"),
                    )
            more = [x for x in f.fields if x not in g.fields]
            fewer = [x for x in g.fields if x not in f.fields]
            if more:
                yield self._change(
                    doc,
                    "filter-fields-added",
                    subject,
                    f"now also searches {_fmt(more)}",
                    _Verdict().breaks(SERVERS, f"must also search {_fmt(more)}"),
                )
            if fewer:
                yield self._change(
                    doc,
                    "filter-fields-removed",
                    subject,
                    f"no longer searches {_fmt(fewer)}",
                    _Verdict().breaks(CLIENTS, f"can no longer find items by {_fmt(fewer)}"),
                )
        new_filters = {f.name for f in n.filters}
        for g in o.filters:
            if g.name not in new_filters:
                yield self._change(
                    doc,
                    "filter-removed",
                    f"{op}?{g.name}",
                    "filter removed",
                    _Verdict().breaks(CLIENTS, "can no longer filter with it"),
                )

    def _bodies(self, o: m.Endpoint, n: m.Endpoint) -> Iterator[Change]:
        op, doc = n.operation_id, n.document
        a = _rename(o.request_type, self.renames) if o.request_type else None
        b = n.request_type
        if (a is None) != (b is None):
            if b is not None:
                yield self._change(
                    doc,
                    "request-body",
                    op,
                    f"now takes a `{b}` request body",
                    _Verdict()
                    .breaks(CLIENTS, "must now send a body")
                    .breaks(SERVERS, "must read the body"),
                )
            else:
                yield self._change(
                    doc,
                    "request-body",
                    op,
                    "no longer takes a request body",
                    _Verdict().breaks(CLIENTS, "may no longer send a body"),
                )
        elif a is not None and b is not None and a != b:
            relation = type_relation(a, b, self.old, self.new)
            v = _Verdict()
            if relation in ("narrower", "different"):
                v.breaks(CLIENTS, "must send the new request body")
            if relation in ("wider", "different"):
                v.breaks(SERVERS, "must accept the new request body")
            yield self._change(
                doc, "request-body", op, f"request body `{o.request_type}` → `{b}` ({relation})", v
            )
        if o.request_content_type != n.request_content_type and a is not None and b is not None:
            yield self._change(
                doc,
                "request-content-type",
                op,
                f"request media type {o.request_content_type} → {n.request_content_type}",
                self._both("it with the new media type"),
            )
        old_resp = {r.status: r for r in o.responses}
        for r in n.responses:
            q = old_resp.get(r.status)
            subject = f"{op} {r.status}"
            if q is None:
                yield self._change(
                    doc,
                    "response-added",
                    subject,
                    f"response {r.status} documented" + (f" (`{r.type}`)" if r.type else ""),
                    _Verdict(),
                )
                continue
            a = _rename(q.type, self.renames) if q.type else None
            if a != r.type:
                if a is None or r.type is None:
                    relation = "different"
                else:
                    relation = type_relation(a, r.type, self.old, self.new)
                v = _Verdict()
                if relation in ("narrower", "different"):
                    v.breaks(SERVERS, "must send the new response body")
                if relation in ("wider", "different"):
                    v.breaks(CLIENTS, "must read the new response body")
                yield self._change(
                    doc,
                    "response-type",
                    subject,
                    f"response body `{q.type}` → `{r.type}` ({relation})",
                    v,
                )
            if q.content_type != r.content_type:
                yield self._change(
                    doc,
                    "response-content-type",
                    subject,
                    f"media type {q.content_type} → {r.content_type}",
                    _Verdict()
                    .breaks(CLIENTS, "must read the new media type")
                    .breaks(SERVERS, "must send the new media type"),
                )
        statuses = {r.status for r in n.responses}
        for q in o.responses:
            if q.status not in statuses:
                yield self._change(
                    doc,
                    "response-removed",
                    f"{op} {q.status}",
                    f"response {q.status} no longer documented",
                    _Verdict(),
                )
