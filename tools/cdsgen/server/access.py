"""Which customer data a token may see, and the generic listing machinery.

A token carries Grants; each Grant's authorization details entries name a scope id, the data
kinds it includes (the scope type's default ``include_*`` fields plus those the entry sets
true), its preselections (direct access) and its time bounds. A Grant from a Customer's
authorization also records the accounts the Customer picked. What a token sees is the union
over its entries of the objects reachable from the selected accounts:

    accounts → service contracts → service points → meter devices
             → bill statements, bill sections, aggregations, usage segments, EACs

Each entry then shows what it shares through its own ``include_*`` fields (OPTIONAL fields it
does not enable are left out), its duration fields (Bill Statements and Bill Sections outside
the bounds are withheld, Usage Segments cut to the Value Sets inside them) and ``sync_until``
(data frozen at that moment); see :func:`present`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cds_server import FIRST_PAGE, OPERATIONS, SCOPE_TYPES
from cds_server.errors import InvalidRequest
from cds_server.operations import OrderKey
from cds_server.references import FILLS, REFERENCES

from cdsgen.server.catalog import SCOPES, USAGE_FORMATS

#: Data kind → the ``include_*`` field that shares it.
INCLUDES = {
    "accounts": "include_accounts",
    "service_contracts": "include_service_contracts",
    "service_points": "include_service_points",
    "meter_devices": "include_meter_devices",
    "bill_statements": "include_bill_statements",
    "bill_sections": "include_bill_sections",
    "aggregations": "include_aggregations",
    "usage_segments": "include_usage_segments",
    "eacs": "include_eacs",
}
#: Data kind → (the object it lists, that object's own id field).
KINDS = {
    "accounts": ("Account", "cds_account_id"),
    "service_contracts": ("ServiceContract", "cds_servicecontract_id"),
    "service_points": ("ServicePoint", "cds_servicepoint_id"),
    "meter_devices": ("MeterDevice", "cds_meterdevice_id"),
    "bill_statements": ("BillStatement", "cds_billstatement_id"),
    "bill_sections": ("BillSection", "cds_billsection_id"),
    "aggregations": ("Aggregation", "cds_aggregation_id"),
    "usage_segments": ("UsageSegment", "cds_usagesegment_id"),
    "eacs": ("EnergyAttributeCredit", "cds_eac_id"),
}
ID_FIELDS = {kind: id_field for kind, (_, id_field) in KINDS.items()}
_KIND_OF = {obj: kind for kind, (obj, _) in KINDS.items()}
#: Preselection field → (kind it narrows, how to read the matching values of an object).
PRESELECTIONS: dict[str, tuple[str, Callable[[dict], list]]] = {
    "account_numbers": ("accounts", lambda d: [d.get("account_number")]),
    "account_programs": (
        "accounts",
        lambda d: [p["program_number"] for p in d.get("account_programs", [])],
    ),
    "contract_numbers": ("service_contracts", lambda d: [d.get("contract_number")]),
    "service_types": ("service_contracts", lambda d: d.get("service_types", [])),
    "service_programs": (
        "service_contracts",
        lambda d: [p["program_number"] for p in d.get("service_programs", [])],
    ),
    "servicepoint_numbers": ("service_points", lambda d: [d.get("servicepoint_number")]),
    "servicepoint_types": ("service_points", lambda d: d.get("servicepoint_types", [])),
    "premise_numbers": (
        "service_points",
        lambda d: [p["premise_number"] for p in d.get("premises", [])],
    ),
    "meter_numbers": ("meter_devices", lambda d: [d.get("meter_number")]),
    "meter_types": ("meter_devices", lambda d: d.get("meter_types", [])),
    "meter_apps": ("meter_devices", lambda d: [a["app_number"] for a in d.get("meter_apps", [])]),
    "aggregation_numbers": ("aggregations", lambda d: [d.get("aggregation_number")]),
}
#: Filters that name objects by number though the listed objects only link ids.
NUMBER_FILTERS = {
    "account_numbers": ("accounts", "account_number", "related_accounts"),
    "contract_numbers": ("service_contracts", "contract_number", "related_servicecontracts"),
    "servicepoint_numbers": ("service_points", "servicepoint_number", "related_servicepoints"),
    "meter_numbers": ("meter_devices", "meter_number", "related_meterdevices"),
}
#: Fields listing ids of other objects, limited to those the token may see: the list-valued
#: references (``refers_to`` in the source) of every data kind's object.
RELATED = {
    name: _KIND_OF[ref.target]
    for obj, _ in KINDS.values()
    for name, ref in REFERENCES.get(obj, {}).items()
    if ref.many and ref.target in _KIND_OF
}


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class Sandbox:
    """The customer data, indexed (it does not change while the Server runs)."""

    objects: dict[str, dict[str, dict[str, Any]]]

    @staticmethod
    def id_of(kind: str, doc: dict[str, Any]) -> str:
        return doc[ID_FIELDS[kind]]

    @classmethod
    def from_docs(cls, docs: dict[str, list[dict[str, Any]]]) -> Sandbox:
        return cls({kind: {d[ID_FIELDS[kind]]: d for d in items} for kind, items in docs.items()})

    def by_number(self, kind: str, number_field: str) -> dict[str, str]:
        return {d[number_field]: i for i, d in self.objects[kind].items() if d.get(number_field)}


#: Data kind → ``include_*`` field → the OPTIONAL fields it fills (``fills`` in the source,
#: CDS-WG3-01 §7.2.x.y); without the field, they are left out ("Servers MUST NOT include
#: OPTIONAL fields ... unless those fields are enabled").
FIELD_INCLUDES: dict[str, dict[str, tuple[str, ...]]] = {
    kind: {flag: objects[obj] for flag, objects in FILLS.items() if obj in objects}
    for kind, (obj, _) in KINDS.items()
}
#: Data kind → the fields of its objects that the duration fields bound (CDS-WG3-01 §7.3.2-7).
DATE_BOUNDS = {
    "bill_statements": (
        ("statement_date_start", "statement_date"),
        ("statement_date_end", "statement_date"),
    ),
    "bill_sections": (("start_date", "start_date"), ("end_date", "end_date")),
    "usage_segments": (("segment_start", "segment_start"), ("segment_end", "segment_end")),
}


@dataclass(frozen=True)
class View:
    """How one authorization details entry shares the objects of one kind: which, the
    ``include_*`` fields it enables, its time bounds (``None``: unbounded), the end of its data
    synchronisation, and its usage value types (``None``: all)."""

    ids: frozenset[str]
    fields: frozenset[str]
    start: str | None = None
    end: str | None = None
    sync_until: str | None = None
    value_types: tuple[str, ...] | None = None


@dataclass
class Visibility:
    """Object ids a token may see, by kind; ``listable`` are those of included kinds, and
    ``views`` say how each entry sharing a kind shares it."""

    reachable: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in INCLUDES})
    listable: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in INCLUDES})
    views: dict[str, list[View]] = field(default_factory=dict)


def entry_includes(entry: dict[str, Any]) -> set[str]:
    """The data kinds an authorization details entry shares."""
    return {kind for kind, f in INCLUDES.items() if f in _enabled(entry)}


def _enabled(entry: dict[str, Any]) -> set[str]:
    """The ``include_*`` fields an entry enables: those its scope type includes by default and
    those the entry sets ``true``."""
    scope = SCOPES.get(entry.get("type", ""))
    if scope is None or scope.type not in SCOPE_TYPES:
        return set()
    defaults = set(SCOPE_TYPES[scope.type].default_includes)
    return defaults | {k for k, v in entry.items() if k.startswith("include_") and v is True}


def visibility(
    sandbox: Sandbox, grants: Iterable[tuple[dict[str, Any], dict[str, Any]]]
) -> Visibility:
    """What the entries of ``grants`` (``(grant, private)`` pairs) share."""
    out = Visibility()
    for grant, private in grants:
        for entry in grant["enabled_authorization_details"]:
            kinds = entry_includes(entry)
            if not kinds:
                continue
            enabled = frozenset(_enabled(entry))
            reached = _reach(sandbox, entry, private.get("picked"))
            for kind, ids in reached.items():
                out.reachable[kind] |= ids
                if kind not in kinds:
                    continue
                out.listable[kind] |= ids
                (start, _), (end, _) = DATE_BOUNDS.get(kind, ((None, None), (None, None)))
                types = "include_usage_segment_value_types"
                out.views.setdefault(kind, []).append(
                    View(
                        ids=frozenset(ids),
                        fields=enabled,
                        start=_bound(entry.get(start)) if start else None,
                        end=_bound(entry.get(end)) if end else None,
                        sync_until=_bound(entry.get("sync_until")),
                        # absent: every type; null or a list: those types only (§7.2.8.1)
                        value_types=tuple(entry[types] or ()) if types in entry else None,
                    )
                )
    return out


def _bound(value: Any) -> str | None:
    return None if value in (None, "infinite") else str(value)


def _reach(
    sandbox: Sandbox, entry: dict[str, Any], picked: dict[str, Any] | None
) -> dict[str, set[str]]:
    """Objects reachable from an entry: from the Customer's pick (``{"kind": ..., "ids":
    [...]}`` of the consent page's Selection) or, without one, from every account; narrowed
    at each level by the pick and by the entry's preselections."""
    o = sandbox.objects
    chosen: dict[str, set[str]] = {}
    if picked is not None:
        chosen[picked["kind"]] = set(picked["ids"])
        ids = set(picked["ids"])
        if picked["kind"] == "meter_devices":
            ids = {
                p
                for i in ids
                for p in o["meter_devices"][i]["current_servicepoints"]
                + o["meter_devices"][i]["previous_servicepoints"]
            }
        if picked["kind"] in ("meter_devices", "service_points"):
            ids = {
                c
                for i in ids
                for c in o["service_points"][i]["current_servicecontracts"]
                + o["service_points"][i]["previous_servicecontracts"]
            }
        if picked["kind"] in ("meter_devices", "service_points", "service_contracts"):
            ids = {o["service_contracts"][i]["cds_account_id"] for i in ids}
        chosen.setdefault("accounts", ids)

    def narrowed(kind: str, ids: set[str]) -> set[str]:
        if kind in chosen:
            ids &= chosen[kind]
        for name, (target, values) in PRESELECTIONS.items():
            wanted = entry.get(name)
            if target == kind and wanted:
                ids = {i for i in ids if set(values(o[kind][i])) & set(wanted)}
        return ids

    accounts = narrowed("accounts", set(o["accounts"]))
    contracts = narrowed(
        "service_contracts",
        {i for i, d in o["service_contracts"].items() if d["cds_account_id"] in accounts},
    )
    points = narrowed(
        "service_points",
        {
            i
            for i, d in o["service_points"].items()
            if set(d["current_servicecontracts"] + d["previous_servicecontracts"]) & contracts
        },
    )
    meters = narrowed(
        "meter_devices",
        {
            i
            for i, d in o["meter_devices"].items()
            if set(d["current_servicepoints"] + d["previous_servicepoints"]) & points
        },
    )
    sections = {
        i
        for i, d in o["bill_sections"].items()
        if d["cds_account_id"] in accounts
        and (set(d["related_servicecontracts"]) & contracts or not d["related_servicecontracts"])
    }
    return {
        "accounts": accounts,
        "service_contracts": contracts,
        "service_points": points,
        "meter_devices": meters,
        "bill_statements": {
            i for i, d in o["bill_statements"].items() if d["cds_account_id"] in accounts
        },
        "bill_sections": sections,
        "aggregations": narrowed(
            "aggregations",
            {
                i
                for i, d in o["aggregations"].items()
                if set(d["grouped_accounts"]) & accounts or "public" in d["aggregation_types"]
            },
        ),
        "usage_segments": {
            i
            for i, d in o["usage_segments"].items()
            if set(d["related_meterdevices"]) & meters
            or (not d["related_meterdevices"] and set(d["related_servicecontracts"]) & contracts)
        },
        "eacs": {
            i
            for i, d in o["eacs"].items()
            if d["beneficiary_type"] == "general"
            or (d["beneficiary_type"] == "account" and set(d["beneficiaries"]) & accounts)
        },
    }


