"""CDS-WG1-01 metadata and coverage; CDS-WG1-02 authorization server metadata and scope
descriptions."""

from __future__ import annotations

from urllib.parse import urlsplit

from cdsgen.scope_rules import check_scope_descriptions

from cds_conformance.model import Check
from cds_conformance.runner import WELL_KNOWN, Run, Unavailable

W1, W2 = "cds-wg1-01", "cds-wg1-02"
METADATA_FETCH = Check(
    "wg1-01.metadata.fetch",
    "discovery",
    W1,
    "metadata-well-known-uri",
    "MUST",
    f"GET {WELL_KNOWN} answers 200 with JSON",
)
METADATA_STRICT = Check(
    "wg1-01.metadata.strict",
    "discovery",
    W1,
    "metadata-object-format",
    "MUST",
    "the server metadata is a valid Metadata Object",
)
METADATA_SELF = Check(
    "wg1-01.metadata.self-url",
    "discovery",
    W1,
    "metadata-endpoint-organization",
    "MUST",
    "cds_metadata_url is the URL the metadata was fetched from",
)
METADATA_URLS = Check(
    "wg1-01.metadata.urls-answer",
    "discovery",
    W1,
    "metadata-object-format",
    "SHOULD",
    "every page the server and authorization server metadata advertise answers",
)
COVERAGE_STRICT = Check(
    "wg1-01.coverage.strict",
    "discovery",
    W1,
    "coverage-listing-format",
    "MUST",
    "the coverage listing and its entries are valid",
)
COVERAGE_FILTER = Check(
    "wg1-01.coverage.filter-ids",
    "discovery",
    W1,
    "coverage-listing-filters",
    "MUST",
    "the coverage `ids` filter returns exactly the entries asked for",
)
OAUTH_STRICT = Check(
    "wg1-02.oauth-metadata.strict",
    "discovery",
    W2,
    "auth-server-metadata-format",
    "MUST",
    "the authorization server metadata is valid",
)
OAUTH_ISSUER = Check(
    "wg1-02.oauth-metadata.issuer",
    "discovery",
    W2,
    "auth-server-metadata-url",
    "MUST",
    "the issuer is the issuer identifier the metadata URL was made from (RFC 8414 section 3.3)",
)
SCOPE_RULES = Check(
    "wg1-02.scope-descriptions.rules",
    "scopes",
    W2,
    "scope-descriptions-format",
    "MUST",
    "every scope description keeps its scope type's and authorization details fields' rules",
)
SCOPE_COMPLETE = Check(
    "wg1-02.scope-descriptions.complete",
    "scopes",
    W2,
    "scope-descriptions-format",
    "MUST",
    "every supported scope has a description under its own id",
)

CHECKS = [
    METADATA_FETCH,
    METADATA_STRICT,
    METADATA_SELF,
    METADATA_URLS,
    COVERAGE_STRICT,
    COVERAGE_FILTER,
    OAUTH_STRICT,
    OAUTH_ISSUER,
    SCOPE_RULES,
    SCOPE_COMPLETE,
]

#: Server metadata fields that are links for people (answering is a SHOULD).
_URL_FIELDS = ("website", "documentation", "support", "coverage", "oauth_metadata")
#: Authorization server metadata fields that are pages for people.
_OAUTH_PAGES = ("service_documentation", "op_policy_uri", "op_tos_uri", "cds_human_registration")


def run(run: Run) -> None:
    with run.checking(METADATA_FETCH) as c:
        if c:
            r = run.http.get(run.metadata_url)
            c.status(r, 200, what=f"GET {WELL_KNOWN}")
            c.expect(
                r.headers.get("content-type", "").startswith("application/json"),
                f"content type {r.headers.get('content-type')!r}, expected application/json",
            )
            c.expect(isinstance(c.json(r), dict), "the metadata is not a JSON object")
    with run.checking(METADATA_STRICT) as c:
        if c:
            problems = c.strict("ServerMetadata", run.metadata, what="server metadata")
            c.expect(not problems, "; ".join(problems))
    with run.checking(METADATA_SELF) as c:
        if c:
            given = run.metadata.get("cds_metadata_url")
            c.expect(
                given == run.metadata_url,
                f"cds_metadata_url is {given!r}, fetched from {run.metadata_url!r}",
            )
    with run.checking(METADATA_URLS) as c:
        if c:
            seen = set()
            for name in _URL_FIELDS:
                url = run.metadata.get(name)
                if not isinstance(url, str):
                    continue
                page = url.split("#", 1)[0]
                if page in seen:
                    continue
                seen.add(page)
                r = run.http.get(page)
                if r.status_code >= 400:
                    c.warn(f"{name} ({page}) answered {r.status_code}")
            try:
                oauth_meta = run.oauth
            except Unavailable:
                oauth_meta = {}
            for name in _OAUTH_PAGES:
                url = oauth_meta.get(name)
                page = url.split("#", 1)[0] if isinstance(url, str) else None
                if page and page not in seen:
                    seen.add(page)
                    r = run.http.get(page)
                    if r.status_code >= 400:
                        c.warn(f"{name} ({page}) answered {r.status_code}")
    capabilities = run.metadata.get("capabilities") if _ok(run) else None
    capabilities = capabilities if isinstance(capabilities, list) else []
    if "coverage" in capabilities:
        coverage(run)
    else:
        for check in (COVERAGE_STRICT, COVERAGE_FILTER):
            run.skip(check, "the Server does not advertise the `coverage` capability")
    if "oauth" in capabilities:
        oauth(run)
    else:
        for check in (OAUTH_STRICT, OAUTH_ISSUER):
            run.skip(check, "the Server does not advertise the `oauth` capability")


