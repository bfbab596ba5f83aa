"""Objects and their fields."""

from __future__ import annotations

from collections.abc import Iterator

from cdsgen import model as m
from cdsgen.diff.core import (
    _FIELD_TOGGLES,
    CLIENTS,
    Change,
    DifferBase,
    _cond,
    _fmt,
    _key,
    _rename,
    _Verdict,
    type_relation,
)
from cdsgen.types import names_in


class ObjectsDiff(DifferBase):
    # -- objects ---------------------------------------------------------------------------
    def _object_renames(self) -> dict[str, str]:
        """Objects that disappeared under one name and appeared under another with the same
        document, section (same anchor, or same section number when the section was renamed
        too) and field names: a rename, which does not show on the wire."""
        gone = [o for n, o in self.old.objects.items() if n not in self.new.objects]
        came = [o for n, o in self.new.objects.items() if n not in self.old.objects]
        out: dict[str, str] = {}

        def place(spec: m.Spec, obj: m.ObjectType) -> str:
            doc = spec.documents.get(obj.document)
            section = doc.section_by_anchor().get(obj.anchor) if doc else None
            return f"§{section.number}" if section and section.number else obj.anchor

        for o in gone:
            matches = [
                n
                for n in came
                if n.document == o.document
                and (n.anchor == o.anchor or place(self.new, n) == place(self.old, o))
                and set(n.fields) == set(o.fields)
            ]
            if len(matches) == 1 and matches[0].name not in out.values():
                out[o.name] = matches[0].name
        return out

    def _objects(self) -> Iterator[Change]:
        back = {v: k for k, v in self.renamed_objects.items()}
        for name, n in self.new.objects.items():
            old_name = back.get(name, name)
            o = self.old.objects.get(old_name)
            if o is None:
                yield self._change(
                    n.document, "object-added", name, f"object added ({n.title})", _Verdict()
                )
                continue
            if old_name != name:
                yield self._change(
                    n.document,
                    "object-renamed",
                    name,
                    f"object renamed from `{old_name}` "
                    "(names are not on the wire; generated class names change)",
                    _Verdict(),
                )
            yield from self._object(o, n)
        for name, o in self.old.objects.items():
            if name not in self.new.objects and name not in self.renamed_objects:
                v = _Verdict().breaks(CLIENTS, "can no longer rely on it")
                yield self._change(
                    o.document, "object-removed", name, f"object removed ({o.title})", v
                )

    def _own_fields(self, spec: m.Spec, obj: m.ObjectType) -> dict[str, m.Field]:
        """Fields not inherited unchanged from a base object (those are reported on the base)."""
        base = spec.objects.get(obj.base) if obj.base else None
        if base is None:
            return obj.fields
        return {
            k: f
            for k, f in obj.fields.items()
            if not (k in base.fields and base.fields[k].pos == f.pos)
        }

    def _object(self, o: m.ObjectType, n: m.ObjectType) -> Iterator[Change]:
        name = n.name
        if o.kind != n.kind:
            yield self._info(n.document, "object-kind", name, f"kind {o.kind} → {n.kind}")
        if o.base != n.base:
            yield self._info(
                n.document,
                "object-base",
                name,
                f"base object `{o.base}` → `{n.base}` (field changes listed separately)",
            )
        if o.extensible and not n.extensible:
            yield self._payload(
                "object-closed",
                n.document,
                name,
                name,
                "object no longer accepts fields beyond those defined",
                writer="may no longer add fields of their own",
            )
        elif n.extensible and not o.extensible:
            yield self._change(
                n.document,
                "object-opened",
                name,
                "object now accepts fields beyond those defined (readers ignore unknown fields)",
                _Verdict(),
            )
        old_fields, new_fields = self._own_fields(self.old, o), self._own_fields(self.new, n)
        removed = [f for k, f in old_fields.items() if k not in new_fields]
        added = [f for k, f in new_fields.items() if k not in old_fields]
        pairs = self._field_renames(removed, added)
        for fo, fn in pairs:
            v = self._field_removed_verdict(n, fo).merge(self._field_added_verdict(n, fn))
            yield self._change(
                fn.document,
                "field-renamed",
                f"{name}.{fn.name}",
                f"field renamed from `{fo.name}` (same type `{fn.type_text}`; "
                "on the wire a removal plus an addition)",
                v,
            )
        paired = {fo.name for fo, _ in pairs} | {fn.name for _, fn in pairs}
        for fd in added:
            if fd.name not in paired:
                req = "REQUIRED" if fd.required else "OPTIONAL"
                cond = f", required when {_cond(fd.required_if)}" if fd.required_if else ""
                yield self._change(
                    fd.document,
                    "field-added",
                    f"{name}.{fd.name}",
                    f"{req} field added (`{fd.type_text}`{cond})",
                    self._field_added_verdict(n, fd),
                )
        for fd in removed:
            if fd.name not in paired:
                req = "REQUIRED" if fd.required else "OPTIONAL"
                yield self._change(
                    fd.document,
                    "field-removed",
                    f"{name}.{fd.name}",
                    f"{req} field removed",
                    self._field_removed_verdict(n, fd),
                )
        for k, fn in new_fields.items():
            fo = old_fields.get(k)
            if fo is not None:
                yield from self._field(n, fo, fn)
        yield from self._object_rules(o, n)

    def _field_added_verdict(self, obj: m.ObjectType, fd: m.Field) -> _Verdict:
        if fd.required or fd.required_if:
            return self._flow(obj.name, writer="must now send it")
        return _Verdict()

    def _field_removed_verdict(self, obj: m.ObjectType, fd: m.Field) -> _Verdict:
        return self._flow(
            obj.name,
            writer=None if obj.extensible else "may no longer send it",
            reader="can no longer rely on it" if fd.required else None,
        )

    def _field_renames(
        self, removed: list[m.Field], added: list[m.Field]
    ) -> list[tuple[m.Field, m.Field]]:
        """A removed and an added field of the same type, each the only one of that type."""

        def key(f: m.Field, renames: dict[str, str]) -> str:
            return str(_rename(f.type, renames))

        pairs = []
        for fo in removed:
            t = key(fo, self.renames)
            olds = [f for f in removed if key(f, self.renames) == t]
            news = [f for f in added if key(f, {}) == t]
            if len(olds) == 1 and len(news) == 1:
                pairs.append((fo, news[0]))
        return pairs

    def _field(self, obj: m.ObjectType, fo: m.Field, fn: m.Field) -> Iterator[Change]:
        name, doc, subject = obj.name, fn.document, f"{obj.name}.{fn.name}"
        if (fo.document, fo.anchor) != (fn.document, fn.anchor) and fn.anchor:
            yield self._info(
                doc,
                "field-defined-elsewhere",
                subject,
                f"now defined by {fn.document} #{fn.anchor}"
                + (f" (was {fo.document} #{fo.anchor})" if fo.anchor else ""),
            )
        for attr, became, ceased in _FIELD_TOGGLES:
            now = getattr(fn, attr)
            if getattr(fo, attr) != now:
                kind, message, parties = became if now else ceased
                yield self._payload(kind, doc, subject, name, message, **parties)
        relation = type_relation(_rename(fo.type, self.renames), fn.type, self.old, self.new)
        if relation != "same":
            yield self._change(
                doc,
                "field-type",
                subject,
                f"type `{fo.type_text}` → `{fn.type_text}` ({relation})",
                self._relation_verdict(name, relation),
            )
        yield from self._field_values(obj, fo, fn)
        for attr, label in (
            ("required_if", "required when"),
            ("forbidden_if", "forbidden when"),
            ("only_if", "allowed only when"),
        ):
            a, b = _cond(getattr(fo, attr)), _cond(getattr(fn, attr))
            if a == b:
                continue
            if a is None:
                yield self._payload(
                    "field-condition-added",
                    doc,
                    subject,
                    name,
                    f"now {label} {b}",
                    writer=f"must follow the new condition ({label} {b})",
                )
            elif b is None:
                yield self._payload(
                    "field-condition-removed",
                    doc,
                    subject,
                    name,
                    f"no longer {label} {a}",
                    reader=f"can no longer rely on it being {label} {a}",
                )
            else:
                yield self._payload(
                    "field-condition-changed",
                    doc,
                    subject,
                    name,
                    f"{label} {a} → {label} {b}",
                    writer="must follow the new condition",
                    reader="can no longer rely on the old condition",
                )
        if fo.read_only != fn.read_only:
            state = "read-only" if fn.read_only else "no longer read-only"
            yield self._info(doc, "field-read-only", subject, f"now {state}")

    def _field_values(self, obj: m.ObjectType, fo: m.Field, fn: m.Field) -> Iterator[Change]:
        name, doc, subject = obj.name, fn.document, f"{obj.name}.{fn.name}"
        if (fo.has_const, _key(fo.const)) != (fn.has_const, _key(fn.const)):
            if not fo.has_const:
                yield self._payload(
                    "field-const",
                    doc,
                    subject,
                    name,
                    f"now fixed to `{fn.const}`",
                    writer=f"must send exactly `{fn.const}`",
                )
            elif not fn.has_const:
                yield self._payload(
                    "field-const",
                    doc,
                    subject,
                    name,
                    f"no longer fixed to `{fo.const}`",
                    reader=f"may now receive values other than `{fo.const}`",
                )
            else:
                yield self._payload(
                    "field-const",
                    doc,
                    subject,
                    name,
                    f"fixed value `{fo.const}` → `{fn.const}`",
                    writer=f"must send `{fn.const}`",
                    reader=f"must accept `{fn.const}`",
                )
        a, b = fo.allowed_values, fn.allowed_values
        if a != b:
            enum = next((self.new.enums[t] for t in names_in(fn.type) if t in self.new.enums), None)
            tolerant = enum is not None and enum.open
            if b is not None:
                gone = [x for x in (a if a is not None else ()) if x not in b]
                if a is None:
                    yield self._payload(
                        "field-allowed-values",
                        doc,
                        subject,
                        name,
                        f"now limited to {_fmt(b)}",
                        writer=f"may only send {_fmt(b)}",
                    )
                elif gone:
                    yield self._payload(
                        "field-allowed-values",
                        doc,
                        subject,
                        name,
                        f"no longer allows {_fmt(gone)}",
                        writer=f"may no longer send {_fmt(gone)}",
                    )
            if a is not None:
                more = [x for x in (b if b is not None else ()) if x not in a]
                if b is None or more:
                    what = (
                        "no longer limited to " + _fmt(a)
                        if b is None
                        else "now also allows " + _fmt(more)
                    )
                    yield self._change(
                        doc,
                        "field-allowed-values",
                        subject,
                        what,
                        self._value_added_verdict(name, tolerant),
                    )
        if fo.min_items != fn.min_items:
            lo, hi = fo.min_items or 0, fn.min_items or 0
            if hi > lo:
                yield self._payload(
                    "field-min-items",
                    doc,
                    subject,
                    name,
                    f"at least {hi} item(s), was {lo}",
                    writer=f"must send at least {hi} item(s)",
                )
            else:
                yield self._payload(
                    "field-min-items",
                    doc,
                    subject,
                    name,
                    f"at least {hi} item(s), was {lo}",
                    reader=f"may now receive fewer than {lo} item(s)",
                )
        if (fo.has_default, _key(fo.default)) != (fn.has_default, _key(fn.default)):
            before = f"`{fo.default}`" if fo.has_default else "none"
            after = f"`{fn.default}`" if fn.has_default else "none"
            yield self._payload(
                "field-default",
                doc,
                subject,
                name,
                f"default {before} → {after} (an absent value now means something else)",
                writer="must send the value when the new default does not fit",
                reader="must read an absent value differently",
            )

    def _object_rules(self, o: m.ObjectType, n: m.ObjectType) -> Iterator[Change]:
        def key(r: m.ObjectRule) -> str:
            return _key(
                [r.when.describe(), sorted(r.require), sorted(r.require_any), sorted(r.forbid)]
            )

        old_rules, new_rules = {key(r): r for r in o.rules}, {key(r): r for r in n.rules}
        for k, r in new_rules.items():
            if k not in old_rules:
                yield self._payload(
                    "object-rule-added",
                    r.document or n.document,
                    n.name,
                    n.name,
                    f"new rule: when {r.when.describe()}, {self._rule_text(r)}",
                    writer="must follow the new rule",
                )
        for k, r in old_rules.items():
            if k not in new_rules:
                yield self._payload(
                    "object-rule-removed",
                    r.document or n.document,
                    n.name,
                    n.name,
                    f"rule removed: when {r.when.describe()}, {self._rule_text(r)}",
                    reader="can no longer rely on the rule",
                )

    @staticmethod
    def _rule_text(r: m.ObjectRule) -> str:
        parts = []
        if r.require:
            parts.append("require " + _fmt(r.require))
        if r.require_any:
            parts.append("require one of " + _fmt(r.require_any))
        if r.forbid:
            parts.append("forbid " + _fmt(r.forbid))
        return ", ".join(parts)