@dataclass(frozen=True)
class ValueCut:
    """The Value Sets a shown Usage Segment carries: ``values[first:last]`` of the stored
    segment ``source`` (``total`` Value Sets), each limited to the Value Format ``columns``
    (``None``: all)."""

    source: str
    first: int
    last: int
    columns: tuple[int, ...] | None
    total: int

    @property
    def whole(self) -> bool:
        """Whether the cut keeps the stored Value Sets as they are."""
        return self.first == 0 and self.last == self.total and self.columns is None

    def apply(self, values: list[list[Any]]) -> list[list[Any]]:
        if self.columns == ():
            return []
        kept = values[self.first : self.last]
        if self.columns is None:
            return kept
        return [[value_set[i] for i in self.columns] for value_set in kept]


def present(kind: str, doc: dict[str, Any], vis: Visibility) -> dict[str, Any] | None:
    """``doc`` as the token sees it (CDS-WG3-01 §7.2, §7.3), ``None`` when no entry sharing it
    admits it. Usage Segments carry a :class:`ValueCut` as their ``values``.

    Each entry sharing the object shows it through its own fields and bounds; several entries
    show the union of their fields, and a Usage Segment the widest of their trimmed copies."""
    doc_id = doc[ID_FIELDS[kind]]
    shown = [
        s
        for s in (_through(kind, doc, v) for v in vis.views.get(kind, ()) if doc_id in v.ids)
        if s is not None
    ]
    if not shown:
        return None
    if kind == "usage_segments":
        out = max(shown, key=lambda s: (s["values"].last - s["values"].first, len(s["formats"])))
    else:
        out = dict(shown[0])
        for other in shown[1:]:
            for name, value in other.items():
                out.setdefault(name, value)
            out["cds_synced"] = max(out["cds_synced"], other["cds_synced"], key=_instant)
    out = _hide_related(out, vis)
    if out.get("beneficiary_type") == "account":
        out["beneficiaries"] = [i for i in out["beneficiaries"] if i in vis.listable["accounts"]]
    return out


