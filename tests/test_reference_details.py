"""The reference Server honours the authorization details it grants (CDS-WG3-01 §7.2, §7.3):
``include_*`` fields leave out exactly the OPTIONAL fields they govern, duration fields bound
Bill Statements and Bill Sections and trim Usage Segments to whole Value Sets, ``sync_until``
freezes the data, ``expires`` ends the Grant. Every response is checked strictly."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest
from cds_harness import StrictResponses, Walker, basic, bearer, live_server
from cds_server.references import FILLS
from cdsgen.server import seed
from cdsgen.server.access import KINDS
from cdsgen.server.catalog import SCOPES

pytestmark = pytest.mark.xdist_group("reference-details")

DATA = seed.sample_data()
BY_ID = {
    "accounts": {d["cds_account_id"]: d for d in DATA["accounts"]},
    "service_contracts": {d["cds_servicecontract_id"]: d for d in DATA["service_contracts"]},
    "usage_segments": {d["cds_usagesegment_id"]: d for d in DATA["usage_segments"]},
}
ALEX = "1000-2345-01"  # the first household: 15-minute electric usage and monthly gas
ALEX_METER = "E7000123"

#: (scope, operation, metadata URL field, listing key, id field)
APIS = {
    "cds_query_accounts_1": ("listAccounts", "cds_accounts_api", "accounts", "cds_account_id"),
    "cds_query_service_contracts_1": (
        "listServiceContracts",
        "cds_servicecontracts_api",
        "service_contracts",
        "cds_servicecontract_id",
    ),
    "cds_query_service_points_1": (
        "listServicePoints",
        "cds_servicepoints_api",
        "service_points",
        "cds_servicepoint_id",
    ),
    "cds_query_meter_devices_1": (
        "listMeterDevices",
        "cds_meterdevices_api",
        "meter_devices",
        "cds_meterdevice_id",
    ),
    "cds_query_bill_statements_1": (
        "listBillStatements",
        "cds_billstatement_api",
        "bill_statements",
        "cds_billstatement_id",
    ),
    "cds_query_bill_sections_1": (
        "listBillSections",
        "cds_billsection_api",
        "bill_sections",
        "cds_billsection_id",
    ),
    "cds_query_aggregations_1": (
        "listAggregations",
        "cds_aggregations_api",
        "aggregations",
        "cds_aggregation_id",
    ),
    "cds_query_usage_1": (
        "listUsageSegments",
        "cds_usagesegments_api",
        "usage_segments",
        "cds_usagesegment_id",
    ),
}

#: Include fields whose governed fields no sample object has: leaving them out changes
#: nothing, and the responses stay valid.
NO_SAMPLE_DATA = {"include_meter_apps", "include_bill_statement_programs"}

#: (scope, include field, listing, the fields it governs in that listing's objects), from the
#: source's ``fills`` (CDS-WG3-01 §7.2.x.y) through the generated ``cds_server.references``.
FIELD_CASES = [
    (scope, flag, kind, set(FILLS[flag][KINDS[kind][0]]))
    for scope, (_, _, kind, _) in APIS.items()
    for flag in FILLS
    if KINDS[kind][0] in FILLS[flag]
]


def test_every_include_field_that_fills_fields_is_covered():
    assert {flag for _, flag, _, _ in FIELD_CASES} == set(FILLS)


@pytest.fixture(scope="module")
def strict(spec) -> StrictResponses:
    return StrictResponses(spec)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("details") / "cds.sqlite3") as url:
        yield url


@pytest.fixture(scope="module")
def walker(server, strict) -> Walker:
    w = Walker(server, strict)
    w.register([s for s in SCOPES if SCOPES[s].category == "direct_access"])
    return w


def token(w: Walker, scope: str, **fields) -> dict:
    """A ``client_credentials`` token for ``scope`` with one entry carrying ``fields``."""
    return w.data_token(scope, authorization_details=[{"type": scope, **fields}])


def listing(w: Walker, t: dict, scope: str, **params) -> list[dict]:
    """Every item of the scope's listing the token ``t`` sees (all pages, strictly checked)."""
    operation, api, key, _ = APIS[scope]
    items: list[dict] = []
    r = w.call(operation, "GET", t["oauth"][api], headers=bearer(t["access_token"]), params=params)
    while True:
        assert r.status_code == 200, r.text
        items += r.json()[key]
        if r.json()["next"] is None:
            return items
        r = w.call(operation, "GET", r.json()["next"], headers=bearer(t["access_token"]))


