"""What the reference Server offers: its scopes, their Scope Descriptions, and its metadata.

The scope descriptions are built from the generated scope rules (``cds_server.SCOPE_TYPES``
and ``cds_server.AUTHORIZATION_DETAILS_FIELDS``): every field a scope type requires, plus the
conditional ones this Server has data for. Every URL is built from the requesting host.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cds_models import AuthorizationDetailsFieldFormats
from cds_server import AUTHORIZATION_DETAILS_FIELDS, SCOPE_TYPES

CLIENT_ADMIN = "cds_client_admin"
GRANT_ADMIN = "cds_grant_admin_1"
SERVER_PROVIDED_FILES = "cds_server_provided_files_1"
TIMEZONE = "Etc/UTC"
COVERAGE_ID = "sandbox-customers"
CREATED = "2025-01-01T00:00:00Z"

#: Scope types offered, besides the admin ones: every customer-consent scope except the
#: aggregation-inclusion one (it adds a Customer to an aggregation rather than sharing data),
#: and every direct-access scope.
DATA_SCOPE_TYPES = (
    "cds_rate_plan",
    "cds_account_programs",
    "cds_service_programs",
    "cds_accounts",
    "cds_service_contracts",
    "cds_meters",
    "cds_bill_statements",
    "cds_service_bills",
    "cds_usage",
    "cds_query_accounts",
    "cds_query_service_contracts",
    "cds_query_service_points",
    "cds_query_meter_devices",
    "cds_query_bill_statements",
    "cds_query_bill_sections",
    "cds_query_aggregations",
    "cds_query_usage",
)

#: Conditional fields this Server supports (it has the data for them); ``addresses`` and the
#: program preselections of other scopes are left out.
SUPPORTED_CONDITIONAL = frozenset(
    {
        "account_numbers",
        "contract_numbers",
        "servicepoint_numbers",
        "meter_numbers",
        "include_accounts",
        "include_account_numbers",
        "include_account_details",
        "include_account_programs",
        "include_service_contracts",
        "include_contract_numbers",
        "include_rate_plans",
        "include_service_contract_details",
        "include_service_programs",
        "include_service_points",
        "include_premises",
        "include_service_point_addresses",
        "include_coordinates",
        "include_meter_devices",
        "include_meter_numbers",
        "include_meter_apps",
        "include_bill_statements",
        "include_bill_statement_files",
        "include_bill_statement_charges",
        "include_bill_statement_programs",
        "include_bill_section_line_items",
        "include_aggregations",
        "include_aggregation_addresses",
        "include_bill_sections",
    }
)

#: ``include_*`` fields that fill OPTIONAL fields of each kind's objects (CDS-WG3-01 §7.2.x.y).
_ACCOUNT_FIELDS = ("include_account_numbers", "include_account_details", "include_account_programs")
_CONTRACT_FIELDS = (
    "include_contract_numbers",
    "include_rate_plans",
    "include_service_contract_details",
    "include_service_programs",
)

#: Extra fields offered beyond the documents' lists (allowed by CDS-WG3-01 §6): the direct
#: access scopes can be narrowed by the usual preselections, choose the optional fields of
#: what they share and when their Grant expires, and usage scopes share EACs.
EXTRA_FIELDS = {
    "cds_query_accounts": ("account_numbers", *_ACCOUNT_FIELDS, "expires"),
    "cds_query_service_contracts": (
        "account_numbers",
        "contract_numbers",
        *_ACCOUNT_FIELDS,
        *_CONTRACT_FIELDS,
        "expires",
    ),
    "cds_query_service_points": (
        "account_numbers",
        "servicepoint_numbers",
        "include_premises",
        "include_service_point_addresses",
        "include_coordinates",
        "expires",
    ),
    "cds_query_meter_devices": (
        "account_numbers",
        "meter_numbers",
        "include_meter_numbers",
        "include_meter_apps",
        "expires",
    ),
    "cds_query_bill_statements": (
        "account_numbers",
        "include_bill_statement_files",
        "include_bill_statement_charges",
        "include_bill_statement_programs",
        "expires",
    ),
    "cds_query_bill_sections": (
        "account_numbers",
        "contract_numbers",
        "include_bill_section_line_items",
        "expires",
    ),
    "cds_query_aggregations": ("account_numbers", "include_aggregation_addresses", "expires"),
    "cds_query_usage": (
        "account_numbers",
        "meter_numbers",
        "include_usage_segment_value_types",
        "include_eacs",
        "expires",
    ),
    "cds_usage": ("include_eacs",),
}

#: The Authorization Details Field formats the generated models know. CDS-WG3-01 uses list
#: formats it never defines (errata ``wg3-01-format-*-undefined``); until the source declares
#: them, this Server publishes the nearest defined format instead, so that its metadata stays
#: strictly valid.
KNOWN_FORMATS = frozenset(f.value for f in AuthorizationDetailsFieldFormats)
FORMAT_STAND_INS = {
    "string_list_or_null": "string_list",
    "choice_list_or_null": "string_list",
    "choice_or_null": "choice",
}

#: Selections the consent page can render: choice id → the kind of object the Customer picks.
SELECTIONS = {
    "account_selection": "accounts",
    "service_contract_selection": "service_contracts",
    "servicepoint_selection": "service_points",
    "meter_device_selection": "meter_devices",
}

#: Value types of usage the Server offers, as Value Formats (for the value-type choices).
USAGE_FORMATS = {
    "electric_usage": {"id": "net", "type": "electric_usage", "units": "kWh", "direction": "net"},
    "natural_gas_usage": {"id": "gas", "type": "natural_gas_usage", "units": "therm"},
}

#: Duration fields whose relative values count back in time (CDS-WG3-01 §7.3).
BACKWARD_DURATIONS = frozenset({"statement_date_start", "start_date", "segment_start"})


@dataclass(frozen=True)
class OfferedScope:
    """One scope id this Server offers, and its type."""

    id: str
    type: str

    @property
    def category(self) -> str:
        return SCOPE_TYPES[self.type].category

    @property
    def grant_types(self) -> list[str]:
        return {
            "admin": ["client_credentials"],
            "customer_consent": ["authorization_code", "refresh_token"],
            "direct_access": ["client_credentials"],
            "server_provided_files": [],
        }[self.category]

    @property
    def response_types(self) -> list[str]:
        return ["code"] if self.category == "customer_consent" else []

    @property
    def auth_method(self) -> str | None:
        return None if self.category == "server_provided_files" else "client_secret_basic"

    @property
    def grant_admin_scope(self) -> str | None:
        return None if self.category == "admin" else GRANT_ADMIN

    @property
    def kind(self) -> tuple[tuple[str, ...], tuple[str, ...], str | None]:
        """Scopes of the same kind share a Client Object (CDS-WG1-02 §4.2)."""
        return (tuple(self.response_types), tuple(self.grant_types), self.auth_method)

    def selections(self) -> list[str]:
        """The Selection choices its description offers (customer-consent scopes); the first
        is the default the consent page renders."""
        if self.category != "customer_consent":
            return []
        rules = SCOPE_TYPES[self.type]
        if rules.selections_required:
            return list(rules.selections_required)
        allowed = rules.selections_allowed or tuple(SELECTIONS)
        return [next(c for c in allowed if c in SELECTIONS)]

    def field_ids(self) -> list[str]:
        """The authorization details fields of its Scope Description."""
        if self.type == "cds_client_admin":
            return []
        if self.type == "cds_grant_admin":
            return ["client_id", "grant_id"]
        if self.type == "cds_server_provided_files":
            return ["file_id"]
        rules = SCOPE_TYPES[self.type]
        ids = list(rules.required_fields)
        for choice in self.selections():
            ids += rules.selection_fields.get(choice, ())
        ids += [f for f in rules.conditional_fields if f in SUPPORTED_CONDITIONAL]
        ids += EXTRA_FIELDS.get(self.type, ())
        return list(dict.fromkeys(ids))


SCOPES: dict[str, OfferedScope] = {
    s.id: s
    for s in [
        OfferedScope(CLIENT_ADMIN, "cds_client_admin"),
        OfferedScope(GRANT_ADMIN, "cds_grant_admin"),
        OfferedScope(SERVER_PROVIDED_FILES, "cds_server_provided_files"),
        *(OfferedScope(f"{t}_1", t) for t in DATA_SCOPE_TYPES),
    ]
}


def field_default(scope: OfferedScope, field_id: str) -> tuple[bool, Any]:
    """``(has_default, default)`` of a field in a scope's description."""
    rules = AUTHORIZATION_DETAILS_FIELDS[field_id]
    if field_id in ("client_id", "grant_id", "file_id"):
        return False, None
    if rules.category == "included_data":
        return (False, None) if field_id == "include_usage_segment_value_types" else (True, True)
    if rules.category == "duration":
        return True, "infinite"
    if field_id == "authorization_form_selection_type":
        return True, scope.selections()[0]
    if field_id in ("merge_selection_with", "jwk"):
        return True, None
    if field_id in ("error_if_no_preselections", "allow_scope_modifications"):
        return True, False
    return False, None  # preselections: none unless the Client names some