def _hide_related(doc: dict[str, Any], vis: Visibility) -> dict[str, Any]:
    """``doc`` with every reference to an object the token may not list removed, at any
    depth (a Usage Segment's ``formats[].related_meterdevices`` as well as its own)."""
    out: dict[str, Any] = {}
    for name, value in doc.items():
        related = RELATED.get(name)
        if related is not None and isinstance(value, list):
            value = [i for i in value if i in vis.listable[related]]
        elif isinstance(value, dict):
            value = _hide_related(value, vis)
        elif isinstance(value, list):
            value = [_hide_related(v, vis) if isinstance(v, dict) else v for v in value]
        out[name] = value
    return out


def _through(kind: str, doc: dict[str, Any], view: View) -> dict[str, Any] | None:
    """``doc`` as one entry shows it, ``None`` when outside its bounds."""
    sync = _instant(view.sync_until) if view.sync_until is not None else None
    if kind in ("bill_statements", "bill_sections"):
        (_, low_field), (_, high_field) = DATE_BOUNDS[kind]
        if view.start is not None and _before(doc[low_field], view.start):
            return None
        if view.end is not None and _before(view.end, doc[high_field]):
            return None
    if kind != "usage_segments" and sync is not None and sync < _instant(doc["cds_created"]):
        return None  # the object came into being after the data stopped being synchronised
    hidden = {
        name
        for flag, names in FIELD_INCLUDES.get(kind, {}).items()
        if flag not in view.fields
        for name in names
    }
    out = {k: v for k, v in doc.items() if k not in hidden}
    if kind == "usage_segments":
        trimmed = _trim(out, view, sync)
        if trimmed is None:
            return None
        out = trimmed
    if sync is not None and sync < _instant(out["cds_synced"]):
        out["cds_synced"] = sync.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


