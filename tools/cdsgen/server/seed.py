"""The fictional sample data the reference Server starts with.

Three customers of "Demo Power & Gas": two households in one building and a bakery. Every
account has its contracts, service points, meters, a year of monthly bills with their bill
sections, and usage: a full year (2025) of 15-minute electric usage for the first household's
meter (35,040 value sets, one Usage Segment per day), monthly gas usage, an hourly month and a
15-minute month for the others. Everything is deterministic (fixed dates, seeded noise).
"""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cdsgen.server.catalog import HERE

YEAR = 2025
SYNCED = "2026-01-05T00:00:00Z"

ENTITY = {
    "id": "dpg",
    "types": ["distributor", "supplier", "iou"],
    "entity_number": "DPG-001",
    "entity_name": "Demo Power & Gas",
    "entity_abbreviation": "DPG",
}


def _ts(d: datetime) -> str:
    return d.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _meta(created: str, modified: str) -> dict[str, str]:
    return {"cds_created": created, "cds_modified": modified, "cds_synced": SYNCED}


#: customer → (customer_number, account, contracts, ...): the skeleton of the sample data.
CUSTOMERS: list[dict[str, Any]] = [
    {
        "name": "Alex Rivera",
        "email": "alex.rivera@example.com",
        "customer_number": "C-100234",
        "account": ("acct-res-01", "1000-2345-01", "residential"),
        "address": "42 Main St Apt 1, Springfield, IL 62701",
        "services": [
            (
                "sc-elec-01",
                "SC-88001",
                "electric",
                "E-TOU-C",
                "sp-elec-01",
                "SP-7001",
                "md-elec-01",
                "E7000123",
            ),
            (
                "sc-gas-01",
                "SC-88002",
                "natural_gas",
                "G-1",
                "sp-gas-01",
                "SP-7002",
                "md-gas-01",
                "G5000456",
            ),
        ],
    },
    {
        "name": "Blake Chen",
        "email": "blake.chen@example.com",
        "customer_number": "C-100567",
        "account": ("acct-res-02", "1000-5678-01", "residential"),
        "address": "42 Main St Apt 2, Springfield, IL 62701",
        "services": [
            (
                "sc-elec-02",
                "SC-88003",
                "electric",
                "E-1",
                "sp-elec-02",
                "SP-7003",
                "md-elec-02",
                "E7000789",
            ),
        ],
    },
    {
        "name": "Northwind Bakery LLC",
        "email": "billing@northwind-bakery.example.com",
        "customer_number": "C-200111",
        "account": ("acct-com-01", "2000-1111-01", "commercial"),
        "address": "7 Market Sq, Springfield, IL 62704",
        "services": [
            (
                "sc-elec-03",
                "SC-88004",
                "electric",
                "B-10",
                "sp-elec-03",
                "SP-7004",
                "md-elec-03",
                "E7001000",
            ),
        ],
    },
]

RATES = {"electric": 0.21, "natural_gas": 1.35}
UNITS = {"electric": "kWh", "natural_gas": "therm"}


