"""Endpoints, scopes, authorization details fields, examples and errata."""

from __future__ import annotations

from cdsgen import model as m
from cdsgen.http_example import parse_exchange, parse_json_body
from cdsgen.rules import Requirements, ScopeRule
from cdsgen.source.base import BuilderBase, _File, _listed


class ItemsBuilder(BuilderBase):
    # -- endpoints, scopes, examples, errata --------------------------------------------------
    def _endpoints(self, f: _File) -> None:
        doc = f.doc
        for op, data, path in self._new_items(f, "endpoints", self.spec.endpoints, "endpoint"):
            responses = []
            for status, rd in data["responses"].items():
                t = (
                    self._type(f, rd["type"], path + ("responses", status, "type"))
                    if rd.get("type")
                    else None
                )
                responses.append(
                    m.Response(
                        int(status), rd["summary"], t, rd.get("content_type", "application/json")
                    )
                )
            request = data.get("request")
            ordering = data.get("ordering")
            self.spec.endpoints[op] = m.Endpoint(
                operation_id=op,
                document=doc,
                anchor=data["anchor"],
                summary=data["summary"],
                group=data.get("group", "Default"),
                method=data["method"],
                path=data["path"],
                advertised_by=data.get("advertised_by"),
                well_known=data.get("well_known", False),
                auth=data.get("auth", "none"),
                scopes=list(data.get("scopes", [])),
                path_params=self._params(f, data, path, "path_params"),
                query_params=self._params(f, data, path, "query_params"),
                filters=[
                    m.Filter(
                        name=fname,
                        syntax=fd["syntax"],
                        summary=fd["summary"],
                        matches=fd.get("matches"),
                        compare=fd.get("compare", "in"),
                        fields=list(fd.get("fields", [])),
                    )
                    for fname, fd in (data.get("filters") or {}).items()
                ],
                ordering=[
                    m.OrderKey(k["by"], k["direction"], k.get("through"), k.get("object"))
                    for k in ([ordering] if isinstance(ordering, dict) else ordering or [])
                ],
                request_type=self._type(f, request["type"], path + ("request", "type"))
                if request
                else None,
                request_content_type=request.get("content_type", "application/json")
                if request
                else None,
                responses=sorted(responses, key=lambda r: r.status),
                pos=f.y.pos(path),
            )

    def _params(self, f: _File, data: dict, path: tuple, key: str) -> list[m.Parameter]:
        out = []
        for pname, pd in (data.get(key) or {}).items():
            t = self._type(f, pd.get("type", "string"), path + (key, pname, "type"))
            required = pd.get("required", key == "path_params")
            out.append(m.Parameter(pname, t, required, pd["summary"]))
        return out

    def _scope_rules(self, data: list) -> list[ScopeRule]:
        return [ScopeRule.parse(r) for r in data]

    def _scopes(self, f: _File) -> None:
        doc = f.doc
        for sid, data, path in self._new_items(f, "scopes", self.spec.scopes, "scope"):
            self.spec.scopes[sid] = m.Scope(
                type=sid,
                document=doc,
                anchor=data["anchor"],
                name=data["name"],
                summary=data["summary"],
                category=data["category"],
                requirements=Requirements.parse(data["requirements"]),
                conditional_authorization_details_types=list(
                    data.get("conditional_authorization_details_types", [])
                ),
                authorization_details_fields=Requirements.parse(
                    data.get("authorization_details_fields")
                ),
                rules=self._scope_rules(data.get("rules", [])),
                default_includes=list(data.get("default_includes", [])),
                forbid_preselection_in_grants=data.get("forbid_preselection_in_grants", False),
                pos=f.y.pos(path),
            )
        fields = self.spec.authorization_details_fields
        what = "authorization details field"
        for fid, data, path in self._new_items(f, "authorization_details_fields", fields, what):
            vt = data.get("value_type")
            self.spec.authorization_details_fields[fid] = m.AuthorizationDetailsFieldRule(
                id=fid,
                document=doc,
                anchor=data["anchor"],
                name=data["name"],
                summary=data["summary"],
                category=data["category"],
                requirements=Requirements.parse(data["requirements"]),
                rules=self._scope_rules(data.get("rules", [])),
                value_type=self._type(f, vt, path + ("value_type",)) if vt else None,
                value_nullable=data.get("value_nullable", False),
                pos=f.y.pos(path),
                fills={o: tuple(names) for o, names in data.get("fills", {}).items()},
            )

    def _examples(self, f: _File) -> None:
        doc = f.doc
        examples = self.spec.examples
        for eid, data, path in self._new_items(f, "examples", examples, "example", unique=False):
            request = response = json_body = None
            if "http" in data:
                text = data["http"]
                first = f.y.value_pos(path + ("http",)).line + 1  # block scalars start below `|`
                request, response = parse_exchange(text, first)
            else:
                text = data["json"]
                first = f.y.value_pos(path + ("json",)).line + 1
                json_body = parse_json_body(text, first)
            obj = data.get("object")
            self.spec.examples[eid] = m.Example(
                id=eid,
                document=doc,
                anchor=data["anchor"],
                summary=data["summary"],
                operation=data.get("operation"),
                object_type=self._type(f, obj, path + ("object",)) if obj else None,
                text=text,
                request=request,
                response=response,
                json_body=json_body,
                pos=f.y.pos(path),
            )

    def _errata(self, f: _File) -> None:
        doc = f.doc
        for i, data in enumerate(_listed(f.y.data.get("errata"))):
            path = ("errata", i)
            if ("errata", str(i)) in f.broken or not isinstance(data, dict):
                continue
            if not self._holds(f, path, data):
                continue
            if any(e.id == data["id"] for e in self.spec.errata):
                self.d.error(
                    f.y.value_pos(path + ("id",)),
                    f"duplicate erratum id '{data['id']}'",
                    rule="duplicate-item",
                )
                continue
            self._anchor(f, doc, "erratum", data["anchor"], path, unique=False)
            self.spec.errata.append(
                m.Erratum(
                    id=data["id"],
                    document=doc,
                    anchor=data["anchor"],
                    target={k: str(v) for k, v in data["target"].items()},
                    problem=data["problem"],
                    normative=data.get("normative"),
                    resolution=data["resolution"],
                    pos=f.y.pos(path),
                    covers=list(data.get("covers", [])),
                    when_version=dict(data.get("when_version") or {}),
                    correction=dict(data["correction"]) if data.get("correction") else None,
                )
            )