def _trim(doc: dict[str, Any], view: View, sync: datetime | None) -> dict[str, Any] | None:
    """A Usage Segment cut to the Value Sets inside the entry's bounds (CDS-WG3-01 §7.3.6-7:
    those starting on or after ``segment_start`` and ending on or before ``segment_end`` and
    ``sync_until``) and to its value types (§7.2.8.1); a cut segment is a new Usage Segment,
    with its own id. ``None`` when no Value Set is left."""
    start, end = _instant(doc["segment_start"]), _instant(doc["segment_end"])
    step = float(doc["interval"])
    total = round((end - start).total_seconds() / step)
    ends = [_instant(b) for b in (view.end,) if b is not None] + ([sync] if sync else [])
    first, last = 0, total
    if view.start is not None and _instant(view.start) > start:
        first = math.ceil((_instant(view.start) - start).total_seconds() / step)
    if ends and min(ends) < end:
        last = math.floor((min(ends) - start).total_seconds() / step)
    if last <= first:
        return None
    columns = None
    if view.value_types is not None:
        wanted = [USAGE_FORMATS[t] for t in view.value_types if t in USAGE_FORMATS]
        columns = tuple(i for i, f in enumerate(doc["formats"]) if any(_fits(f, w) for w in wanted))
    out = dict(doc)
    if (first, last) != (0, total):
        out["cds_usagesegment_id"] = f"{doc['cds_usagesegment_id']}~{first}-{last}"
        out["segment_start"] = _stamp(start + timedelta(seconds=first * step))
        out["segment_end"] = _stamp(start + timedelta(seconds=last * step))
    if columns is not None:
        out["formats"] = [doc["formats"][i] for i in columns]
    out["values"] = ValueCut(doc["cds_usagesegment_id"], first, last, columns, total)
    return out