def sample_data() -> dict[str, list[dict[str, Any]]]:
    """Every document of the sample data by kind; usage segments carry their ``values``."""
    data: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
    for n, c in enumerate(CUSTOMERS):
        acct_id, acct_number, acct_type = c["account"]
        created = f"2024-0{n + 1}-15T09:00:00Z"
        data["accounts"].append(
            {
                "cds_account_id": acct_id,
                **_meta(created, f"2025-12-0{n + 1}T10:00:00Z"),
                "cds_account_parent": None,
                "customer_number": c["customer_number"],
                "account_number": acct_number,
                "account_entity": ENTITY,
                "account_name": c["name"],
                "account_address": c["address"],
                "account_types": ["customer", acct_type, "billed_monthly"],
                "account_status": "active",
                "account_contacts": [
                    {"id": f"{acct_id}-email", "types": ["email", "primary"], "value": c["email"]},
                ],
                "account_programs": (
                    [
                        {
                            "id": f"{acct_id}-budget",
                            "program_number": "BUDGET-BILLING",
                            "types": ["active", "payment_plan"],
                            "name": "Budget Billing",
                            "description": "Equal monthly payments, trued up once a year.",
                            "documentation": f"{HERE}/docs#programs",
                            "start": "2024-03-01",
                        }
                    ]
                    if n == 0
                    else []
                ),
            }
        )
        for s, (
            sc_id,
            sc_number,
            service,
            rate,
            sp_id,
            sp_number,
            md_id,
            meter_number,
        ) in enumerate(c["services"]):
            data["service_contracts"].append(
                {
                    "cds_servicecontract_id": sc_id,
                    **_meta(created, f"2025-11-{10 + n}T10:0{s}:00Z"),
                    "cds_account_id": acct_id,
                    "account_number": acct_number,
                    "contract_number": sc_number,
                    "contract_address": c["address"],
                    "contract_types": ["utility_service", "billed_monthly"],
                    "contract_entity": ENTITY,
                    "contract_status": "active",
                    "contract_start": f"2024-0{n + 1}-15",
                    "contract_end": None,
                    "service_types": [service, acct_type, "metered", "distribution", "supply"],
                    "rateplan_code": rate,
                    "rateplan_name": f"Rate plan {rate}",
                    "service_programs": (
                        [
                            {
                                "id": f"{sc_id}-dr",
                                "program_number": "PEAK-SAVER",
                                "types": ["active", "demand_response"],
                                "name": "Peak Saver",
                                "description": "Bill credits for using less on summer peak days.",
                                "documentation": f"{HERE}/docs#programs",
                                "start": "2025-05-01",
                            }
                        ]
                        if service == "electric" and n == 0
                        else []
                    ),
                }
            )
            data["service_points"].append(
                {
                    "cds_servicepoint_id": sp_id,
                    **_meta(created, f"2025-10-{10 + n}T10:0{s}:00Z"),
                    "servicepoint_number": sp_number,
                    "servicepoint_types": [service, "single_service", "physical"],
                    "servicepoint_address": c["address"],
                    "latitude": 39.7817 + n * 0.001,
                    "longitude": -89.6501 - n * 0.001,
                    "current_servicecontracts": [sc_id],
                    "previous_servicecontracts": [],
                    "premises": [
                        {
                            "id": f"prem-{n // 2}",
                            "premise_number": f"PREM-{100 + n // 2}",
                            "types": ["building"],
                        }
                    ],
                }
            )
            data["meter_devices"].append(
                {
                    "cds_meterdevice_id": md_id,
                    **_meta(created, f"2025-09-{10 + n}T10:0{s}:00Z"),
                    "meter_number": meter_number,
                    "meter_types": (
                        [
                            f"{service}_usage" if service != "electric" else "electric_usage",
                            "physical_meter",
                            "ami_meter",
                        ]
                        + (["bidirectional"] if md_id == "md-elec-01" else [])
                    ),
                    "current_servicepoints": [sp_id],
                    "previous_servicepoints": [],
                }
            )
        _bills(data, n, c)
    _aggregations(data)
    _usage(data)
    _eacs(data)
    return data


KINDS = (
    "accounts",
    "service_contracts",
    "service_points",
    "meter_devices",
    "bill_statements",
    "bill_sections",
    "aggregations",
    "usage_segments",
    "eacs",
)


def _monthly_usage(service: str, month: int, scale: float) -> float:
    season = math.cos((month - 7.5) / 12 * 2 * math.pi)  # summer peak for electricity
    base = 520 + 260 * season if service == "electric" else 60 - 40 * season
    return round(base * scale, 1)


