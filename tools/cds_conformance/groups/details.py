"""Authorization details honoured (CDS-WG3-01 §7.2, §7.3): a field an ``include_*`` flag set
to false withholds is absent; duration fields bound the data a token sees.

Which OPTIONAL fields each flag fills comes from the model (``fills`` of the authorization
details field rules), as do the listings that show those objects."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cds_conformance.groups.listings import data_endpoints
from cds_conformance.model import Check
from cds_conformance.runner import CheckContext, Run, Unavailable

DOC = "cds-wg3-01"


def include_targets(run: Any) -> dict[str, list[tuple[str, str, tuple[str, ...]]]]:
    """include flag -> [(advertising metadata field, listing key, fields it fills)] for the
    objects a data listing shows; fields that are REQUIRED and not nullable stay (errata)."""
    listings = {}
    for ep in data_endpoints(run):
        key = run.rules.listing_key(ep)
        if key:
            listings[key[1]] = ((ep.advertised_by or "").split(".", 1)[1], key[0])
    out: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {}
    for flag, rule in sorted(run.rules.spec.authorization_details_fields.items()):
        for object_name, fields in sorted(rule.fills.items()):
            obj = run.rules.spec.objects.get(object_name)
            if object_name not in listings or obj is None:
                continue
            kept = tuple(
                f
                for f in fields
                if f in obj.fields and not (obj.fields[f].required and not obj.fields[f].nullable)
            )
            if kept:
                out.setdefault(flag, []).append((*listings[object_name], kept))
    return out


#: (check id, start field, end field, metadata field, listing key, item start, item end)
BOUNDS = [
    (
        "wg3-01.details.usage-segment-bounds",
        "segment_start",
        "segment_end",
        "cds_usagesegments_api",
        "usage_segments",
        "segment_start",
        "segment_end",
    ),
    (
        "wg3-01.details.statement-bounds",
        "statement_date_start",
        "statement_date_end",
        "cds_billstatement_api",
        "bill_statements",
        "statement_date",
        "statement_date",
    ),
]


def include_checks(run: Any) -> dict[str, Check]:
    out = {}
    for flag in include_targets(run):
        rule = run.rules.spec.authorization_details_fields[flag]
        out[flag] = Check(
            f"wg3-01.details.{flag}",
            "details",
            DOC,
            rule.anchor,
            "MUST",
            f"`{flag}: false` withholds the fields it fills",
        )
    return out


def bound_checks(run: Any) -> dict[str, Check]:
    out = {}
    for check_id, start, _end, *_ in BOUNDS:
        rule = run.rules.spec.authorization_details_fields.get(start)
        out[check_id] = Check(
            check_id,
            "details",
            DOC,
            rule.anchor if rule else "auth-details-duration",
            "MUST",
            f"`{start}`/`{_end}` bound the objects a token sees",
        )
    return out


def all_checks(run: Any) -> list[Check]:
    return [*include_checks(run).values(), *bound_checks(run).values()]


def _scope_offering(run: Run, field_id: str, api_field: str) -> str:
    for sid in run.direct_scopes():
        desc = run.description(sid)
        offered = {
            f.get("id")
            for f in desc.get("authorization_details_fields_supported") or []
            if isinstance(f, dict)
        }
        if field_id not in offered:
            continue
        ep = next(
            (
                e
                for e in run.rules.spec.endpoints.values()
                if (e.advertised_by or "").endswith("." + api_field)
            ),
            None,
        )
        if ep is not None and desc.get("type") in ep.scopes:
            return sid
    raise Unavailable(f"no direct-access scope offers `{field_id}` for {api_field}")


def run(run: Run) -> None:
    try:
        _ = run.oauth
    except Unavailable as exc:
        for c in all_checks(run):
            run.skip(c, f"cannot run: {exc}")
        return
    targets = include_targets(run)
    for flag, check in include_checks(run).items():
        shown = [t for t in targets[flag] if run.oauth.get(t[0])]
        if not shown:
            run.skip(check, f"the Server advertises no API listing what `{flag}` fills")
            continue
        with run.checking(check) as c:
            if c:
                for api_field, key, governed in shown:
                    _include(run, c, flag, api_field, key, governed)
    for (_id, start, end, api_field, key, item_start, item_end), check in zip(
        BOUNDS, bound_checks(run).values(), strict=True
    ):
        if not run.oauth.get(api_field):
            run.skip(check, f"the Server does not advertise {api_field}")
            continue
        with run.checking(check) as c:
            if c:
                _bounds(run, c, start, end, api_field, key, item_start, item_end)


def _include(
    run: Run, c: CheckContext, flag: str, api_field: str, key: str, governed: tuple[str, ...]
) -> None:
    sid = _scope_offering(run, flag, api_field)
    whole = run.cc_token(sid)
    url = str(whole["oauth"][api_field])
    shown = run.all_items(url, key, whole["access_token"])
    if not any(set(governed) & set(i) for i in shown):
        c.note(f"no object shows {', '.join(governed)} even by default: nothing to withhold")
    off = run.cc_token(sid, [{"type": sid, flag: False}])
    for item in run.all_items(url, key, off["access_token"]):
        leaked = sorted(set(governed) & {k for k, v in item.items() if v is not None})
        c.expect(not leaked, f"`{flag}: false` but {key} objects still carry {leaked}")


def _bounds(
    run: Run,
    c: CheckContext,
    start: str,
    end: str,
    api_field: str,
    key: str,
    item_start: str,
    item_end: str,
) -> None:
    sid = _scope_offering(run, start, api_field)
    whole = run.cc_token(sid)
    url = str(whole["oauth"][api_field])
    items = sorted(
        run.all_items(url, key, whole["access_token"]), key=lambda i: str(i.get(item_start))
    )
    if len(items) < 3:
        c.skip(f"fewer than three {key} objects: no window to bound")
    low = str(items[len(items) // 3][item_start])
    high = str(items[2 * len(items) // 3][item_end])
    bounded = run.cc_token(sid, [{"type": sid, start: low, end: high}])
    seen = run.all_items(url, key, bounded["access_token"])
    c.expect(seen, f"a window {low}..{high} holding data shows nothing")
    for item in seen:
        a, b = _t(item.get(item_start)), _t(item.get(item_end))
        c.expect(
            a is not None and b is not None and _t(low) <= a and b <= _t(high),
            f"{start}={low}, {end}={high} but a {key} object spans "
            f"{item.get(item_start)}..{item.get(item_end)}",
        )


def _t(value: Any) -> Any:
    if value is None:
        return None
    text = str(value)
    if len(text) == 10:
        return text + "T00:00:00+00:00"
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()
    except ValueError:
        return text