def _fits(fmt: dict[str, Any], offered: dict[str, Any]) -> bool:
    """Whether a Value Format is one of an offered value-type choice's ``usagesegment_format``
    (the same values for every field the choice names, its ``id`` aside)."""
    return all(fmt.get(k) == v for k, v in offered.items() if k != "id")


def _stamp(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _before(a: str, b: str) -> bool:
    """``a < b`` for two dates or datetimes (a date counts as its midnight UTC)."""
    return _instant(a) < _instant(b)


def _instant(value: str) -> datetime:
    if len(value) == 10:
        return parse_time(value + "T00:00:00+00:00")
    return parse_time(value)


# -- listings ----------------------------------------------------------------------------------
def apply_filters(
    operation_id: str,
    query: Any,
    docs: list[dict[str, Any]],
    sandbox: Sandbox | None = None,
    special: dict[str, Callable[[dict, list[str]], bool]] | None = None,
) -> list[dict[str, Any]]:
    """The documents that pass every filter of the operation set in ``query``."""
    for f in OPERATIONS[operation_id].filters:
        value = getattr(query, f.name)
        if value is None:
            continue
        if special and f.name in special:
            docs = [d for d in docs if special[f.name](d, value)]
        elif f.syntax == "search":
            term = value.lower()
            docs = [
                d
                for d in docs
                if any(term in str(v).lower() for path in f.fields for v in _values(d, path))
            ]
        elif f.matches is None:
            kind, number_field, related = NUMBER_FILTERS[f.name]
            assert sandbox is not None
            numbers = sandbox.by_number(kind, number_field)
            ids = {numbers[n] for n in value if n in numbers}
            docs = [d for d in docs if set(d.get(related, [])) & ids]
        else:
            docs = [d for d in docs if _matches(d.get(f.matches), f.compare, value)]
    return docs


def _values(doc: Any, path: str) -> list[Any]:
    head, _, rest = path.partition(".")
    value = doc.get(head) if isinstance(doc, dict) else None
    items = value if isinstance(value, list) else [value]
    if rest:
        return [v for item in items for v in _values(item, rest)]
    return [v for v in items if v is not None]


def _matches(field_value: Any, compare: str, wanted: Any) -> bool:
    if field_value is None:
        return False
    if isinstance(wanted, list):
        have = (
            field_value
            if isinstance(field_value, list)
            else (field_value.split() if compare == "contains" else [field_value])
        )
        return bool(set(map(str, have)) & set(wanted))
    if isinstance(wanted, (datetime, date)):
        have = _instant(str(field_value))
        limit = wanted if isinstance(wanted, datetime) else _instant(wanted.isoformat())
        return {
            "on_or_before": have <= limit,
            "on_or_after": have >= limit,
            "before": have < limit,
            "after": have > limit,
            "equals": have == limit,
        }[compare]
    return str(field_value) == str(wanted)


def order(
    operation_id: str,
    docs: list[dict[str, Any]],
    related: Callable[[str], dict[str, dict[str, Any]]] | None = None,
) -> list[dict[str, Any]]:
    """``docs`` (oldest stored first) in the operation's published order, key by key; ties
    left by every key keep the newest first for a descending last key, the oldest first for
    an ascending one. ``related(kind)`` gives the objects of a kind by id, for the keys that
    go ``through`` a field of related ids."""
    keys = OPERATIONS[operation_id].ordering
    if not keys:
        return docs
    items = list(reversed(docs)) if keys[-1].direction == "descending" else list(docs)
    for key in reversed(keys):  # stable sorts: the most significant key sorts last
        table = related(RELATED[key.through]) if key.through and related is not None else {}

        def value(d: dict[str, Any], key: OrderKey = key, table: dict = table) -> str | None:
            if not key.through:
                v = d.get(key.by)
                return None if v is None else str(v)
            ids = d.get(key.through) or []
            found = [str(table[i][key.by]) for i in ids if table.get(i, {}).get(key.by) is not None]
            return min(found) if found else None

        items.sort(
            key=lambda d, value=value: (value(d) is not None, value(d) or ""),
            reverse=key.direction == "descending",
        )
    return items


def page(
    items: list[Any], cursor: str | None, size: int
) -> tuple[list[Any], str | None, str | None]:
    """One page of ``items`` from an offset cursor: ``(items, next, previous)``.

    A cursor is one the listing could have given: ASCII digits, at most the number of items
    (an offset beyond the end is refused like any other foreign cursor, not answered with
    an empty page)."""
    offset = 0
    if cursor is not None:
        if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 9):
            raise InvalidRequest.parameter("cursor", "not a cursor of this listing")
        offset = int(cursor)
        if offset > len(items) or (offset > 0 and offset == len(items)):
            raise InvalidRequest.parameter("cursor", "not a cursor of this listing")
    chunk = items[offset : offset + size]
    following = str(offset + size) if offset + size < len(items) else None
    if offset == 0:
        preceding = None
    else:
        preceding = str(offset - size) if offset - size > 0 else FIRST_PAGE
    return chunk, following, preceding


def customer_objects(sandbox: Sandbox, customer_number: str) -> dict[str, set[str]]:
    """Ids of every object, by kind, that belongs to the Customer's own accounts: what the
    Customer signed in on the consent page may share, and all a Grant from them reaches."""
    accounts = [
        i for i, d in sandbox.objects["accounts"].items() if d["customer_number"] == customer_number
    ]
    return _reach(sandbox, {}, {"kind": "accounts", "ids": accounts})