def _bills(data: dict[str, list[dict[str, Any]]], n: int, c: dict[str, Any]) -> None:
    acct_id, acct_number, acct_type = c["account"]
    scale = 3.5 if acct_type == "commercial" else 1.0 - 0.2 * n
    balance = 0.0
    for month in range(1, 13):
        start = date(YEAR, month, 1)
        end = (date(YEAR + (month == 12), month % 12 + 1, 1)) - timedelta(days=1)
        statement_date = end + timedelta(days=5)
        stamp = f"{statement_date.isoformat()}T06:00:00Z"
        bs_id = f"bs-{acct_id}-{month:02d}"
        charges = []
        total = 0.0
        for sc_id, sc_number, service, rate, sp_id, _sp_number, md_id, _meter in c["services"]:
            usage = _monthly_usage(service, month, scale)
            usage_cost = round(usage * RATES[service], 2)
            fixed = 12.0 if service == "electric" else 8.5
            cost = round(usage_cost + fixed, 2)
            total = round(total + cost, 2)
            section_id = f"sec-{sc_id}-{month:02d}"
            data["bill_sections"].append(
                {
                    "cds_billsection_id": section_id,
                    **_meta(stamp, stamp),
                    "cds_billstatement_id": bs_id,
                    "cds_account_id": acct_id,
                    "account_number": acct_number,
                    "section_types": [
                        "service_contract",
                        "electric" if service == "electric" else "natural_gas",
                    ],
                    "start_date": start.isoformat(),
                    "end_date": end.isoformat(),
                    "currency": "USD",
                    "distribution_entity": ENTITY,
                    "supply_entity": ENTITY,
                    "related_servicecontracts": [sc_id],
                    "related_servicepoints": [sp_id],
                    "related_meterdevices": [md_id],
                    "related_billsections": [],
                    "usage_details": [
                        {
                            "id": f"{section_id}-use",
                            "name": "Energy used" if service == "electric" else "Gas used",
                            "types": [
                                f"{service}_usage" if service != "electric" else "electric_usage",
                                "ami_reading",
                            ],
                            "value": usage,
                            "units": UNITS[service],
                            "start_date": start.isoformat(),
                            "end_date": end.isoformat(),
                        }
                    ],
                    "cost_details": [
                        {
                            "id": f"{section_id}-total",
                            "name": "Section total",
                            "types": ["overall_total"],
                            "cost": cost,
                        },
                        {
                            "id": f"{section_id}-fixed",
                            "name": "Customer charge",
                            "types": ["fixed_charges"],
                            "cost": fixed,
                        },
                        {
                            "id": f"{section_id}-usage",
                            "name": "Usage charges",
                            "types": ["usage_charges"],
                            "cost": usage_cost,
                        },
                    ],
                    "line_items": [
                        {
                            "id": f"{section_id}-li-fixed",
                            "name": "Customer charge",
                            "types": ["fixed_charge"],
                            "start_date": start.isoformat(),
                            "end_date": end.isoformat(),
                            "cost": fixed,
                            "value": None,
                            "rate": None,
                            "related_usage_details": [],
                            "related_cost_details": [f"{section_id}-fixed"],
                        },
                        {
                            "id": f"{section_id}-li-usage",
                            "name": f"Rate {rate} energy",
                            "types": ["usage_charge"],
                            "start_date": start.isoformat(),
                            "end_date": end.isoformat(),
                            "cost": usage_cost,
                            "value": usage,
                            "units": UNITS[service],
                            "rate": RATES[service],
                            "related_usage_details": [f"{section_id}-use"],
                            "related_cost_details": [f"{section_id}-usage"],
                        },
                    ],
                }
            )
            charges.append(
                {
                    "id": f"{bs_id}-{sc_number}",
                    "name": f"{'Electric' if service == 'electric' else 'Gas'} service {sc_number}",
                    "types": ["electric_total" if service == "electric" else "natural_gas_total"],
                    "amount": cost,
                    "included_in_amount_due": True,
                    "related_billsections": [section_id],
                }
            )
        previous = balance
        balance = total
        data["bill_statements"].append(
            {
                "cds_billstatement_id": bs_id,
                **_meta(stamp, stamp),
                "cds_account_id": acct_id,
                "account_number": acct_number,
                "statement_date": statement_date.isoformat(),
                "currency": "USD",
                "file_uri": f"{HERE}/sample-bills/{bs_id}.pdf",
                "file_mimetype": "application/pdf",
                "previous_balance_amount": previous,
                "previous_balance_paid": previous,
                "previous_balance_unpaid": 0.0,
                "new_charges_amount": total,
                "new_charges": charges,
                "new_balance_amount": total,
                "amount_due": total,
                "amount_due_date": (statement_date + timedelta(days=21)).isoformat(),
                "shutoff_prevention_minimum_due": None,
                "shutoff_prevention_date": None,
            }
        )


