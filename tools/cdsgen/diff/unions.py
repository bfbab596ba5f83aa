"""Enumerations and their values; unions and their members."""

from __future__ import annotations

from collections.abc import Iterator

from cdsgen import model as m
from cdsgen.diff.core import (
    CLIENTS,
    REQUEST,
    RESPONSE,
    SERVERS,
    Change,
    DifferBase,
    _fmt,
    _rename,
    _renamed_values,
    _roles,
    _Verdict,
)


class EnumsAndUnionsDiff(DifferBase):
    # -- enums -----------------------------------------------------------------------------
    def _value_added_verdict(self, name: str, open_enum: bool) -> _Verdict:
        v = _Verdict()
        for d in self._dirs(name):
            if d == RESPONSE and not open_enum:
                v.breaks(CLIENTS, "must accept the new value (the enumeration is closed)")
            if d == REQUEST:
                v.breaks(SERVERS, "must accept the new value in requests")
        return v

    def _value_removed_verdict(self, name: str, open_enum: bool) -> _Verdict:
        v = _Verdict()
        for d in self._dirs(name):
            if d == RESPONSE and not open_enum:
                v.breaks(SERVERS, "may no longer send the value")
            if d == REQUEST:
                v.breaks(CLIENTS, "may no longer send the value")
        return v

    def _enums(self) -> Iterator[Change]:
        for name, n in self.new.enums.items():
            o = self.old.enums.get(name)
            if o is None:
                yield self._change(
                    n.document,
                    "enum-added",
                    name,
                    f"enumeration added ({_fmt(n.values)})",
                    _Verdict(),
                )
                continue
            if o.open and not n.open:
                v = _Verdict()
                if RESPONSE in self._dirs(name):
                    v.breaks(SERVERS, "may no longer send values of their own")
                yield self._change(
                    n.document,
                    "enum-closed",
                    name,
                    "enumeration closed: values beyond those defined are no longer allowed",
                    v,
                )
            elif n.open and not o.open:
                v = _Verdict()
                if RESPONSE in self._dirs(name):
                    v.breaks(CLIENTS, "must now accept values they do not know")
                yield self._change(
                    n.document,
                    "enum-opened",
                    name,
                    "enumeration opened: Servers may send values no document defines",
                    v,
                )
            renamed = _renamed_values(list(o.values), list(n.values))
            for before, after in renamed.items():
                yield self._payload(
                    "enum-value-renamed",
                    n.document,
                    f"{name}.{after}",
                    name,
                    f"value renamed: `{before}` → `{after}`",
                    writer=f"must send `{after}` instead of `{before}`",
                    reader=f"must read `{after}` where they read `{before}`",
                )
            for value, ev in n.values.items():
                if value in renamed.values():
                    continue
                if value not in o.values:
                    yield self._change(
                        ev.document or n.document,
                        "enum-value-added",
                        f"{name}.{value}",
                        "value added"
                        + (" (open enumeration)" if n.open else " (closed enumeration)"),
                        self._value_added_verdict(name, n.open),
                    )
                elif (ev.document or n.document) != (o.values[value].document or o.document):
                    before = o.values[value].document or o.document
                    yield self._info(
                        ev.document or n.document,
                        "enum-value-moved",
                        f"{name}.{value}",
                        f"value now defined by {ev.document or n.document} (was {before})",
                    )
                elif ev.deprecated != o.values[value].deprecated:
                    state = "deprecated" if ev.deprecated else "no longer deprecated"
                    yield self._info(
                        ev.document or n.document,
                        "enum-value-deprecated",
                        f"{name}.{value}",
                        f"value {state}",
                    )
            for value, ev in o.values.items():
                if value not in n.values and value not in renamed:
                    yield self._change(
                        ev.document or n.document,
                        "enum-value-removed",
                        f"{name}.{value}",
                        "value removed",
                        self._value_removed_verdict(name, n.open),
                    )
        for name, o in self.old.enums.items():
            if name not in self.new.enums:
                v = _Verdict().breaks(CLIENTS, "can no longer rely on it")
                yield self._change(o.document, "enum-removed", name, "enumeration removed", v)

    # -- unions ----------------------------------------------------------------------------
    def _unions(self) -> Iterator[Change]:
        for name, n in self.new.unions.items():
            o = self.old.unions.get(name)
            if o is None:
                yield self._change(n.document, "union-added", name, "union added", _Verdict())
                continue
            if o.discriminator != n.discriminator:
                yield self._payload(
                    "union-discriminator",
                    n.document,
                    name,
                    name,
                    f"discriminator `{o.discriminator}` → `{n.discriminator}`",
                    writer="must mark members the new way",
                    reader="must tell members apart the new way",
                )
            if bool(o.fallback) != bool(n.fallback):
                if n.fallback:
                    yield self._payload(
                        "union-fallback-added",
                        n.document,
                        name,
                        name,
                        f"unknown members now fall back to `{n.fallback}`",
                        reader="must accept members no document defines",
                    )
                else:
                    yield self._payload(
                        "union-fallback-removed",
                        n.document,
                        name,
                        name,
                        "members no document defines are no longer allowed",
                        writer="may no longer send members of their own",
                    )
            if n.discriminator and o.discriminator == n.discriminator:
                yield from self._union_mapping(o, n)
            else:
                old_members = {str(_rename(t, self.renames)) for t in o.members}
                new_members = {str(t) for t in n.members}
                for t in sorted(new_members - old_members):
                    yield self._payload(
                        "union-member-added",
                        n.document,
                        f"{name}.{t}",
                        name,
                        "member added",
                        reader="may now receive it",
                    )
                for t in sorted(old_members - new_members):
                    yield self._payload(
                        "union-member-removed",
                        n.document,
                        f"{name}.{t}",
                        name,
                        "member removed",
                        writer="may no longer send it",
                    )
        for name, o in self.old.unions.items():
            if name not in self.new.unions:
                v = _Verdict().breaks(CLIENTS, "can no longer rely on it")
                yield self._change(o.document, "union-removed", name, "union removed", v)

    def _union_mapping(self, o: m.UnionType, n: m.UnionType) -> Iterator[Change]:
        name = n.name
        for value, member in n.mapping.items():
            before = o.mapping.get(value)
            if before is None:
                v = _Verdict()
                for d in self._dirs(name):
                    w, r = _roles(d)
                    if not (r == CLIENTS and n.fallback):
                        v.breaks(r, "must accept the new member")
                yield self._change(
                    n.document,
                    "union-member-added",
                    f"{name}.{value}",
                    f"member `{value}` → `{member}` added",
                    v,
                )
            elif self.renames.get(before, before) != member:
                yield self._payload(
                    "union-member-changed",
                    n.document,
                    f"{name}.{value}",
                    name,
                    f"member `{value}` now `{member}` (was `{before}`)",
                    writer="must send the new member",
                    reader="must read the new member",
                )
        for value, member in o.mapping.items():
            if value not in n.mapping:
                v = _Verdict()
                for d in self._dirs(name):
                    w, r = _roles(d)
                    if not (w == SERVERS and n.fallback):
                        v.breaks(w, "may no longer send it")
                yield self._change(
                    n.document,
                    "union-member-removed",
                    f"{name}.{value}",
                    f"member `{value}` (`{member}`) removed",
                    v,
                )
