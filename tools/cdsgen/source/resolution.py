"""Resolution once every file is read: bases, references between items, links, errata targets."""

from __future__ import annotations

import copy
import re

from cdsgen import model as m
from cdsgen.diagnostics import Pos
from cdsgen.source.base import BuilderBase
from cdsgen.types import names_in, parse_type


class Resolver(BuilderBase):
    # -- resolution ----------------------------------------------------------------------------
    def _known(self, name: str) -> bool:
        return self.spec.kind_of(name) is not None or name in self.broken_names

    def _check_type(self, t, pos: Pos, what: str) -> None:
        if t is None:
            return
        for name in names_in(t):
            if not self._known(name):
                self.d.error(pos, f"unknown type '{name}' in {what}", rule="unknown-type")

    def _apply_bases(self) -> None:
        """An object with ``base`` starts from the base's fields (including fields later
        documents add to it); its own fields override or extend them."""
        done: set[str] = set()

        def apply(obj: m.ObjectType, trail: tuple[str, ...]) -> None:
            if obj.name in done or not obj.base:
                return
            base = self.spec.objects.get(obj.base)
            if base is None or obj.base in trail:
                if base is not None:
                    self.d.error(obj.pos, f"base cycle through '{obj.base}'", rule="unknown-type")
                return
            apply(base, trail + (obj.name,))
            merged: dict[str, m.Field] = {}
            for name, fd in base.fields.items():
                if name in obj.fields:
                    merged[name] = obj.fields[name]
                else:
                    inherited = copy.copy(fd)
                    inherited.anchor = fd.anchor or base.anchor
                    merged[name] = inherited
            merged.update({n: f for n, f in obj.fields.items() if n not in merged})
            obj.fields = merged
            done.add(obj.name)

        for obj in self.spec.objects.values():
            apply(obj, ())

    def _resolve(self) -> None:
        s = self.spec
        self._apply_bases()
        for obj in s.objects.values():
            if obj.base and not self._known(obj.base):
                self.d.error(obj.pos, f"unknown base object '{obj.base}'", rule="unknown-type")
            for fd in obj.fields.values():
                self._check_type(fd.type, fd.pos, f"field '{fd.name}' of {obj.name}")
                self._check_field_values(obj, fd)
                for cond in (fd.required_if, fd.forbidden_if, fd.only_if):
                    if cond and cond.field not in obj.fields:
                        self.d.error(
                            fd.pos,
                            f"condition on unknown field '{cond.field}' of {obj.name}",
                            rule="unknown-field",
                            cause=self.orphans.get(cond.field),
                        )
            for rule in obj.rules:
                for fname in [rule.when.field, *rule.require, *rule.require_any, *rule.forbid]:
                    if fname not in obj.fields:
                        self.d.error(
                            obj.pos,
                            f"rule of {obj.name} names unknown field '{fname}'",
                            rule="unknown-field",
                            cause=self.orphans.get(fname),
                        )
        for u in s.unions.values():
            for t in u.members:
                self._check_type(t, u.pos, f"union {u.name}")
            if u.fallback:
                self._check_type(parse_type(u.fallback), u.pos, f"fallback of union {u.name}")
            if u.discriminator:
                for value, member in u.mapping.items():
                    obj = s.objects.get(member)
                    if obj is None:
                        continue
                    disc = obj.fields.get(u.discriminator)
                    if disc is None:
                        self.d.error(
                            u.pos,
                            f"member {member} of {u.name} has no field '{u.discriminator}'",
                            rule="union",
                        )
                    elif disc.has_const and disc.const != value:
                        self.d.error(
                            u.pos,
                            f"member {member} of {u.name} fixes "
                            f"{u.discriminator}='{disc.const}', not '{value}'",
                            rule="union",
                        )
        for ep in s.endpoints.values():
            self._resolve_endpoint(ep)
        for ex in s.examples.values():
            ex.errata = [e.id for e in s.errata_for(example=ex.id)]
            broken = ("endpoints", ex.operation) in self.broken_items
            if ex.operation and ex.operation not in s.endpoints and not broken:
                self.d.error(
                    ex.pos,
                    f"example '{ex.id}' names unknown operation '{ex.operation}'",
                    rule="unknown-reference",
                )
            self._check_type(ex.object_type, ex.pos, f"example '{ex.id}'")
        for sc in s.scopes.values():
            for fid in self._scope_field_ids(sc):
                if fid not in s.authorization_details_fields:
                    self.d.error(
                        sc.pos,
                        f"scope '{sc.type}' names unknown authorization details field '{fid}'",
                        rule="unknown-reference",
                    )
        self._resolve_links()
        for er in s.errata:
            self._resolve_erratum(er)

    def _resolve_links(self) -> None:
        """``refers_to`` names an object and sits on an id string or list of them; ``fills``
        names OPTIONAL fields of existing objects."""
        s = self.spec
        for obj in s.objects.values():
            for fd in obj.fields.values():
                if fd.refers_to is None:
                    continue
                where = f"{obj.name}.{fd.name}"
                if fd.refers_to not in s.objects:
                    self.d.error(
                        fd.pos,
                        f"{where} refers to unknown object '{fd.refers_to}'",
                        rule="object-link",
                    )
                if names_in(fd.type) != ["string"]:
                    self.d.error(
                        fd.pos,
                        f"{where} refers to objects but is not an id string",
                        rule="object-link",
                    )
        for adf in s.authorization_details_fields.values():
            for oname, fnames in adf.fills.items():
                obj = s.objects.get(oname)
                if obj is None:
                    self.d.error(
                        adf.pos,
                        f"'{adf.id}' fills fields of unknown object '{oname}'",
                        rule="object-link",
                    )
                    continue
                for fname in fnames:
                    fd = obj.fields.get(fname)
                    if fd is None:
                        self.d.error(
                            adf.pos,
                            f"'{adf.id}' fills unknown field {oname}.{fname}",
                            rule="object-link",
                        )
                    elif fd.required:
                        self.d.error(
                            adf.pos,
                            f"'{adf.id}' fills {oname}.{fname}, which is REQUIRED",
                            rule="object-link",
                        )

    def _check_field_values(self, obj: m.ObjectType, fd: m.Field) -> None:
        names = names_in(fd.type)
        enum = next((self.spec.enums[n] for n in names if n in self.spec.enums), None)
        if fd.allowed_values and enum is not None:
            for v in fd.allowed_values:
                if str(v) not in enum.values:
                    self.d.error(
                        fd.pos,
                        f"allowed value '{v}' of {obj.name}.{fd.name} is not a {enum.name} value",
                        rule="allowed-value",
                        cause=self.orphans.get(str(v)),
                    )

    def _resolve_endpoint(self, ep: m.Endpoint) -> None:
        s = self.spec
        for r in ep.responses:
            self._check_type(r.type, ep.pos, f"response {r.status} of {ep.operation_id}")
        self._check_type(ep.request_type, ep.pos, f"request of {ep.operation_id}")
        if ep.advertised_by:
            oname, _, fname = ep.advertised_by.partition(".")
            obj = s.objects.get(oname)
            if obj is None:
                if oname not in self.broken_names:
                    self.d.error(
                        ep.pos,
                        f"advertised_by names unknown object '{oname}'",
                        rule="unknown-field",
                    )
            elif fname not in obj.fields:
                self.d.error(
                    ep.pos,
                    f"advertised_by names unknown field '{fname}' of {oname}",
                    rule="unknown-field",
                    cause=self.orphans.get(fname),
                )
        declared = set(re.findall(r"{([^}]+)}", ep.path))
        given = {p.name for p in ep.path_params}
        for missing in sorted(declared - given):
            self.d.error(
                ep.pos,
                f"path parameter '{missing}' of {ep.operation_id} is not described",
                rule="endpoint",
            )
        for extra in sorted(given - declared):
            self.d.error(
                ep.pos, f"path parameter '{extra}' does not appear in {ep.path}", rule="endpoint"
            )
        for scope in ep.scopes:
            if s.scopes and scope not in s.scopes:
                self.d.error(
                    ep.pos, f"{ep.operation_id} names unknown scope type '{scope}'", rule="endpoint"
                )
        item = self._listed_object(ep)
        if item is None:
            return
        for flt in ep.filters:
            for fname in ([flt.matches] if flt.matches else []) + flt.fields:
                if not self._has_field_path(item, fname):
                    self.d.error(
                        ep.pos,
                        f"filter '{flt.name}' of {ep.operation_id} "
                        f"names unknown field '{fname}' of {item.name}",
                        rule="unknown-field",
                        cause=self.orphans.get(fname.split(".")[0]),
                    )
        for key in ep.ordering:
            self._check_order_key(ep, item, key)

    def _check_order_key(self, ep: m.Endpoint, item: m.ObjectType, key: m.OrderKey) -> None:
        target, where = item, item.name
        if key.through:
            related = self.spec.objects.get(key.object or "")
            if key.through not in item.fields:
                self.d.error(
                    ep.pos,
                    f"ordering of {ep.operation_id} goes through unknown field "
                    f"'{key.through}' of {item.name}",
                    rule="unknown-field",
                    cause=self.orphans.get(key.through),
                )
                return
            if related is None:
                self.d.error(
                    ep.pos,
                    f"ordering of {ep.operation_id}: `through` needs a known `object`",
                    rule="unknown-field",
                )
                return
            target, where = related, f"{related.name} (through {key.through})"
        if key.by not in target.fields:
            self.d.error(
                ep.pos,
                f"ordering of {ep.operation_id} names unknown field '{key.by}' of {where}",
                rule="unknown-field",
                cause=self.orphans.get(key.by),
            )

    def _has_field_path(self, obj: m.ObjectType, dotted: str) -> bool:
        """``a.b`` names field ``b`` of the object (or objects in the array) held by ``a``."""
        from cdsgen.types import names_in

        head, _, rest = dotted.partition(".")
        fd = obj.fields.get(head)
        if fd is None:
            return False
        if not rest:
            return True
        return any(
            self._has_field_path(self.spec.objects[n], rest)
            for n in names_in(fd.type)
            if n in self.spec.objects
        )

    def _listed_object(self, ep: m.Endpoint) -> m.ObjectType | None:
        """For a listing endpoint, the object its page lists (the first array-of-object field)."""
        from cdsgen.types import ArrayOf, Named

        ok = ep.success()
        if not ep.is_listing or ok is None or not isinstance(ok.type, Named):
            return None
        listing = self.spec.objects.get(ok.type.name)
        if listing is None:
            return None
        for fd in listing.fields.values():
            if isinstance(fd.type, ArrayOf) and isinstance(fd.type.item, Named):
                obj = self.spec.objects.get(fd.type.item.name)
                if obj is not None:
                    return obj
        return None

    def _scope_field_ids(self, sc: m.Scope) -> list[str]:
        ids: list[str] = list(sc.conditional_authorization_details_types) + list(
            sc.default_includes
        )
        ids += list(sc.authorization_details_fields)
        for rule in sc.rules:
            ids += list(rule.authorization_details_fields)
        return ids

    def _resolve_erratum(self, er: m.Erratum) -> None:
        s, t = self.spec, er.target
        problems = []
        if "example" in t and t["example"] not in s.examples:
            problems.append(f"unknown example '{t['example']}'")
        if er.correction is not None and "example" not in t:
            self.d.error(
                er.pos,
                f"erratum '{er.id}' has a correction but targets no example",
                rule="example-correction",
            )
        if "object" in t:
            obj = s.objects.get(t["object"])
            if obj is None:
                problems.append(f"unknown object '{t['object']}'")
            elif "field" in t and t["field"] not in obj.fields:
                problems.append(f"unknown field '{t['field']}' of {t['object']}")
        if "enum" in t:
            en = s.enums.get(t["enum"])
            if en is None:
                problems.append(f"unknown enum '{t['enum']}'")
            elif "value" in t and t["value"] not in en.values:
                problems.append(f"unknown value '{t['value']}' of {t['enum']}")
        if "endpoint" in t and t["endpoint"] not in s.endpoints:
            problems.append(f"unknown endpoint '{t['endpoint']}'")
        if "scope" in t and t["scope"] not in s.scopes:
            problems.append(f"unknown scope '{t['scope']}'")
        if (
            "authorization_details_field" in t
            and t["authorization_details_field"] not in s.authorization_details_fields
        ):
            problems.append(
                f"unknown authorization details field '{t['authorization_details_field']}'"
            )
        broken = {name for _, name in self.broken_items} | self.broken_names
        for p in problems:
            if not any(f"'{n}'" in p for n in broken):
                self.d.error(er.pos, f"erratum '{er.id}' targets {p}", rule="unknown-reference")