def _aggregations(data: dict[str, list[dict[str, Any]]]) -> None:
    data["aggregations"] += [
        {
            "cds_aggregation_id": "agg-building-42-main",
            **_meta("2025-01-10T00:00:00Z", "2025-12-20T00:00:00Z"),
            "aggregation_types": ["listed", "building"],
            "aggregation_number": "BLDG-42-MAIN",
            "scope": "",
            "authorization_details": [],
            "grouped_accounts": ["acct-res-01", "acct-res-02"],
            "grouped_servicecontracts": ["sc-elec-01", "sc-gas-01", "sc-elec-02"],
            "grouped_servicepoints": ["sp-elec-01", "sp-gas-01", "sp-elec-02"],
            "grouped_meterdevices": ["md-elec-01", "md-gas-01", "md-elec-02"],
            "grouped_aggregations": [],
            "grouped_addresses": ["42 Main St, Springfield, IL 62701"],
            "grouped_regions": [],
            "consent_requirements": [
                {
                    "id": "tenant-consent",
                    "name": "Tenant consent",
                    "types": ["sometimes"],
                    "documentation": f"{HERE}/docs#aggregations",
                }
            ],
        },
        {
            "cds_aggregation_id": "agg-commercial-springfield",
            **_meta("2025-01-10T00:00:00Z", "2025-12-21T00:00:00Z"),
            "aggregation_types": ["public", "account_type"],
            "aggregation_number": "COM-SPRINGFIELD",
            "scope": "",
            "authorization_details": [],
            "grouped_accounts": ["acct-com-01"],
            "grouped_servicecontracts": ["sc-elec-03"],
            "grouped_servicepoints": ["sp-elec-03"],
            "grouped_meterdevices": ["md-elec-03"],
            "grouped_aggregations": [],
            "grouped_regions": [],
            "consent_requirements": [],
            "account_types": ["commercial"],
        },
    ]


def _segment(
    seg_id: str,
    start: datetime,
    end: datetime,
    interval: int,
    fmt: dict,
    values: list,
    related: dict,
) -> dict:
    stamp = _ts(end + timedelta(hours=6))
    return {
        "cds_usagesegment_id": seg_id,
        **_meta(stamp, stamp),
        "related_aggregations": related.get("aggregations", []),
        "related_accounts": related["accounts"],
        "related_servicecontracts": related["servicecontracts"],
        "related_servicepoints": related["servicepoints"],
        "related_meterdevices": related["meterdevices"],
        "related_billsections": related.get("billsections", []),
        "segment_start": _ts(start),
        "segment_end": _ts(end),
        "interval": interval,
        "formats": [fmt],
        "values": values,
    }


def _electric_day(rng: random.Random, day: datetime, steps: int, scale: float) -> list[list[dict]]:
    per_hour = steps // 24
    out = []
    for i in range(steps):
        hour = i / per_hour
        shape = (
            0.35 + 0.4 * math.exp(-((hour - 19) ** 2) / 6) + 0.25 * math.exp(-((hour - 8) ** 2) / 3)
        )
        out.append([{"eu": round(scale * shape * rng.uniform(0.85, 1.15) / per_hour, 3)}])
    return out