@pytest.fixture(scope="module")
def full(walker) -> dict[str, dict[str, dict]]:
    """What each direct-access scope shows by default (every offered include field true)."""
    out = {}
    for scope, (_, _, _, id_field) in APIS.items():
        if scope != "cds_query_usage_1":
            out[scope] = {d[id_field]: d for d in listing(walker, token(walker, scope), scope)}
    return out


# -- §7.2: included data fields ----------------------------------------------------------------
@pytest.mark.parametrize(("scope", "flag", "kind", "governed"), FIELD_CASES)
def test_an_include_field_set_false_leaves_out_exactly_its_fields(
    walker, full, scope, flag, kind, governed
):
    off = token(walker, scope, **{flag: False})
    entry = next(e for e in off["authorization_details"] if e["type"] == scope)
    assert entry[flag] is False
    id_field = APIS[scope][3]
    seen_off = {d[id_field]: d for d in listing(walker, off, scope)}
    assert set(seen_off) == set(full[scope]) and seen_off
    for doc_id, shown in seen_off.items():
        whole = full[scope][doc_id]
        source = {d[id_field]: d for d in DATA[kind]}[doc_id]
        # exactly the governed fields the object has are gone; everything else is unchanged
        assert set(whole) - set(shown) == governed & set(source)
        assert {k: v for k, v in whole.items() if k not in governed} == shown
    if flag not in NO_SAMPLE_DATA:
        assert any(governed & set(d) for d in full[scope].values())


def test_include_fields_default_to_true(walker, full):
    scope = "cds_query_accounts_1"
    flags = ("include_account_numbers", "include_account_details", "include_account_programs")
    on = token(walker, scope, **dict.fromkeys(flags, True))
    assert {d["cds_account_id"]: d for d in listing(walker, on, scope)} == full[scope]
    assert {f: True for f in flags} == {
        f: v for f, v in full_entry(walker, scope).items() if f in flags
    }


def full_entry(w: Walker, scope: str) -> dict:
    """The entry a Grant records for ``scope`` when the Client sets nothing."""
    return next(e for e in token(w, scope)["authorization_details"] if e["type"] == scope)


def test_account_numbers_leave_required_bill_account_numbers_in_place(walker):
    """§7.2.1.1 lists Bill Statement and Bill Section ``account_number`` too, but those are
    REQUIRED and not nullable (§10.5.1, §10.6.1): they stay, and responses stay valid."""
    for scope in ("cds_query_bill_statements_1", "cds_query_bill_sections_1"):
        t = token(walker, scope, account_numbers=[ALEX])
        assert {d["account_number"] for d in listing(walker, t, scope)} == {ALEX}


def test_a_bill_file_needs_include_bill_statement_files(walker, full):
    with_files = token(walker, "cds_query_bill_statements_1")
    without = token(walker, "cds_query_bill_statements_1", include_bill_statement_files=False)
    statement = next(iter(full["cds_query_bill_statements_1"].values()))
    url = statement["file_uri"]
    assert walker.http.get(url, headers=bearer(with_files["access_token"])).status_code == 200
    assert walker.http.get(url, headers=bearer(without["access_token"])).status_code == 404


def test_usage_value_types_keep_only_the_chosen_formats(walker):
    march = {"segment_start": "2025-03-01T00:00:00Z", "segment_end": "2025-04-01T00:00:00Z"}
    scope = "cds_query_usage_1"
    every = listing(walker, token(walker, scope, account_numbers=[ALEX], **march), scope)
    types = {s["cds_usagesegment_id"]: s["formats"][0]["type"] for s in every}
    assert sorted(set(types.values())) == ["electric_usage", "natural_gas_usage"]
    assert len(every) == 31 + 1  # March: 31 days of 15-minute electric usage, one gas month
    gas_only = listing(
        walker,
        token(
            walker,
            scope,
            account_numbers=[ALEX],
            include_usage_segment_value_types=["natural_gas_usage"],
            **march,
        ),
        scope,
    )
    nothing = listing(
        walker,
        token(
            walker, scope, account_numbers=[ALEX], include_usage_segment_value_types=None, **march
        ),
        scope,
    )
    full_by_id = {s["cds_usagesegment_id"]: s for s in every}
    for segment in gas_only:
        whole = full_by_id[segment["cds_usagesegment_id"]]
        if types[segment["cds_usagesegment_id"]] == "natural_gas_usage":
            assert segment == whole
        else:  # no chosen format: empty formats and values, the durations still shown
            assert segment == {**whole, "formats": [], "values": []}
    assert {s["cds_usagesegment_id"] for s in gas_only} == set(full_by_id)
    # null: durations only (§7.2.8.1)
    assert [(s["formats"], s["values"]) for s in nothing] == [([], [])] * len(every)