def field_format(field_id: str) -> str:
    rules = AUTHORIZATION_DETAILS_FIELDS[field_id]
    for fmt in rules.formats:
        if fmt in KNOWN_FORMATS:
            return fmt
    return FORMAT_STAND_INS[rules.formats[0]]


def field_object(base: str, scope: OfferedScope, field_id: str) -> dict[str, Any]:
    """The Authorization Details Field object of ``field_id`` in ``scope``."""
    rules = AUTHORIZATION_DETAILS_FIELDS[field_id]
    fmt = field_format(field_id)
    obj: dict[str, Any] = {
        "id": field_id,
        "name": rules.name,
        "description": _FIELD_DESCRIPTIONS.get(
            field_id, f"{rules.name}, as the documents define it."
        ),
        "documentation": rules.url,
        "for_types": [scope.id],
        "format": fmt,
        "is_required": field_id in ("client_id", "grant_id", "file_id"),
    }
    has_default, default = field_default(scope, field_id)
    if has_default:
        obj["default"] = default
    if fmt in ("string", "string_or_null", "string_list", "int", "decimal"):
        obj["maximum"], obj["minimum"] = 1000, 1
    elif fmt == "relative_or_absolute_datetime":
        obj["maximum"], obj["minimum"] = "infinite", "PT0S"
    elif fmt == "relative_or_absolute_date":
        obj["maximum"], obj["minimum"] = "infinite", "P0D"
    if field_id == "authorization_form_selection_type":
        obj["choices"] = [
            _choice(
                base,
                c,
                c.replace("_", " ").capitalize(),
                f"The Customer picks {SELECTIONS[c].replace('_', ' ')}.",
            )
            for c in scope.selections()
        ]
    elif field_id == "include_usage_segment_value_types":
        obj["choices"] = [
            {
                **_choice(base, t, t.replace("_", " ").capitalize(), f"Usage values of type {t}."),
                "usagesegment_format": fmt_,
            }
            for t, fmt_ in USAGE_FORMATS.items()
        ]
    return obj