def _ok(run: Run) -> bool:
    try:
        _ = run.metadata
    except Exception:
        return False
    return True


def coverage(run: Run) -> None:
    entries: list = []
    with run.checking(COVERAGE_STRICT) as c:
        if c:
            r = run.http.get(run.metadata["coverage"])
            c.status(r, 200, what="coverage")
            body = c.json(r)
            problems = c.strict("CoverageListing", body, what="coverage listing")
            c.expect(not problems, "; ".join(problems))
            entries = body.get("coverage_entries") or []
    with run.checking(COVERAGE_FILTER) as c:
        if c:
            if not entries:
                body = run.get_json(run.metadata["coverage"], "coverage")
                entries = body.get("coverage_entries") or []
            if not entries:
                c.skip("the coverage listing is empty")
            wanted = entries[-1]["id"]
            r = run.http.get(run.metadata["coverage"], params={"ids": wanted})
            c.status(r, 200, what="coverage?ids=")
            got = [e.get("id") for e in c.json(r).get("coverage_entries") or []]
            c.expect(got == [wanted], f"ids={wanted} gave entries {got}")
            r = run.http.get(run.metadata["coverage"], params={"ids": "cds-conformance-none"})
            got = [e.get("id") for e in c.json(r).get("coverage_entries") or []]
            c.expect(got == [], f"an unknown id gave entries {got}")


def oauth(run: Run) -> None:
    with run.checking(OAUTH_STRICT) as c:
        if c:
            problems = c.strict(
                "AuthorizationServerMetadata", run.oauth, what="authorization server metadata"
            )
            c.expect(not problems, "; ".join(problems))
    with run.checking(OAUTH_ISSUER) as c:
        if c:
            issuer = run.oauth.get("issuer")
            c.expect(isinstance(issuer, str), "no issuer")
            url = run.metadata["oauth_metadata"]
            expected = issuer_identifier(url)
            if expected is not None:
                c.expect(
                    issuer == expected,
                    f"issuer {issuer!r} is not {expected!r}, the issuer identifier {url} was "
                    "made from; RFC 8414 section 3.3 wants the two identical",
                )
            else:
                a, b = urlsplit(issuer), urlsplit(url)
                c.expect(
                    (a.scheme, a.netloc) == (b.scheme, b.netloc),
                    f"issuer {issuer} is not the origin of {url}",
                )


#: RFC 8414 section 3.1: the well-known path goes between the issuer's origin and its path
OAUTH_WELL_KNOWN = "/.well-known/oauth-authorization-server"


def issuer_identifier(metadata_url: str) -> str | None:
    """The issuer identifier a metadata URL at the RFC 8414 well-known path was made from
    (``https://example.com/.well-known/oauth-authorization-server/tenant`` comes from
    ``https://example.com/tenant``), or ``None`` for a URL elsewhere, which RFC 8414 leaves
    to the Server (then only the origins must agree)."""
    parts = urlsplit(metadata_url)
    path = parts.path
    if path != OAUTH_WELL_KNOWN and not path.startswith(OAUTH_WELL_KNOWN + "/"):
        return None
    return f"{parts.scheme}://{parts.netloc}{path[len(OAUTH_WELL_KNOWN) :]}"


def run_scopes(run: Run) -> None:
    try:
        oauth_meta = run.oauth
    except Exception as exc:
        for check in (SCOPE_RULES, SCOPE_COMPLETE):
            run.skip(check, f"cannot run: {exc}")
        return
    with run.checking(SCOPE_RULES) as c:
        if c:
            violations = check_scope_descriptions(run.rules.spec, oauth_meta)
            c.expect(not violations, "; ".join(str(v) for v in violations[:10]))
    with run.checking(SCOPE_COMPLETE) as c:
        if c:
            descriptions = oauth_meta.get("cds_scope_descriptions") or {}
            for sid in oauth_meta.get("scopes_supported") or []:
                d = descriptions.get(sid)
                if not isinstance(d, dict):
                    c.fail(f"scope {sid} has no description")
                c.expect(d.get("id") == sid, f"the description of {sid} has id {d.get('id')!r}")
