"""Scope types and authorization details fields, through the rule language."""

from __future__ import annotations

from collections.abc import Iterator

from cdsgen import model as m
from cdsgen.diff.core import (
    CLIENTS,
    SERVERS,
    Change,
    DifferBase,
    _fmt,
    _Verdict,
)
from cdsgen.rules import (
    CHANGED,
    LOOSENED,
    TIGHTENED,
    Requirements,
    constraint_changes,
)
from cdsgen.types import TypeExpr


class ScopesDiff(DifferBase):
    # -- scopes and authorization-details fields -------------------------------------------
    def _rule_verdict(self, verdict: str, what: str) -> _Verdict:
        if verdict == TIGHTENED:
            return _Verdict().breaks(SERVERS, f"must meet the stricter rule on {what}")
        if verdict == LOOSENED:
            return _Verdict().breaks(CLIENTS, f"can no longer rely on the old rule on {what}")
        return (
            _Verdict()
            .breaks(SERVERS, f"must meet the new rule on {what}")
            .breaks(CLIENTS, f"can no longer rely on the old rule on {what}")
        )

    def _requirement_changes(
        self,
        doc: str,
        kind: str,
        subject: str,
        old: Requirements,
        new: Requirements,
        where: str = "",
    ) -> Iterator[Change]:
        for name in list(new) + [k for k in old if k not in new]:
            for verdict, text in constraint_changes(old.get(name), new.get(name)):
                what = f"`{name}`"
                yield self._change(
                    doc,
                    f"{kind}-{verdict}",
                    subject,
                    f"{where}{what} {text}",
                    self._rule_verdict(verdict, what),
                )

    def _rules(
        self, doc: str, kind: str, subject: str, old: list[m.ScopeRule], new: list[m.ScopeRule]
    ) -> Iterator[Change]:
        old_rules = {r.when.key(): r for r in old}
        new_rules = {r.when.key(): r for r in new}
        for k, r in new_rules.items():
            where = f"when {r.when.describe()}: "
            q = old_rules.get(k)
            before = q.requirements if q else Requirements()
            before_fields = q.authorization_details_fields if q else Requirements()
            if q is None:
                yield self._change(
                    doc,
                    f"{kind}-rule-added",
                    subject,
                    f"new rule {where.rstrip(': ')}",
                    self._rule_verdict(TIGHTENED, "the new rule"),
                )
            yield from self._requirement_changes(doc, kind, subject, before, r.requirements, where)
            yield from self._requirement_changes(
                doc,
                kind,
                subject,
                before_fields,
                r.authorization_details_fields,
                f"{where}authorization details field ",
            )
        for k, q in old_rules.items():
            if k not in new_rules:
                yield self._change(
                    doc,
                    f"{kind}-rule-removed",
                    subject,
                    f"rule when {q.when.describe()} removed",
                    self._rule_verdict(LOOSENED, "the removed rule"),
                )

    def _list_growth(
        self, doc: str, kind: str, subject: str, label: str, old: list[str], new: list[str]
    ) -> Iterator[Change]:
        more = [x for x in new if x not in old]
        fewer = [x for x in old if x not in new]
        if more:
            yield self._change(
                doc,
                f"{kind}-{TIGHTENED}",
                subject,
                f"{label} now also {_fmt(more)}",
                self._rule_verdict(TIGHTENED, label),
            )
        if fewer:
            yield self._change(
                doc,
                f"{kind}-{LOOSENED}",
                subject,
                f"{label} no longer {_fmt(fewer)}",
                self._rule_verdict(LOOSENED, label),
            )

    def _scopes(self) -> Iterator[Change]:
        for sid, n in self.new.scopes.items():
            o = self.old.scopes.get(sid)
            subject = f"scope {sid}"
            if o is None:
                yield self._change(
                    n.document,
                    "scope-added",
                    subject,
                    f"scope added ({n.name}, {n.category})",
                    _Verdict(),
                )
                continue
            doc = n.document
            if o.category != n.category:
                yield self._change(
                    doc,
                    "scope-category",
                    subject,
                    f"category {o.category} → {n.category}",
                    self._rule_verdict(CHANGED, "its category"),
                )
            yield from self._requirement_changes(
                doc, "scope", subject, o.requirements, n.requirements
            )
            yield from self._list_growth(
                doc,
                "scope",
                subject,
                "conditional authorization details types",
                o.conditional_authorization_details_types,
                n.conditional_authorization_details_types,
            )
            yield from self._requirement_changes(
                doc,
                "scope",
                subject,
                o.authorization_details_fields,
                n.authorization_details_fields,
                "authorization details field ",
            )
            yield from self._rules(doc, "scope", subject, o.rules, n.rules)
            yield from self._list_growth(
                doc, "scope", subject, "default includes", o.default_includes, n.default_includes
            )
            if o.forbid_preselection_in_grants != n.forbid_preselection_in_grants:
                verdict = TIGHTENED if n.forbid_preselection_in_grants else LOOSENED
                state = "now" if n.forbid_preselection_in_grants else "no longer"
                yield self._change(
                    doc,
                    f"scope-{verdict}",
                    subject,
                    f"preselection fields {state} forbidden in Grants",
                    self._rule_verdict(verdict, "preselection in Grants"),
                )
        for sid, o in self.old.scopes.items():
            if sid not in self.new.scopes:
                yield self._change(
                    o.document,
                    "scope-removed",
                    f"scope {sid}",
                    f"scope removed ({o.name})",
                    _Verdict().breaks(CLIENTS, "can no longer request it"),
                )

    def _auth_fields(self) -> Iterator[Change]:
        for fid, n in self.new.authorization_details_fields.items():
            o = self.old.authorization_details_fields.get(fid)
            subject = f"authorization details field {fid}"
            if o is None:
                yield self._change(
                    n.document,
                    "authorization-details-field-added",
                    subject,
                    f"field added ({n.name}, {n.category})",
                    _Verdict(),
                )
                continue
            doc, kind = n.document, "authorization-details-field"
            if o.category != n.category:
                yield self._change(
                    doc,
                    f"{kind}-category",
                    subject,
                    f"category {o.category} → {n.category}",
                    self._rule_verdict(CHANGED, "its category"),
                )
            if str(o.value_type) != str(n.value_type) or o.value_nullable != n.value_nullable:

                def text(t: TypeExpr | None, nullable: bool) -> str:
                    return f"`{t}`" + (" or `null`" if nullable else "")

                yield self._change(
                    doc,
                    f"{kind}-value-type",
                    subject,
                    f"value type {text(o.value_type, o.value_nullable)} → "
                    f"{text(n.value_type, n.value_nullable)}",
                    _Verdict()
                    .breaks(CLIENTS, "must send values in the new form")
                    .breaks(SERVERS, "must read and echo values in the new form"),
                )
            yield from self._requirement_changes(doc, kind, subject, o.requirements, n.requirements)
            yield from self._rules(doc, kind, subject, o.rules, n.rules)
        for fid, o in self.old.authorization_details_fields.items():
            if fid not in self.new.authorization_details_fields:
                yield self._change(
                    o.document,
                    "authorization-details-field-removed",
                    f"authorization details field {fid}",
                    f"field removed ({o.name})",
                    _Verdict().breaks(CLIENTS, "can no longer use it"),
                )
