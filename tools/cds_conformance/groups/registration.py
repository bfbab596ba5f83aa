"""CDS-WG1-02 registration and the Clients → Credentials → client-specific metadata path."""

from __future__ import annotations

from cds_conformance.model import Check
from cds_conformance.runner import Run, Unavailable, bearer

W2 = "cds-wg1-02"
RESPONSE = Check(
    "wg1-02.registration.response",
    "registration",
    W2,
    "registration-response",
    "MUST",
    "registration answers 201 with a valid Client Registration Response and a secret",
)
CLIENTS_LIST = Check(
    "wg1-02.clients.list",
    "registration",
    W2,
    "clients-list",
    "MUST",
    "the Clients API lists valid Client Objects, the registered one among them",
)
CLIENTS_GET = Check(
    "wg1-02.clients.get",
    "registration",
    W2,
    "clients-get",
    "MUST",
    "each Client Object's cds_client_uri answers with that same object",
)
CREDENTIALS = Check(
    "wg1-02.credentials.list",
    "registration",
    W2,
    "credentials-list",
    "MUST",
    "the Credentials API has a valid secret for every Client Object that authenticates",
)
CLIENT_METADATA = Check(
    "wg1-02.clients.server-metadata",
    "registration",
    W2,
    "client-format",
    "MUST",
    "each Client Object's cds_server_metadata and its oauth_metadata are valid",
)
GRANTS = Check(
    "wg1-02.grants.list",
    "registration",
    W2,
    "grants-list",
    "MUST",
    "the Grants API lists valid Grants of this Client only",
)
MESSAGES = Check(
    "wg1-02.messages.list",
    "registration",
    W2,
    "messages-list",
    "MUST",
    "the Messages API lists valid Messages",
)
ADMIN_UNAUTHENTICATED = Check(
    "wg1-02.admin-apis.unauthenticated",
    "registration",
    W2,
    "restricted-access",
    "MUST",
    "the Clients, Credentials, Grants and Messages APIs answer 401 with WWW-Authenticate "
    "without a token or with a bad one",
)
ADMIN_WRONG_SCOPE = Check(
    "wg1-02.admin-apis.wrong-scope",
    "registration",
    W2,
    "scopes-client-admin",
    "MUST",
    "a customer-data token opens none of the Client Admin APIs (403)",
)
CHECKS = [
    RESPONSE,
    CLIENTS_LIST,
    CLIENTS_GET,
    CREDENTIALS,
    CLIENT_METADATA,
    GRANTS,
    MESSAGES,
    ADMIN_UNAUTHENTICATED,
    ADMIN_WRONG_SCOPE,
]
ADMIN_APIS = ("cds_clients_api", "cds_credentials_api", "cds_grants_api", "cds_messages_api")