_FIELD_DESCRIPTIONS = {
    "client_id": "The Client Object identifier for which the Grant is issued.",
    "grant_id": "The Grant identifier for which the returned access_token will be given access.",
    "file_id": (
        "A file provided by the Server that may be accessed by the Client as part of the Grant."
    ),
}


def _choice(base: str, choice_id: str, name: str, description: str) -> dict[str, Any]:
    return {
        "id": choice_id,
        "name": name,
        "description": description,
        "documentation": f"{base}/docs#choice-{choice_id}",
    }


def scope_description(base: str, scope: OfferedScope) -> dict[str, Any]:
    rules = SCOPE_TYPES[scope.type]
    admin_descriptions = {
        "cds_client_admin": (
            "This scope grants administrative access to the Client management APIs."
        ),
        "cds_grant_admin": "This scope grants administrative access to previously created Grants.",
        "cds_server_provided_files": (
            "This scope grants access to specific files that the Server wants make available "
            "to the Client."
        ),
    }
    return {
        "id": scope.id,
        "type": scope.type,
        "name": "Server-Provided Files"
        if scope.type == "cds_server_provided_files"
        else rules.name,
        "description": admin_descriptions.get(
            scope.type,
            f"Sandbox access of type {scope.type} ({rules.name}) to the fictional customers.",
        ),
        "documentation": rules.url,
        "registration_requirements": [],
        "registration_optional": [],
        "response_types_supported": scope.response_types,
        "grant_types_supported": scope.grant_types,
        "token_endpoint_auth_methods_supported": [scope.auth_method] if scope.auth_method else [],
        "code_challenge_methods_supported": ["S256"]
        if "authorization_code" in scope.grant_types
        else [],
        "coverages_supported": [COVERAGE_ID]
        if scope.category in ("customer_consent", "direct_access")
        else [],
        "grant_admin_scope": scope.grant_admin_scope,
        # the scope id is the RAR type of its entries (CDS-WG1-02 §3.4); CDS-WG3-01 §6 also
        # lists the ids of the fields there (erratum wg3-01-scopes-field-ids-as-types)
        "authorization_details_types_supported": (
            []
            if scope.type == "cds_client_admin"
            else [scope.id, *scope.field_ids()]
            if scope.category in ("customer_consent", "direct_access")
            else [scope.id]
        ),
        "authorization_details_fields_supported": [
            field_object(base, scope, f) for f in scope.field_ids()
        ],
    }