# -- §7.3: duration fields ---------------------------------------------------------------------
def _unrelated(value):
    """``value`` without its ``related_*`` fields, at every depth."""
    if isinstance(value, dict):
        return {k: _unrelated(v) for k, v in value.items() if not k.startswith("related_")}
    if isinstance(value, list):
        return [_unrelated(v) for v in value]
    return value


def test_usage_segments_are_trimmed_to_whole_value_sets(walker):
    scope = "cds_query_usage_1"
    t = token(
        walker,
        scope,
        account_numbers=[ALEX],
        segment_start="2025-03-10T06:00:00Z",
        segment_end="2025-03-12T17:59:00Z",
    )
    entry = next(e for e in t["authorization_details"] if e["type"] == scope)
    assert (entry["segment_start"], entry["segment_end"]) == (
        "2025-03-10T06:00:00Z",
        "2025-03-12T17:59:00Z",
    )
    seen = sorted(listing(walker, t, scope), key=lambda s: s["segment_start"])
    day = "us-md-elec-01-2025031"
    # the gas month straddles both bounds and has one Value Set: nothing of it is left
    assert [(s["segment_start"], s["segment_end"], len(s["values"])) for s in seen] == [
        ("2025-03-10T06:00:00Z", "2025-03-11T00:00:00Z", 72),  # starts at the bound
        ("2025-03-11T00:00:00Z", "2025-03-12T00:00:00Z", 96),  # whole
        ("2025-03-12T00:00:00Z", "2025-03-12T17:45:00Z", 71),  # ends on or before the bound
    ]
    original = [BY_ID["usage_segments"][f"{day}{d}"] for d in (0, 1, 2)]
    assert seen[0]["values"] == original[0]["values"][24:]
    # an untouched segment keeps its id and data (related ids name only what the token lists,
    # at every depth: a usage-only token sees no meter, not even in a Value Format)
    assert _unrelated(seen[1]) == _unrelated(original[1])
    assert all(f["related_meterdevices"] == [] for s in seen for f in s["formats"])
    assert seen[2]["values"] == original[2]["values"][:71]
    # a trimmed segment is a new Usage Segment (§7.3.6): its own id, the rest unchanged
    for shown, source in ((seen[0], original[0]), (seen[2], original[2])):
        assert shown["cds_usagesegment_id"] != source["cds_usagesegment_id"]
        assert shown["cds_usagesegment_id"].startswith(source["cds_usagesegment_id"])
        same = {k for k in source if not k.startswith("related_")}
        same -= {"cds_usagesegment_id", "segment_start", "segment_end", "values"}
        assert _unrelated({k: shown[k] for k in same}) == _unrelated({k: source[k] for k in same})
    # the trimmed ids can be asked for by id
    picked = listing(walker, t, scope, cds_usagesegment_ids=seen[0]["cds_usagesegment_id"])
    assert picked == [seen[0]]


def test_bill_statements_and_sections_are_bounded_by_their_dates(walker):
    statements = listing(
        walker,
        token(
            walker,
            "cds_query_bill_statements_1",
            statement_date_start="2025-04-05",
            statement_date_end="2025-06-30",
        ),
        "cds_query_bill_statements_1",
    )
    expected = sorted(
        d["cds_billstatement_id"]
        for d in DATA["bill_statements"]
        if "2025-04-05" <= d["statement_date"] <= "2025-06-30"
    )
    assert len(expected) == 3 * 3  # three accounts, April to June
    assert sorted(d["cds_billstatement_id"] for d in statements) == expected
    sections = listing(
        walker,
        token(walker, "cds_query_bill_sections_1", start_date="2025-03-01", end_date="2025-04-30"),
        "cds_query_bill_sections_1",
    )
    expected = sorted(
        d["cds_billsection_id"]
        for d in DATA["bill_sections"]
        if d["start_date"] >= "2025-03-01" and d["end_date"] <= "2025-04-30"
    )
    assert expected and {d["start_date"][:7] for d in sections} == {"2025-03", "2025-04"}
    assert sorted(d["cds_billsection_id"] for d in sections) == expected