def run(run: Run) -> None:
    with run.checking(RESPONSE) as c:
        if c:
            try:
                reg = run.registration
            except Unavailable:
                if "registration" not in run.responses:
                    raise
            else:
                if not reg.get("registered"):
                    c.skip("registration is not open: the given client credentials are used")
            r = run.responses["registration"]
            c.status(r, 201, what="registration")
            c.expect("json" in r.headers.get("content-type", ""), "the response is not JSON")
            body = c.json(r, what="registration")
            problems = c.strict("ClientRegistrationResponse", body, what="registration")
            c.expect(not problems, "; ".join(problems))
            c.expect(body.get("client_secret"), "the registration response has no client_secret")
    with run.checking(CLIENTS_LIST) as c:
        if c:
            r = run.admin_get(run.oauth["cds_clients_api"])
            c.status(r, 200, what="Clients API")
            c.strict("ClientListing", c.json(r), what="client listing")
            ids = [x.get("client_id") for x in run.clients]
            c.expect(
                run.registration["client_id"] in ids,
                f"the Client Admin client {run.registration['client_id']} is not listed",
            )
    with run.checking(CLIENTS_GET) as c:
        if c:
            for client in run.clients:
                uri = client.get("cds_client_uri")
                c.expect(uri, f"{client.get('client_id')} has no cds_client_uri")
                r = run.admin_get(uri)
                c.status(r, 200, what=f"GET {uri}")
                got = c.json(r)
                c.strict("Client", got, what=uri)
                c.expect(
                    got.get("client_id") == client.get("client_id"),
                    f"{uri} answered client {got.get('client_id')}, listed as "
                    f"{client.get('client_id')}",
                )
    with run.checking(CREDENTIALS) as c:
        if c:
            api = run.oauth.get("cds_credentials_api")
            if not api:
                c.skip("no cds_credentials_api advertised")
            r = run.admin_get(api)
            c.status(r, 200, what="Credentials API")
            c.strict("ScopeCredentialListing", c.json(r), what="credential listing")
            creds = run.all_items(api, "credentials", run.admin_token)
            have = {x.get("client_id") for x in creds if x.get("client_secret")}
            for client in run.clients:
                if client.get("token_endpoint_auth_method") and client.get(
                    "client_id"
                ) != run.registration.get("client_id"):
                    c.expect(
                        client["client_id"] in have,
                        f"no credential with a secret for {client['client_id']}",
                    )
    with run.checking(CLIENT_METADATA) as c:
        if c:
            for client in run.clients:
                url = client.get("cds_server_metadata")
                if not url:
                    continue
                r = run.admin_get(url)
                c.status(r, 200, what=f"GET {url}")
                meta = c.json(r)
                c.strict("ServerMetadata", meta, what=url)
                r = run.admin_get(meta["oauth_metadata"])
                c.status(r, 200, what=f"GET {meta['oauth_metadata']}")
                c.strict(
                    "ClientAuthorizationServerMetadata", c.json(r), what=meta["oauth_metadata"]
                )
    _listing(run, GRANTS, "cds_grants_api", "GrantListing")
    _listing(run, MESSAGES, "cds_messages_api", "ClientMessageListing")
    with run.checking(ADMIN_UNAUTHENTICATED) as c:
        if c:
            apis = [run.oauth[a] for a in ADMIN_APIS if run.oauth.get(a)]
            if not apis:
                c.skip("no Client Admin API advertised")
            for api in apis:
                for label, headers in (
                    ("no token", {}),
                    ("a bad token", bearer("cds-conformance-not-a-token")),
                ):
                    r = run.http.get(api, headers=headers)
                    c.expect(r.status_code == 401, f"{api} with {label}: {r.status_code}")
                    c.expect(
                        r.headers.get("www-authenticate"), f"{api}: 401 without WWW-Authenticate"
                    )
    with run.checking(ADMIN_WRONG_SCOPE) as c:
        if c:
            scopes = run.direct_scopes()
            if not scopes:
                c.skip("no direct-access customer-data scope to get another token from")
            token = run.cc_token(scopes[0])["access_token"]
            for api in [run.oauth[a] for a in ADMIN_APIS if run.oauth.get(a)]:
                r = run.http.get(api, headers=bearer(token))
                c.expect(
                    r.status_code == 403,
                    f"{api} with a {scopes[0]} token: {r.status_code} instead of 403",
                )


def _listing(run: Run, check: Check, field: str, type_name: str) -> None:
    with run.checking(check) as c:
        if c:
            api = run.oauth.get(field)
            if not api:
                c.skip(f"no {field} advertised")
            r = run.http.get(api, headers=bearer(run.admin_token))
            c.status(r, 200, what=field)
            c.strict(type_name, c.json(r), what=field)
            if check is GRANTS:
                ours = {x.get("client_id") for x in run.clients}
                try:
                    items = run.all_items(api, "grants", run.admin_token)
                except Unavailable as exc:
                    c.fail(str(exc))
                others = [g for g in items if g.get("client_id") not in ours]
                c.expect(not others, f"{len(others)} Grant(s) of other Clients are listed")