def _usage(data: dict[str, list[dict[str, Any]]]) -> None:
    rng = random.Random(20250101)
    elec = {
        "id": "net",
        "type": "electric_usage",
        "units": "kWh",
        "direction": "net",
        "quality": "revenue",
    }
    plans = [
        # (meter, account, contract, service point, aggregations, days, steps per day, scale)
        (
            "md-elec-01",
            "acct-res-01",
            "sc-elec-01",
            "sp-elec-01",
            ["agg-building-42-main"],
            365,
            96,
            1.0,
        ),
        (
            "md-elec-02",
            "acct-res-02",
            "sc-elec-02",
            "sp-elec-02",
            ["agg-building-42-main"],
            31,
            24,
            0.8,
        ),
        (
            "md-elec-03",
            "acct-com-01",
            "sc-elec-03",
            "sp-elec-03",
            ["agg-commercial-springfield"],
            31,
            96,
            3.5,
        ),
    ]
    for meter, acct, contract, sp, aggs, days, steps, scale in plans:
        for d in range(days):
            day = datetime(YEAR, 1, 1, tzinfo=UTC) + timedelta(days=d)
            related = {
                "aggregations": aggs,
                "accounts": [acct],
                "servicecontracts": [contract],
                "servicepoints": [sp],
                "meterdevices": [meter],
                "billsections": [f"sec-{contract}-{day.month:02d}"],
            }
            fmt = {**elec, "related_meterdevices": [meter]}
            data["usage_segments"].append(
                _segment(
                    f"us-{meter}-{day:%Y%m%d}",
                    day,
                    day + timedelta(days=1),
                    86400 // steps,
                    fmt,
                    _electric_day(rng, day, steps, scale * 24 / 12),
                    related,
                )
            )
    gas = {
        "id": "gas",
        "type": "natural_gas_usage",
        "units": "therm",
        "quality": "revenue",
        "related_meterdevices": ["md-gas-01"],
    }
    for month in range(1, 13):
        start = datetime(YEAR, month, 1, tzinfo=UTC)
        end = datetime(YEAR + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
        related = {
            "aggregations": ["agg-building-42-main"],
            "accounts": ["acct-res-01"],
            "servicecontracts": ["sc-gas-01"],
            "servicepoints": ["sp-gas-01"],
            "meterdevices": ["md-gas-01"],
            "billsections": [f"sec-sc-gas-01-{month:02d}"],
        }
        values = [[{"gu": _monthly_usage("natural_gas", month, 1.0)}]]
        data["usage_segments"].append(
            _segment(
                f"us-md-gas-01-{start:%Y%m}",
                start,
                end,
                int((end - start).total_seconds()),
                gas,
                values,
                related,
            )
        )


def _eacs(data: dict[str, list[dict[str, Any]]]) -> None:
    data["eacs"] += [
        {
            "cds_eac_id": "eac-2025-h1-general",
            **_meta("2025-07-15T00:00:00Z", "2025-07-15T00:00:00Z"),
            "beneficiary_type": "general",
            "beneficiaries": [],
            "eac_numbers": ["REC-2025-000111"],
            "eac_format": "sandbox-eac-json",
            "eac_data_url": f"{HERE}/sample-eacs/eac-2025-h1-general.json",
            "period_start": "2025-01-01T00:00:00Z",
            "period_end": "2025-07-01T00:00:00Z",
        },
        {
            "cds_eac_id": "eac-2025-bakery-solar",
            **_meta("2025-10-01T00:00:00Z", "2025-10-01T00:00:00Z"),
            "beneficiary_type": "account",
            "beneficiaries": ["acct-com-01"],
            "eac_numbers": ["REC-2025-000222", "REC-2025-000223"],
            "eac_format": "sandbox-eac-json",
            "eac_data_url": f"{HERE}/sample-eacs/eac-2025-bakery-solar.json",
            "period_start": "2025-04-01T00:00:00Z",
            "period_end": "2025-10-01T00:00:00Z",
        },
    ]


#: Files the Server shares with every Client registered for Server-Provided Files.
FILES = [
    {
        "file_id": "file-sandbox-readme",
        "created": "2025-01-02T00:00:00Z",
        "modified": "2025-06-01T00:00:00Z",
        "mime_type": "text/plain",
        "name": "sandbox-readme.txt",
        "description": "How the sandbox customers and their data are laid out.",
        "content": (
            b"cdsgen reference Server sandbox\n"
            b"Customers: Alex Rivera (1000-2345-01), Blake Chen (1000-5678-01),\n"
            b"Northwind Bakery LLC (2000-1111-01). All data is fictional.\n"
        ),
    },
    {
        "file_id": "file-interval-sample",
        "created": "2025-02-01T00:00:00Z",
        "modified": "2025-02-01T00:00:00Z",
        "mime_type": "text/csv",
        "name": "interval-sample-2025-01-01.csv",
        "description": "",
        "content": (
            b"meter_number,start,kwh\n"
            b"E7000123,2025-01-01T00:00:00Z,0.12\n"
            b"E7000123,2025-01-01T00:15:00Z,0.11\n"
        ),
    },
]
