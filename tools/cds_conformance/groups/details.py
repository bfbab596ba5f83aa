"""Authorization details honoured (CDS-WG3-01 §7.2, §7.3): a field an ``include_*`` flag set
to false withholds is absent; duration fields bound the data a token sees.

Which fields each flag governs is stated in prose in §7.2, not in the machine-readable
source; the table below transcribes it (the flag's anchor comes from the model)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cds_conformance.model import Check
from cds_conformance.runner import CheckContext, Run, Unavailable

DOC = "cds-wg3-01"

#: include flag -> (advertising metadata field, listing key, OPTIONAL fields it withholds)
INCLUDE_FIELDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "include_account_numbers": (
        "cds_accounts_api",
        "accounts",
        ("customer_number", "account_number", "account_entity"),
    ),
    "include_account_details": (
        "cds_accounts_api",
        "accounts",
        ("account_name", "account_address", "account_types", "account_status", "account_contacts"),
    ),
    "include_account_programs": ("cds_accounts_api", "accounts", ("account_programs",)),
    "include_contract_numbers": (
        "cds_servicecontracts_api",
        "service_contracts",
        ("contract_number", "contract_entity"),
    ),
    "include_rate_plans": (
        "cds_servicecontracts_api",
        "service_contracts",
        ("rateplan_code", "rateplan_name"),
    ),
    "include_service_contract_details": (
        "cds_servicecontracts_api",
        "service_contracts",
        ("contract_address", "contract_start", "contract_end"),
    ),
    "include_service_programs": (
        "cds_servicecontracts_api",
        "service_contracts",
        ("service_programs",),
    ),
    "include_premises": ("cds_servicepoints_api", "service_points", ("premises",)),
    "include_service_point_addresses": (
        "cds_servicepoints_api",
        "service_points",
        ("servicepoint_address",),
    ),
    "include_coordinates": ("cds_servicepoints_api", "service_points", ("latitude", "longitude")),
    "include_meter_numbers": ("cds_meterdevices_api", "meter_devices", ("meter_number",)),
    "include_bill_statement_files": (
        "cds_billstatement_api",
        "bill_statements",
        ("file_uri", "file_mimetype"),
    ),
    "include_bill_statement_charges": (
        "cds_billstatement_api",
        "bill_statements",
        (
            "previous_balance_amount",
            "previous_balance_paid",
            "previous_balance_unpaid",
            "new_charges_amount",
            "new_charges",
            "new_balance_amount",
        ),
    ),
    "include_bill_section_line_items": ("cds_billsection_api", "bill_sections", ("line_items",)),
    "include_aggregation_addresses": (
        "cds_aggregations_api",
        "aggregations",
        ("grouped_addresses",),
    ),
}

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


def include_checks(run: Run) -> dict[str, Check]:
    out = {}
    for flag in INCLUDE_FIELDS:
        rule = run.rules.spec.authorization_details_fields.get(flag)
        anchor = rule.anchor if rule else "auth-details-included-data"
        out[flag] = Check(
            f"wg3-01.details.{flag}",
            "details",
            DOC,
            anchor,
            "MUST",
            f"`{flag}: false` withholds the fields it governs",
        )
    return out


def bound_checks(run: Run) -> dict[str, Check]:
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


def all_checks(run: Run) -> list[Check]:
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
    for flag, check in include_checks(run).items():
        api_field, key, governed = INCLUDE_FIELDS[flag]
        if not run.oauth.get(api_field):
            run.skip(check, f"the Server does not advertise {api_field}")
            continue
        with run.checking(check) as c:
            if c:
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