def test_a_relative_statement_start_counts_back_from_the_grant(walker):
    scope = "cds_query_bill_statements_1"
    before = date.today()
    t = token(walker, scope, statement_date_start="P1Y")
    start = next(e for e in t["authorization_details"] if e["type"] == scope)[
        "statement_date_start"
    ]
    after = date.today()
    assert start in {d.replace(year=d.year - 1).isoformat() for d in (before, after)}
    expected = sorted(
        d["cds_billstatement_id"] for d in DATA["bill_statements"] if d["statement_date"] >= start
    )
    assert sorted(d["cds_billstatement_id"] for d in listing(walker, t, scope)) == expected


def test_sync_until_freezes_the_data_at_that_moment(walker):
    until = "2025-03-31T00:00:00Z"
    bills = listing(
        walker,
        token(walker, "cds_query_bill_statements_1", account_numbers=[ALEX], sync_until=until),
        "cds_query_bill_statements_1",
    )
    # bills issued by then (Feb 5 and Mar 5), last confirmed valid at sync_until
    assert sorted(d["statement_date"] for d in bills) == ["2025-02-05", "2025-03-05"]
    assert {d["cds_synced"] for d in bills} == {until}
    scope = "cds_query_usage_1"
    usage = listing(
        walker,
        token(
            walker,
            scope,
            account_numbers=[ALEX],
            meter_numbers=[ALEX_METER],
            sync_until="2025-01-03T12:00:00Z",
        ),
        scope,
    )
    assert sorted((s["segment_start"], s["segment_end"], len(s["values"])) for s in usage) == [
        ("2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z", 96),
        ("2025-01-02T00:00:00Z", "2025-01-03T00:00:00Z", 96),
        ("2025-01-03T00:00:00Z", "2025-01-03T12:00:00Z", 48),  # Value Sets valid by then
    ]
    assert {s["cds_synced"] for s in usage} == {"2025-01-03T12:00:00Z"}
    # without sync_until the same account sees its whole year, synced when the data was
    whole = listing(
        walker,
        token(walker, "cds_query_bill_statements_1", account_numbers=[ALEX]),
        "cds_query_bill_statements_1",
    )
    assert len(whole) == 12 and {d["cds_synced"] for d in whole} == {seed.SYNCED}


def test_expires_sets_the_grant_end_and_then_withdraws_access(walker):
    scope = "cds_query_accounts_1"
    past = walker.call(
        "requestToken",
        "POST",
        walker.client_oauth(walker.client_with(scope))["token_endpoint"],
        data={
            "grant_type": "client_credentials",
            "scope": scope,
            "authorization_details": f'[{{"type": "{scope}", "expires": "2020-01-01T00:00:00Z"}}]',
        },
        headers=_basic(walker, scope),
    )
    assert past.status_code == 400 and past.json()["error"] == "invalid_authorization_details"
    far = token(walker, scope, expires="2099-01-01T00:00:00Z")
    grant = _grant(walker, far)
    assert grant["expires"] == "2099-01-01T00:00:00Z" and grant["status"] == "active"
    soon = token(walker, scope, expires="PT2S")
    ends = next(e for e in soon["authorization_details"] if e["type"] == scope)["expires"]
    grant = _grant(walker, soon)
    assert grant["expires"] == ends and grant["status"] == "active"
    deadline = datetime.strptime(ends, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert deadline - datetime.now(UTC) <= timedelta(seconds=2)
    operation, api, _, _ = APIS[scope]
    while datetime.now(UTC) <= deadline + timedelta(seconds=1):
        time.sleep(0.25)
    gone = walker.call(operation, "GET", soon["oauth"][api], headers=bearer(soon["access_token"]))
    assert gone.status_code == 401
    grant = _grant(walker, soon)
    assert grant["status"] == "expired" and grant["enabled_scope"] == ""
    still = walker.call(operation, "GET", far["oauth"][api], headers=bearer(far["access_token"]))
    assert still.status_code == 200


def _basic(w: Walker, scope: str) -> dict[str, str]:
    client = w.client_with(scope)
    return basic(client["client_id"], w.secret_of(client["client_id"]))


def _grant(w: Walker, t: dict) -> dict:
    url = f"{w.oauth['cds_grants_api']}/{t['cds_grant_ids'][0]}"
    return w.admin("getGrant", "GET", url).json()