def urls(base: str) -> dict[str, str]:
    """Every URL the metadata objects name, on the requesting host."""
    return {
        "server_metadata": f"{base}/.well-known/cds-server-metadata.json",
        "coverage": f"{base}/cds-coverage.json",
        "oauth_metadata": f"{base}/.well-known/oauth-authorization-server",
        "website": f"{base}/",
        "documentation": f"{base}/docs",
        "support": f"{base}/docs#support",
        "registration_endpoint": f"{base}/oauth/register",
        "human_registration": f"{base}/docs#registration",
        "test_accounts": f"{base}/docs#test-accounts",
        "policy": f"{base}/docs#policy",
        "terms": f"{base}/docs#terms",
    }


def server_metadata(
    base: str, oauth_metadata: str | None = None, metadata_url: str | None = None
) -> dict[str, Any]:
    u = urls(base)
    return {
        "cds_metadata_version": "v1",
        "cds_metadata_url": metadata_url or u["server_metadata"],
        "created": CREATED,
        "updated": CREATED,
        "name": "cdsgen Reference Server",
        "description": "A sandbox CDS Server with fictional customers, built from the CDS source.",
        "website": u["website"],
        "documentation": u["documentation"],
        "support": u["support"],
        "capabilities": ["coverage", "oauth"],
        "coverage": u["coverage"],
        "oauth_metadata": oauth_metadata or u["oauth_metadata"],
    }


def coverage_entries() -> list[dict[str, Any]]:
    return [
        {
            "id": COVERAGE_ID,
            "created": CREATED,
            "updated": CREATED,
            "entity_name": "Demo Power & Gas",
            "entity_abbreviation": "DPG",
            "country": "US",
            "name": "Sandbox customers of Demo Power & Gas",
            "description": "Fictional customers for testing Clients.",
            "type": "logical",
            "role": "official",
            "infrastructure_types": ["distribution_utility", "supplier"],
            "commodity_types": ["electricity", "natural_gas"],
            "capabilities": ["coverage", "oauth"],
        }
    ]


DATA_APIS = {
    "cds_accounts_api": "/cds-customerdata-api/v1/accounts",
    "cds_servicecontracts_api": "/cds-customerdata-api/v1/service-contracts",
    "cds_servicepoints_api": "/cds-customerdata-api/v1/service-points",
    "cds_meterdevices_api": "/cds-customerdata-api/v1/meter-devices",
    "cds_billstatement_api": "/cds-customerdata-api/v1/bill-statements",
    "cds_billsection_api": "/cds-customerdata-api/v1/bill-sections",
    "cds_aggregations_api": "/cds-customerdata-api/v1/aggregations",
    "cds_usagesegments_api": "/cds-customerdata-api/v1/usage-segments",
    "cds_eacs_api": "/cds-customerdata-api/v1/eacs",
}

#: Where the OAuth endpoints of Client Objects with customer-data scopes live (their own
#: ``oauth_metadata`` names them); Client Admin and Grant Admin tokens come from the root.
CUSTOMER_DATA_OAUTH_PREFIX = "/cds-customerdata"


def authorization_server_metadata(
    base: str, oauth_prefix: str = "", scopes: Iterable[OfferedScope] | None = None
) -> dict[str, Any]:
    u = urls(base)
    offered = list(scopes if scopes is not None else SCOPES.values())
    oauth = base + oauth_prefix
    meta: dict[str, Any] = {
        "issuer": base,
        "authorization_endpoint": f"{oauth}/oauth/authorize",
        "token_endpoint": f"{oauth}/oauth/token",
        "registration_endpoint": u["registration_endpoint"],
        "scopes_supported": [s.id for s in offered],
        "response_types_supported": sorted({r for s in offered for r in s.response_types}),
        "grant_types_supported": ["client_credentials", "authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "service_documentation": u["documentation"],
        "op_policy_uri": u["policy"],
        "op_tos_uri": u["terms"],
        "revocation_endpoint": f"{oauth}/oauth/token/revoke",
        "introspection_endpoint": f"{oauth}/oauth/token/info",
        "code_challenge_methods_supported": ["S256"],
        "authorization_details_types_supported": sorted(
            {
                t
                for s in offered
                for t in scope_description(base, s)["authorization_details_types_supported"]
            }
        ),
        "pushed_authorization_request_endpoint": f"{oauth}/oauth/par",
        "cds_oauth_version": "v1",
        "cds_human_registration": u["human_registration"],
        "cds_timezone": TIMEZONE,
        "cds_clients_api": f"{base}/cds-api/v1/clients",
        "cds_messages_api": f"{base}/cds-api/v1/messages",
        "cds_credentials_api": f"{base}/cds-api/v1/credentials",
        "cds_grants_api": f"{base}/cds-api/v1/grants",
        "cds_server_provided_files_api": f"{base}/cds-api/v1/server-provided-files",
        "cds_test_accounts": u["test_accounts"],
        "cds_scope_descriptions": {s.id: scope_description(base, s) for s in offered},
        "cds_registration_fields": {},
        "cds_customerdata_version": "v1",
        **{field: base + path for field, path in DATA_APIS.items()},
        "cds_usagesegments_additional_value_types": {},
        "cds_eac_formats": {
            "sandbox-eac-json": {
                "id": "sandbox-eac-json",
                "name": "Sandbox EAC JSON",
                "description": "A small JSON document describing the certificate (fictional).",
                "documentation": f"{base}/docs#eac-format",
            }
        },
    }
    return meta


#: Stored documents name the Server's own URLs relative to this marker; responses replace it
#: with the host the Client asked (see :func:`localize`).
HERE = "cdsgen-here:"


def localize(value: Any, base: str) -> Any:
    """``value`` with every string that starts with :data:`HERE` made absolute on ``base``."""
    if isinstance(value, str):
        return base + value[len(HERE) :] if value.startswith(HERE) else value
    if isinstance(value, list):
        return [localize(v, base) for v in value]
    if isinstance(value, dict):
        return {k: localize(v, base) for k, v in value.items()}
    return value
