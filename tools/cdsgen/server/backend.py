"""The reference backend: every operation of the generated ``cds_server.Backend`` on SQLite.

Registration follows CDS-WG1-02 §4.2 and DESIGN.md: the response is the Client Admin object
with its secret; every other registered scope lives on Client Objects the Server creates
(grouped by response types, grant types and authentication method), whose secrets the
Client reads from the Credentials API and whose own ``cds_server_metadata`` →
``oauth_metadata`` names the token endpoint to use. Registrations are approved at once, in
the sandbox: direct-access scopes work immediately through ``client_credentials``, customer
consent scopes through the authorization code flow with PKCE and the consent page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import cds_models as m
from cds_server import (
    FIRST_PAGE,
    Accepted,
    AccessToken,
    Backend,
    ClientCredentials,
    FileDownload,
    Page,
    Redirect,
    RequestContext,
)
from cds_server.backend import ClientMessageListingPages
from cds_server.errors import (
    ContentTooLarge,
    InvalidAuthorizationDetails,
    InvalidClient,
    InvalidClientMetadata,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    InvalidToken,
    NotFound,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from cds_server.params import (
    AuthorizeQuery,
    ListAccountsQuery,
    ListAggregationsQuery,
    ListBillSectionsQuery,
    ListBillStatementsQuery,
    ListClientsQuery,
    ListCoverageQuery,
    ListCredentialsQuery,
    ListEnergyAttributeCertificatesQuery,
    ListGrantsQuery,
    ListMessagesQuery,
    ListMeterDevicesQuery,
    ListServerProvidedFilesQuery,
    ListServiceContractsQuery,
    ListServicePointsQuery,
    ListUsageSegmentsQuery,
)
from pydantic import AnyUrl

from cdsgen.server import access, catalog, details
from cdsgen.server.catalog import (
    CLIENT_ADMIN,
    CUSTOMER_DATA_OAUTH_PREFIX,
    GRANT_ADMIN,
    HERE,
    SCOPES,
    OfferedScope,
    localize,
)
from cdsgen.server.seed import FILES
from cdsgen.server.store import Store, dumps, loads
from cdsgen.server.vault import Vault

ACCESS_TOKEN_SECONDS = 3600
#: Refresh tokens expire unless used (and so rotated) within this time (RFC 9700 §4.14.2).
REFRESH_TOKEN_SECONDS = 30 * 24 * 3600
CODE_SECONDS = 600
PAR_SECONDS = 90
#: How often expired tokens and pending requests are deleted.
PURGE_SECONDS = 60
#: Largest total size of Message attachments (decoded); the documents require at least 10 MB.
ATTACHMENT_LIMIT = 12 * 1024 * 1024
#: Grant statuses under which the Grant gives no access (CDS-WG1-02 §8.2).
CLOSED_STATUSES = frozenset({"future", "disabled", "suspended", "revoked", "closed", "expired"})
#: Message types a Client may create, and the status the Server gives them (§6.9).
CLIENT_MESSAGE_STATUS = {
    "private_message": "complete",
    "client_submission": "complete",
    "production_request": "pending",
    "support_request": "pending",
    "grant_request": "pending",
}


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def stamp(t: datetime | None = None) -> str:
    return (t or now()).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id() -> str:
    return secrets.token_hex(8)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ReferenceBackend(Backend):
    """The sandbox Server: customer data from :mod:`cdsgen.server.seed`, state in ``store``."""

    def __init__(
        self,
        store: Store,
        sandbox: access.Sandbox,
        *,
        page_size: int = 100,
        vault: Vault | None = None,
    ):
        self.store = store
        self.sandbox = sandbox
        self.vault = vault or Vault.beside(store.path)
        self.page_size = page_size
        self._visibilities: dict[tuple, access.Visibility] = {}
        self._lock = threading.Lock()
        self._purged = 0.0

    # -- authentication ------------------------------------------------------------------------
    def scope_type(self, scope_id: str) -> str | None:
        scope = SCOPES.get(scope_id)
        return scope.type if scope else None

    def authenticate_token(self, ctx: RequestContext, token: str) -> AccessToken | None:
        row = (
            self.store.db()
            .execute(
                "SELECT client_id, scopes, grant_ids, expires_at, revoked FROM tokens "
                "WHERE hash = ? AND kind = 'access'",
                (digest(token),),
            )
            .fetchone()
        )
        if row is None or row[4] or (row[3] is not None and row[3] <= time.time()):
            return None
        client = self._client(row[0])
        if client is None or client["cds_status"] == "disabled":
            return None
        grant_ids = tuple(loads(row[2]))
        for grant_id in grant_ids:
            grant = self.store.get("grants", grant_id)
            if grant is None:
                return None
            current = as_of(grant[0], now())
            if current["status"] in CLOSED_STATUSES or not current["enabled_scope"]:
                return None
        return AccessToken(
            token=token, client_id=row[0], scopes=frozenset(loads(row[1])), grant_ids=grant_ids
        )

    def authenticate_client(self, ctx: RequestContext, credentials: ClientCredentials) -> bool:
        return self._credential_for(credentials) is not None

    def _credential_for(self, credentials: ClientCredentials) -> dict[str, Any] | None:
        client = self._client(credentials.client_id)
        if client is None or client["cds_status"] == "disabled":
            return None
        for cred in self.store.docs("credentials", owner=self._owner(credentials.client_id)):
            if cred["client_id"] != credentials.client_id or not _secret_valid(cred):
                continue
            secret = self._shown_credential(cred)["client_secret"]
            if hmac.compare_digest(secret.encode(), credentials.client_secret.encode()):
                return cred
        return None

    def _shown_credential(self, cred: dict[str, Any]) -> dict[str, Any]:
        """A stored credential with its secret decrypted (stored sealed, see :mod:`vault`)."""
        secret = self.vault.open(cred["client_secret"], cred["credential_id"])
        return {**cred, "client_secret": secret}

    @staticmethod
    def _caller(ctx: RequestContext) -> ClientCredentials:
        """The authenticated Client of a ``client_basic`` operation."""
        if ctx.client is None:
            raise InvalidClient("This endpoint needs HTTP Basic Client authentication.")
        return ctx.client

    @staticmethod
    def _bearer(ctx: RequestContext) -> AccessToken:
        """The access token of a ``bearer`` operation."""
        if ctx.token is None:
            raise InvalidToken("This endpoint needs a Bearer access token.", missing=True)
        return ctx.token

    def _credential_of(self, ctx: RequestContext) -> dict[str, Any]:
        """The credential the Client authenticated with (it may have expired since)."""
        credential = self._credential_for(self._caller(ctx))
        if credential is None:
            raise InvalidClient("Client authentication failed.")
        return credential

    # -- helpers -------------------------------------------------------------------------------
    def _client(self, client_id: str) -> dict[str, Any] | None:
        record = self.store.get("clients", client_id)
        return record[0] if record else None

    def _owner(self, client_id: str) -> str:
        record = self.store.get("clients", client_id)
        return record[1] if record else ""

    def _admin(self, ctx: RequestContext) -> str:
        """The registration (its Client Admin's ``client_id``) an admin token manages."""
        return self._owner(self._bearer(ctx).client_id)

    def _owned(self, kind: str, id: str, owner: str) -> tuple[dict, str, dict]:
        record = self.store.get(kind, id)
        if record is None or record[1] != owner:
            raise NotFound(f"No such {kind[:-1].replace('_', ' ')}: {id}")
        return record

    def _message(self, db: Any, owner: str, doc: dict[str, Any]) -> dict[str, Any]:
        """Store a Server-created Message (unread) for ``owner``."""
        message_id = new_id()
        t = stamp()
        message = {
            "message_id": message_id,
            "uri": f"{HERE}/cds-api/v1/messages/{message_id}",
            "previous_uri": None,
            "read": False,
            "creator": None,
            "created": t,
            "modified": t,
            "status": "complete",
            **doc,
        }
        self.store.put(db, "messages", message_id, message, owner=owner)
        return message

    # -- metadata --------------------------------------------------------------------------------
    def get_server_metadata(self, ctx: RequestContext) -> m.ServerMetadata:
        return m.ServerMetadata.model_validate(catalog.server_metadata(ctx.base_url))

    def list_coverage(self, ctx: RequestContext, query: ListCoverageQuery) -> Page[m.CoverageEntry]:
        docs = access.order(
            "listCoverage", access.apply_filters("listCoverage", query, catalog.coverage_entries())
        )
        return self._page(docs, query.cursor, m.CoverageEntry)

    def get_authorization_server_metadata(
        self, ctx: RequestContext
    ) -> m.AuthorizationServerMetadata:
        return m.AuthorizationServerMetadata.model_validate(
            catalog.authorization_server_metadata(ctx.base_url, ctx.prefix)
        )

    def get_client_server_metadata(self, ctx: RequestContext, client_id: str) -> m.ServerMetadata:
        self._owned("clients", client_id, self._admin(ctx))
        here = f"{ctx.base_url}/cds-api/v1/clients/{client_id}"
        return m.ServerMetadata.model_validate(
            catalog.server_metadata(
                ctx.base_url, f"{here}/oauth-authorization-server", f"{here}/cds-server-metadata"
            )
        )

    def get_client_authorization_server_metadata(
        self, ctx: RequestContext, client_id: str
    ) -> m.AuthorizationServerMetadata:
        client = self._owned("clients", client_id, self._admin(ctx))[0]
        return m.AuthorizationServerMetadata.model_validate(
            catalog.authorization_server_metadata(ctx.base_url, _oauth_prefix(client))
        )

    # -- registration --------------------------------------------------------------------------
    def register_client(
        self, ctx: RequestContext, body: m.ClientRegistrationRequest
    ) -> m.ClientRegistrationResponse:
        requested = body.scope.split()
        if CLIENT_ADMIN not in requested:
            raise InvalidClientMetadata(
                f"`scope` must include {CLIENT_ADMIN} to register a CDS Client."
            )
        unknown = [s for s in requested if s not in SCOPES]
        if unknown:
            raise InvalidClientMetadata(
                "`scope` names scopes this Server does not describe: " + " ".join(unknown)
            )
        name = body.client_name
        contacts = list(body.contacts or [])
        extra = {k: v for k, v in (body.model_extra or {}).items() if k.startswith("cds_")}
        scopes = [SCOPES[s] for s in dict.fromkeys(requested)]
        if any(s.grant_admin_scope for s in scopes) and GRANT_ADMIN not in requested:
            scopes.append(SCOPES[GRANT_ADMIN])
        groups: dict[Any, list[OfferedScope]] = {}
        for scope in scopes:
            key = (
                "admin"
                if scope.id == CLIENT_ADMIN
                else ("grant_admin" if scope.type == "cds_grant_admin" else scope.kind)
            )
            groups.setdefault(key, []).append(scope)
        t = now()
        with self.store.write() as db:
            admin_id = "cid" + new_id()
            admin = self._new_client(
                db, admin_id, admin_id, groups.pop("admin"), t, name, contacts, extra
            )
            secret = self._new_credential(db, admin_id, admin_id, t)["client_secret"]
            created = []
            for group in groups.values():
                client_id = "cid" + new_id()
                client = self._new_client(db, client_id, admin_id, group, t, name, contacts, extra)
                if client["token_endpoint_auth_method"] is not None:
                    self._new_credential(db, client_id, admin_id, t)
                if group[0].type == "cds_server_provided_files":
                    self._server_files_grant(db, client, admin_id, t)
                created.append(client_id)
            self._message(
                db,
                admin_id,
                {
                    "type": "notification",
                    "name": "Welcome to the sandbox",
                    "description": "Your registration is approved for the sandbox. Your other "
                    f"scopes live on the Client Objects {', '.join(created) or '(none)'}; find "
                    "their secrets with the Credentials API.",
                    "related_uri": f"{HERE}/cds-api/v1/clients",
                    "related_type": "client_list",
                },
            )
        return m.ClientRegistrationResponse.model_validate(
            {**localize(admin, ctx.base_url), "client_secret": secret}
        )

    def _new_client(
        self,
        db: Any,
        client_id: str,
        owner: str,
        scopes: list[OfferedScope],
        t: datetime,
        name: str | None,
        contacts: list[str],
        extra: dict[str, Any],
    ) -> dict[str, Any]:
        first = scopes[0]
        is_admin = first.id == CLIENT_ADMIN
        doc: dict[str, Any] = {
            "client_id": client_id,
            "client_id_issued_at": int(t.timestamp()),
            "scope": " ".join(s.id for s in scopes),
            "redirect_uris": [],
            "token_endpoint_auth_method": first.auth_method,
            "grant_types": first.grant_types,
            "response_types": first.response_types,
            "client_name": name or client_id,
            "contacts": contacts,
            "authorization_details_types": [] if is_admin else [s.id for s in scopes],
            "cds_created": stamp(t),
            "cds_modified": stamp(t),
            "cds_client_uri": f"{HERE}/cds-api/v1/clients/{client_id}",
            "cds_status": "sandbox",
            "cds_status_options": ["sandbox"] if is_admin else ["sandbox", "disabled"],
            "cds_server_metadata": (
                f"{HERE}/.well-known/cds-server-metadata.json"
                if is_admin
                else f"{HERE}/cds-api/v1/clients/{client_id}/cds-server-metadata"
            ),
            **extra,
        }
        if first.response_types:
            redirect = f"{HERE}/oauth/default-redirect/{client_id}"
            doc["redirect_uris"] = [redirect]
            doc["cds_default_scope"] = doc["scope"]
            doc["cds_default_redirect_uri"] = redirect
            doc["cds_default_authorization_details"] = []
        self.store.put(db, "clients", client_id, doc, owner=owner)
        return doc

    def _new_credential(self, db: Any, client_id: str, owner: str, t: datetime) -> dict[str, Any]:
        credential_id = new_id()
        doc = {
            "credential_id": credential_id,
            "uri": f"{HERE}/cds-api/v1/credentials/{credential_id}",
            "client_id": client_id,
            "created": stamp(t),
            "modified": stamp(t),
            "type": "client_secret",
            "client_secret": secrets.token_urlsafe(48),
            "client_secret_expires_at": 0,
        }
        sealed = {**doc, "client_secret": self.vault.seal(doc["client_secret"], credential_id)}
        self.store.put(db, "credentials", credential_id, sealed, owner=owner)
        return doc

    def _server_files_grant(self, db: Any, client: dict[str, Any], owner: str, t: datetime) -> None:
        scope = client["scope"]
        entries = [{"type": scope, "file_id": f["file_id"]} for f in FILES]
        self._new_grant(db, owner, client["client_id"], scope, entries, t, private={})

    def _new_grant(
        self,
        db: Any,
        owner: str,
        client_id: str,
        scope: str,
        entries: list[dict[str, Any]],
        t: datetime,
        *,
        private: dict[str, Any],
        receipts: list[str] | None = None,
    ) -> dict[str, Any]:
        grant_id = new_id()
        doc = {
            "grant_id": grant_id,
            "uri": f"{HERE}/cds-api/v1/grants/{grant_id}",
            "replacing": [],
            "replaced_by": [],
            "parent": None,
            "children": [],
            "created": stamp(t),
            "modified": stamp(t),
            "not_before": None,
            "not_after": None,
            "eta": None,
            "expires": grant_expires(entries),
            "status": "active",
            "client_id": client_id,
            "scope": scope,
            "authorization_details": entries,
            "receipt_confirmations": receipts or [],
            "enabled_scope": scope,
            "enabled_authorization_details": entries,
        }
        self.store.put(db, "grants", grant_id, doc, owner=owner, private=private)
        return doc

    # -- housekeeping ----------------------------------------------------------------------------
    def purge_expired(self, *, force: bool = False) -> int:
        """Delete expired tokens, codes, pushed requests, consent requests and sign-ins (at
        most once a minute unless ``force``); how many rows went."""
        t = time.time()
        with self._lock:
            if not force and t - self._purged < PURGE_SECONDS:
                return 0
            self._purged = t
        with self.store.write() as db:
            gone = db.execute("DELETE FROM tokens WHERE expires_at <= ?", (int(t),)).rowcount
            gone += db.execute("DELETE FROM pending WHERE expires_at <= ?", (int(t),)).rowcount
        return gone

    # -- tokens --------------------------------------------------------------------------------
    def request_token(self, ctx: RequestContext, body: m.TokenRequest) -> m.TokenResponse:
        client = self._client(self._caller(ctx).client_id)
        if client is None:
            raise InvalidClient("Client authentication failed.")
        expected = _oauth_prefix(client)
        if ctx.prefix != expected:
            raise UnauthorizedClient(
                f"This Client Object gets tokens at {ctx.base_url}{expected}/oauth/token "
                "(the token_endpoint of its own oauth_metadata)."
            )
        self.purge_expired()
        grant_type = body.grant_type
        if grant_type not in ("client_credentials", "authorization_code", "refresh_token"):
            raise UnsupportedGrantType(f"Grant type {grant_type!r} is not supported.")
        if grant_type not in client["grant_types"]:
            raise UnauthorizedClient(f"This Client Object may not use the {grant_type} grant.")
        if grant_type == "authorization_code":
            return self._token_from_code(ctx, client, body)
        if grant_type == "refresh_token":
            return self._token_from_refresh(ctx, client, body)
        return self._token_from_client_credentials(ctx, client, body)

    def _token_from_client_credentials(
        self, ctx: RequestContext, client: dict[str, Any], body: m.TokenRequest
    ) -> m.TokenResponse:
        registered = client["scope"].split()
        entries = details.parse(body.authorization_details)
        requested = body.scope.split() if body.scope else ([] if entries else registered)
        for s in requested:
            if s not in registered:
                raise InvalidScope(f"This Client Object is not registered for {s}.")
        for e in entries:
            if e["type"] not in client["authorization_details_types"]:
                raise InvalidAuthorizationDetails(
                    f"This Client Object may not use authorization details of type {e['type']!r}."
                )
        credential = self._credential_of(ctx)
        owner = self._owner(client["client_id"])
        t = now()
        if registered == [CLIENT_ADMIN]:
            return self._issue(client, credential["credential_id"], [CLIENT_ADMIN], [], [], t)
        if SCOPES[registered[0]].type == "cds_grant_admin":
            return self._grant_admin_token(client, credential["credential_id"], owner, entries, t)
        scopes = list(dict.fromkeys(requested + [e["type"] for e in entries]))
        given = {e["type"]: e for e in entries}
        completed = [details.complete(SCOPES[s], given.get(s, {}), t) for s in scopes]
        ends = grant_expires(completed)
        if ends is not None and access.parse_time(ends) <= t:
            raise InvalidAuthorizationDetails("`expires` must be later than now.")
        with self.store.write() as db:
            grant = self._new_grant(
                db, owner, client["client_id"], " ".join(scopes), completed, t, private={}
            )
            self._grant_message(db, owner, grant, "created")
        return self._issue(
            client, credential["credential_id"], scopes, [grant["grant_id"]], completed, t
        )

    def _grant_admin_token(
        self,
        client: dict[str, Any],
        credential_id: str,
        owner: str,
        entries: list[dict[str, Any]],
        t: datetime,
    ) -> m.TokenResponse:
        admin_scope = client["scope"].split()[0]
        if len(entries) != 1 or entries[0]["type"] != admin_scope:
            raise InvalidAuthorizationDetails(
                "A Grant Admin token request needs exactly one authorization details entry "
                f"of type {admin_scope}."
            )
        entry = entries[0]
        grant_id, target_client = entry.get("grant_id"), entry.get("client_id")
        if not isinstance(grant_id, str) or not isinstance(target_client, str):
            raise InvalidAuthorizationDetails(
                "The Grant Admin entry needs `grant_id` and `client_id` strings."
            )
        record = self.store.get("grants", grant_id)
        if record is None or record[1] != owner or record[0]["client_id"] != target_client:
            raise InvalidGrant(
                f"No Grant {grant_id} for Client Object {target_client} in this registration."
            )
        grant = as_of(record[0], t)
        enabled = grant["enabled_scope"].split()
        if not enabled or grant["status"] in CLOSED_STATUSES:
            raise InvalidGrant(f"Grant {grant_id} is disabled.")
        if any(SCOPES[s].grant_admin_scope != admin_scope for s in enabled if s in SCOPES):
            raise InvalidGrant(f"Grant {grant_id} is not administered by {admin_scope}.")
        return self._issue(
            client,
            credential_id,
            [admin_scope, *enabled],
            [grant_id],
            [{"type": admin_scope, "grant_id": grant_id, "client_id": target_client}],
            t,
        )

    def _issue(
        self,
        client: dict[str, Any],
        credential_id: str,
        scopes: list[str],
        grant_ids: list[str],
        entries: list[dict[str, Any]],
        t: datetime,
        *,
        family: str | None = None,
    ) -> m.TokenResponse:
        """A new access token, and with a ``family`` (tokens descending from one authorization
        code) a refresh token too; the whole family is revoked when its code is replayed or a
        rotated refresh token is reused (RFC 6749 §4.1.2, RFC 9700 §4.14.2)."""
        token = secrets.token_urlsafe(48)
        issued = int(t.timestamp())
        rows = [(digest(token), "access", issued + ACCESS_TOKEN_SECONDS)]
        refresh_token = secrets.token_urlsafe(48) if family else None
        if refresh_token:
            rows.append((digest(refresh_token), "refresh", issued + REFRESH_TOKEN_SECONDS))
        with self.store.write() as db:
            for hashed, kind, expires in rows:
                db.execute(
                    "INSERT INTO tokens (hash, kind, client_id, credential_id, scopes, grant_ids, "
                    "authorization_details, issued_at, expires_at, family) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        hashed,
                        kind,
                        client["client_id"],
                        credential_id,
                        dumps(scopes),
                        dumps(grant_ids),
                        dumps(entries),
                        issued,
                        expires,
                        family,
                    ),
                )
        response: dict[str, Any] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_SECONDS,
            "scope": " ".join(scopes),
        }
        if refresh_token:
            response["refresh_token"] = refresh_token
        if entries:
            response["authorization_details"] = entries
        if grant_ids:
            response["cds_grant_ids"] = grant_ids
        return m.TokenResponse.model_validate(response)

    def _token_from_code(
        self, ctx: RequestContext, client: dict[str, Any], body: m.TokenRequest
    ) -> m.TokenResponse:
        if not body.code:
            raise InvalidRequest.parameter("code", "missing")
        if not body.code_verifier:
            raise InvalidRequest.parameter("code_verifier", "missing (PKCE is required)")
        code = digest(body.code)
        with self.store.write() as db:
            row = db.execute(
                "SELECT client_id, data, expires_at, used FROM pending "
                "WHERE id = ? AND kind = 'code'",
                (code,),
            ).fetchone()
            replayed = row is not None and row[0] == client["client_id"] and bool(row[3])
            if replayed:  # RFC 6749 §4.1.2: revoke what the code gave
                db.execute("UPDATE tokens SET revoked = 1 WHERE family = ?", (code,))
            elif row is not None and row[0] == client["client_id"] and row[2] > time.time():
                db.execute("UPDATE pending SET used = 1 WHERE id = ?", (code,))
        if row is None or row[0] != client["client_id"] or replayed or row[2] <= time.time():
            raise InvalidGrant(
                "The authorization code is unknown, used, expired or not this Client's."
            )
        data = loads(row[1])
        given = str(body.redirect_uri) if body.redirect_uri is not None else None
        if data["redirect_uri_given"] and given != str(AnyUrl(data["redirect_uri"])):
            raise InvalidGrant("`redirect_uri` differs from the authorization request's.")
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(body.code_verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if not hmac.compare_digest(challenge, data["code_challenge"]):
            raise InvalidGrant("`code_verifier` does not match the code challenge (S256).")
        credential = self._credential_of(ctx)
        grant = self.store.get("grants", data["grant_id"])
        if grant is None:
            raise InvalidGrant("The Grant of this authorization code no longer exists.")
        g = grant[0]
        return self._issue(
            client,
            credential["credential_id"],
            g["enabled_scope"].split(),
            [g["grant_id"]],
            g["enabled_authorization_details"],
            now(),
            family=code,
        )

    def _token_from_refresh(
        self, ctx: RequestContext, client: dict[str, Any], body: m.TokenRequest
    ) -> m.TokenResponse:
        if not body.refresh_token:
            raise InvalidRequest.parameter("refresh_token", "missing")
        hashed = digest(body.refresh_token)
        with self.store.write() as db:
            row = db.execute(
                "SELECT client_id, scopes, grant_ids, authorization_details, revoked, expires_at, "
                "family FROM tokens WHERE hash = ? AND kind = 'refresh'",
                (hashed,),
            ).fetchone()
            mine = row is not None and row[0] == client["client_id"]
            if mine and row[4] and row[6]:  # a rotated token reused: revoke the family
                db.execute("UPDATE tokens SET revoked = 1 WHERE family = ?", (row[6],))
            elif mine:
                db.execute("UPDATE tokens SET revoked = 1 WHERE hash = ?", (hashed,))
        if row is None or not mine or row[4] or (row[5] is not None and row[5] <= time.time()):
            raise InvalidGrant(
                "The refresh token is unknown, expired, revoked or not this Client's."
            )
        scopes = loads(row[1])
        if body.scope:
            narrower = body.scope.split()
            if not set(narrower) <= set(scopes):
                raise InvalidScope("A refreshed token cannot have more scope than the Grant.")
            scopes = narrower
        grant_ids = loads(row[2])
        for grant_id in grant_ids:
            grant = self.store.get("grants", grant_id)
            if grant is None or as_of(grant[0], now())["status"] in CLOSED_STATUSES:
                raise InvalidGrant(f"Grant {grant_id} no longer gives access.")
        credential = self._credential_of(ctx)
        return self._issue(
            client,
            credential["credential_id"],
            scopes,
            grant_ids,
            loads(row[3]),
            now(),
            family=row[6] or hashed,
        )

    def revoke_token(self, ctx: RequestContext, body: m.TokenRevocationRequest) -> None:
        caller = self._caller(ctx)
        hashed = digest(body.token)
        with self.store.write() as db:
            row = db.execute(
                "SELECT client_id, kind, grant_ids, family FROM tokens WHERE hash = ?", (hashed,)
            ).fetchone()
            if row is None or row[0] != caller.client_id:
                return  # RFC 7009 §2.2: unknown tokens are answered 200 too
            db.execute("UPDATE tokens SET revoked = 1 WHERE hash = ?", (hashed,))
            if row[1] == "refresh":  # RFC 7009 §2.1: and the access tokens it stands behind
                db.execute(
                    "UPDATE tokens SET revoked = 1 WHERE (family = ? AND family IS NOT NULL) "
                    "OR (client_id = ? AND grant_ids = ? AND kind = 'access')",
                    (row[3], row[0], row[2]),
                )

    def introspect_token(
        self, ctx: RequestContext, body: m.TokenIntrospectionRequest
    ) -> m.TokenIntrospectionResponse:
        caller = self._caller(ctx)
        row = (
            self.store.db()
            .execute(
                "SELECT client_id, kind, scopes, authorization_details, issued_at, expires_at, "
                "revoked FROM tokens WHERE hash = ?",
                (digest(body.token),),
            )
            .fetchone()
        )
        if row is None or self._owner(row[0]) != self._owner(caller.client_id):
            return m.TokenIntrospectionResponse(active=False)
        active = not row[6] and (row[5] is None or row[5] > time.time())
        if active and row[1] == "access":
            active = self.authenticate_token(ctx, body.token) is not None
        if not active:
            return m.TokenIntrospectionResponse(active=False)
        info: dict[str, Any] = {
            "active": True,
            "scope": " ".join(loads(row[2])),
            "client_id": row[0],
            "token_type": "Bearer" if row[1] == "access" else "refresh_token",
            "iat": row[4],
            "iss": ctx.base_url,
        }
        if row[5] is not None:
            info["exp"] = row[5]
        entries = loads(row[3])
        if entries:
            info["authorization_details"] = entries
        return m.TokenIntrospectionResponse.model_validate(info)

    # -- authorization code flow ---------------------------------------------------------------
    def push_authorization_request(
        self, ctx: RequestContext, body: m.PushedAuthorizationRequest
    ) -> m.PushedAuthorizationResponse:
        caller = self._caller(ctx)
        if body.client_id is not None and body.client_id != caller.client_id:
            raise InvalidRequest.parameter("client_id", "differs from the authenticated Client")
        params = {k: v for k, v in body.model_dump(exclude_none=True).items() if isinstance(v, str)}
        params["client_id"] = caller.client_id
        request_id = secrets.token_urlsafe(24)
        with self.store.write() as db:
            db.execute(
                "INSERT INTO pending (id, kind, client_id, data, expires_at) "
                "VALUES (?, 'par', ?, ?, ?)",
                (request_id, caller.client_id, dumps(params), int(time.time()) + PAR_SECONDS),
            )
        return m.PushedAuthorizationResponse(
            request_uri=f"urn:ietf:params:oauth:request_uri:{request_id}", expires_in=PAR_SECONDS
        )

    def authorize(self, ctx: RequestContext, query: AuthorizeQuery) -> Redirect:
        self.purge_expired()
        params = {k: v for k, v in vars(query).items() if v is not None}
        if query.request_uri:
            params = self._pushed(query.request_uri, query.client_id)
        client = self._client(params["client_id"])
        if client is None:
            raise InvalidRequest.parameter("client_id", "unknown Client Object")
        redirect_uris = localize(client["redirect_uris"], ctx.base_url)
        redirect_uri = params.get("redirect_uri") or localize(
            client.get("cds_default_redirect_uri"), ctx.base_url
        )
        if not redirect_uri or redirect_uri not in redirect_uris:
            raise InvalidRequest.parameter(
                "redirect_uri", "not one of the Client Object's redirect_uris"
            )
        state = params.get("state")

        def fail(error: str, description: str) -> Redirect:
            return Redirect(
                _with_query(redirect_uri, error=error, error_description=description, state=state)
            )

        if params.get("response_type") != "code":
            return fail("unsupported_response_type", "response_type must be code")
        if "code" not in client["response_types"]:
            return fail(
                "unauthorized_client", "this Client Object has no authorization code scopes"
            )
        if not params.get("code_challenge") or params.get("code_challenge_method") != "S256":
            return fail("invalid_request", "PKCE with code_challenge_method=S256 is required")
        scope_ids = (params.get("scope") or client.get("cds_default_scope") or "").split()
        if not scope_ids or not set(scope_ids) <= set(client["scope"].split()):
            return fail("invalid_scope", "scope must be among the Client Object's scopes")
        try:
            entries = details.parse(params.get("authorization_details"))
            for e in entries:
                if e["type"] not in client["authorization_details_types"]:
                    raise InvalidAuthorizationDetails(
                        f"type {e['type']!r} is not among this Client Object's"
                    )
                details.complete(SCOPES[e["type"]], e, now())
        except InvalidAuthorizationDetails as error:
            return fail("invalid_authorization_details", error.description)
        grant_id = params.get("cds_grant_id") or None
        if grant_id:
            record = self.store.get("grants", grant_id)
            if (
                record is None
                or record[0]["client_id"] != client["client_id"]
                or record[0]["status"] != "needs_authorization"
            ):
                return fail(
                    "cds_grant_id_invalid_value",
                    "cds_grant_id is not a Grant of this Client awaiting authorization",
                )
        selection = next(
            (
                e["authorization_form_selection_type"]
                for e in entries
                if e.get("authorization_form_selection_type")
            ),
            SCOPES[scope_ids[0]].selections()[0],
        )
        request = {
            "client_id": client["client_id"],
            "selection": catalog.SELECTIONS[selection],
            "redirect_uri": redirect_uri,
            "redirect_uri_given": bool(params.get("redirect_uri")),
            "scope": scope_ids,
            "state": state,
            "code_challenge": params["code_challenge"],
            "authorization_details": entries,
            "cds_grant_id": grant_id,
        }
        request_id = secrets.token_urlsafe(24)
        with self.store.write() as db:
            db.execute(
                "INSERT INTO pending (id, kind, client_id, data, expires_at) "
                "VALUES (?, 'consent', ?, ?, ?)",
                (request_id, client["client_id"], dumps(request), int(time.time()) + CODE_SECONDS),
            )
        return Redirect(f"{ctx.base_url}/oauth/consent/{request_id}")

    def _pushed(self, request_uri: str, client_id: str) -> dict[str, str]:
        prefix = "urn:ietf:params:oauth:request_uri:"
        request_id = request_uri[len(prefix) :] if request_uri.startswith(prefix) else ""
        with self.store.write() as db:
            row = db.execute(
                "SELECT client_id, data, expires_at, used FROM pending "
                "WHERE id = ? AND kind = 'par'",
                (request_id,),
            ).fetchone()
            if row is None or row[0] != client_id or row[3] or row[2] <= time.time():
                raise InvalidRequest.parameter("request_uri", "unknown, used or expired")
            db.execute("UPDATE pending SET used = 1 WHERE id = ?", (request_id,))
        return loads(row[1])

    def consent_request(self, request_id: str) -> dict[str, Any] | None:
        """A pending authorization request awaiting the Customer's decision (consent page)."""
        row = (
            self.store.db()
            .execute(
                "SELECT data, expires_at, used FROM pending WHERE id = ? AND kind = 'consent'",
                (request_id,),
            )
            .fetchone()
        )
        if row is None or row[2] or row[1] <= time.time():
            return None
        return loads(row[0])

    def decide(
        self, request_id: str, approve: bool, picked_ids: list[str], customer: str | None = None
    ) -> str | None:
        """Record the decision of the signed-in ``customer`` and their pick (ids of the
        request's Selection kind, which the consent page checked are theirs); the URL to send
        the browser to (``None`` when the request is unknown or already decided)."""
        with self.store.write() as db:
            row = db.execute(
                "SELECT data, expires_at, used FROM pending WHERE id = ? AND kind = 'consent'",
                (request_id,),
            ).fetchone()
            if row is None or row[2] or row[1] <= time.time():
                return None
            db.execute("UPDATE pending SET used = 1 WHERE id = ?", (request_id,))
            request = loads(row[0])
            redirect_uri, state = request["redirect_uri"], request["state"]
            kind = request["selection"]
            picked = [i for i in dict.fromkeys(picked_ids) if i in self.sandbox.objects[kind]]
            if not approve or not picked:
                reason = "the customer declined" if not approve else "nothing was selected"
                return _with_query(
                    redirect_uri, error="access_denied", error_description=reason, state=state
                )
            t = now()
            code = secrets.token_urlsafe(32)
            receipt = "R-" + secrets.token_hex(4).upper()
            given = {e["type"]: e for e in request["authorization_details"]}
            entries = [
                details.complete(SCOPES[s], given.get(s, {}), t, keep_preselections=False)
                for s in request["scope"]
            ]
            owner = self._owner(request["client_id"])
            private = {"picked": {"kind": kind, "ids": picked}, "customer": customer}
            existing = (
                self.store.get("grants", request["cds_grant_id"], db)
                if request["cds_grant_id"]
                else None
            )
            if existing is not None:  # a Grant awaiting authorization (CDS-WG1-02 §8.3)
                grant = existing[0]
                have = {e["type"]: e for e in grant["authorization_details"]}
                entries = [
                    have.get(s)
                    or details.complete(SCOPES[s], given.get(s, {}), t, keep_preselections=False)
                    for s in grant["scope"].split()
                ]
                grant.update(
                    status="active",
                    modified=stamp(t),
                    authorization_details=entries,
                    enabled_scope=grant["scope"],
                    enabled_authorization_details=entries,
                )
                grant["receipt_confirmations"] = [*grant["receipt_confirmations"], receipt]
                self.store.put(db, "grants", grant["grant_id"], grant, owner=owner, private=private)
            else:
                grant = self._new_grant(
                    db,
                    owner,
                    request["client_id"],
                    " ".join(request["scope"]),
                    entries,
                    t,
                    private=private,
                    receipts=[receipt],
                )
            self._grant_message(db, owner, grant, "authorized by a customer")
            data = {
                "grant_id": grant["grant_id"],
                "redirect_uri": redirect_uri,
                "redirect_uri_given": request["redirect_uri_given"],
                "code_challenge": request["code_challenge"],
            }
            db.execute(
                "INSERT INTO pending (id, kind, client_id, data, expires_at) "
                "VALUES (?, 'code', ?, ?, ?)",
                (digest(code), request["client_id"], dumps(data), int(time.time()) + CODE_SECONDS),
            )
        return _with_query(redirect_uri, code=code, state=state)

    def _grant_message(self, db: Any, owner: str, grant: dict[str, Any], what: str) -> None:
        self._message(
            db,
            owner,
            {
                "type": "notification",
                "name": f"Grant {grant['grant_id']} {what}",
                "description": f"Grant {grant['grant_id']} for {grant['scope']} was {what}.",
                "related_uri": grant["uri"],
                "related_type": "grant",
            },
        )

    # -- Clients API -------------------------------------------------------------------------
    def list_clients(self, ctx: RequestContext, query: ListClientsQuery) -> Page[m.Client]:
        docs = self.store.docs("clients", owner=self._admin(ctx))
        docs = access.order("listClients", access.apply_filters("listClients", query, docs))
        return self._page([localize(d, ctx.base_url) for d in docs], query.cursor, m.Client)

    def get_client(self, ctx: RequestContext, client_id: str) -> m.Client:
        doc = self._owned("clients", client_id, self._admin(ctx))[0]
        return m.Client.model_validate(localize(doc, ctx.base_url))

    def modify_client(
        self, ctx: RequestContext, client_id: str, body: m.ClientModifyRequest
    ) -> m.Client | Accepted[m.Client]:
        owner = self._admin(ctx)
        submitted = body.model_dump(exclude_unset=True, mode="json")
        with self.store.write() as db:
            record = self.store.get("clients", client_id, db)
            if record is None or record[1] != owner:
                raise NotFound(f"No such Client Object: {client_id}")
            current = record[0]
            shown = localize(current, ctx.base_url)
            for name, value in submitted.items():
                if name not in _CLIENT_CHANGEABLE and name in shown and value != shown[name]:
                    raise InvalidClientMetadata(f"`{name}` cannot be changed.")
                if name not in _CLIENT_CHANGEABLE and name not in shown:
                    raise InvalidClientMetadata(
                        f"`{name}` is not a field this Server lets Clients set."
                    )
            updated = dict(current)
            for name in _CLIENT_CHANGEABLE:
                if name in submitted:
                    updated[name] = _client_value(name, submitted[name], current, ctx.base_url)
                else:  # left out: back to the Server's default (given the fields set so far)
                    default = _client_default(name, updated)
                    updated.pop(name, None)
                    if default is not None:
                        updated[name] = default
            _check_client(updated, "cds_default_redirect_uri" in submitted)
            updated["cds_modified"] = stamp()
            if updated["cds_status"] == "disabled" and current["cds_status"] != "disabled":
                self._expire_secrets(db, client_id, owner)
            self.store.put(db, "clients", client_id, updated, owner=owner)
            self._message(
                db,
                owner,
                {
                    "type": "notification",
                    "name": f"Client Object {client_id} modified",
                    "description": f"Client Object {client_id} was modified with the Clients API.",
                    "related_uri": updated["cds_client_uri"],
                    "related_type": "client",
                },
            )
        return m.Client.model_validate(localize(updated, ctx.base_url))

    def _expire_secrets(self, db: Any, client_id: str, owner: str) -> None:
        """A disabled Client Object's secrets expire when it is disabled (CDS-WG1-02 §7.1)."""
        t = int(time.time())
        for cred in self.store.docs("credentials", owner=owner, db=db):
            expires = cred["client_secret_expires_at"]
            if cred["client_id"] == client_id and (expires == 0 or expires > t):
                cred = {**cred, "client_secret_expires_at": t, "modified": stamp()}
                self.store.put(db, "credentials", cred["credential_id"], cred, owner=owner)
        db.execute("UPDATE tokens SET revoked = 1 WHERE client_id = ?", (client_id,))

    # -- Credentials API ---------------------------------------------------------------------
    def list_credentials(
        self, ctx: RequestContext, query: ListCredentialsQuery
    ) -> Page[m.ScopeCredential]:
        docs = [
            self._shown_credential(d)
            for d in self.store.docs("credentials", owner=self._admin(ctx))
        ]
        docs = access.order("listCredentials", access.apply_filters("listCredentials", query, docs))
        return self._page(
            [localize(d, ctx.base_url) for d in docs], query.cursor, m.ScopeCredential
        )

    def create_credential(
        self, ctx: RequestContext, body: m.CredentialCreateRequest
    ) -> m.ScopeCredential:
        owner = self._admin(ctx)
        with self.store.write() as db:
            record = self.store.get("clients", body.client_id, db)
            if record is None or record[1] != owner:
                raise InvalidRequest.parameter(
                    "client_id", "not a Client Object of this registration"
                )
            if record[0]["token_endpoint_auth_method"] is None:
                raise InvalidRequest.parameter(
                    "client_id", "this Client Object does not use secrets"
                )
            cred = self._new_credential(db, body.client_id, owner, now())
            self._credential_message(db, owner, cred, "created")
        return m.ScopeCredential.model_validate(localize(cred, ctx.base_url))

    def get_credential(self, ctx: RequestContext, credential_id: str) -> m.ScopeCredential:
        doc = self._shown_credential(self._owned("credentials", credential_id, self._admin(ctx))[0])
        return m.ScopeCredential.model_validate(localize(doc, ctx.base_url))

    def modify_credential(
        self, ctx: RequestContext, credential_id: str, body: m.CredentialModifyRequest
    ) -> m.ScopeCredential:
        owner = self._admin(ctx)
        with self.store.write() as db:
            record = self.store.get("credentials", credential_id, db)
            if record is None or record[1] != owner:
                raise NotFound(f"No such credential: {credential_id}")
            cred = record[0]
            value = body.client_secret_expires_at
            if value is not None:
                t = int(time.time())
                current = cred["client_secret_expires_at"]
                if value < 0 or (current != 0 and (value == 0 or value > current)):
                    raise InvalidRequest.parameter(
                        "client_secret_expires_at",
                        "may only move the expiry earlier (0 means never, and only stays 0)",
                    )
                if value != 0 and value <= t:
                    # expired now: treat the secret as compromised (CDS-WG1-02 §7.6)
                    db.execute(
                        "UPDATE tokens SET revoked = 1 WHERE credential_id = ?", (credential_id,)
                    )
                cred = {**cred, "client_secret_expires_at": value, "modified": stamp()}
                self.store.put(db, "credentials", credential_id, cred, owner=owner)
                self._credential_message(db, owner, cred, "modified")
        return m.ScopeCredential.model_validate(
            localize(self._shown_credential(cred), ctx.base_url)
        )

    def _credential_message(self, db: Any, owner: str, cred: dict[str, Any], what: str) -> None:
        self._message(
            db,
            owner,
            {
                "type": "notification",
                "name": f"Credential {cred['credential_id']} {what}",
                "description": f"A secret of Client Object {cred['client_id']} was {what}.",
                "related_uri": cred["uri"],
                "related_type": "credential",
            },
        )

    # -- Messages API --------------------------------------------------------------------------
    def list_messages(
        self, ctx: RequestContext, query: ListMessagesQuery
    ) -> ClientMessageListingPages:
        docs = self.store.docs("messages", owner=self._admin(ctx))
        docs = access.order("listMessages", access.apply_filters("listMessages", query, docs))
        docs = [localize(d, ctx.base_url) for d in docs]
        lists = {
            "outstanding": [d for d in docs if d["status"] in ("open", "pending")],
            "unread": [d for d in docs if not d["read"]],
            "read": [d for d in docs if d["read"]],
        }
        wanted, _, offset = (query.cursor or "").partition(":")
        if query.cursor is not None and wanted not in lists:
            raise InvalidRequest.parameter("cursor", "not a cursor of this listing")
        pages = {}
        for name, items in lists.items():
            if query.cursor is not None and name != wanted:
                pages[name] = Page[m.ClientMessage](items=[])
                continue
            chunk, following, preceding = access.page(items, offset or None, self.page_size)
            pages[name] = Page(
                items=[m.ClientMessage.model_validate(d) for d in chunk],
                next=f"{name}:{following}" if following is not None else None,
                previous=None
                if preceding is None
                else (f"{name}:{preceding}" if preceding != FIRST_PAGE else f"{name}:0"),
            )
        return ClientMessageListingPages(**pages)

    def create_message(self, ctx: RequestContext, body: m.MessageCreateRequest) -> m.ClientMessage:
        token = self._bearer(ctx)
        owner = self._admin(ctx)
        kind = str(body.type)
        if kind not in CLIENT_MESSAGE_STATUS:
            raise InvalidRequest.parameter(
                "type", "must be one of " + ", ".join(CLIENT_MESSAGE_STATUS)
            )
        size = sum(len(a.data) * 3 // 4 for a in body.attachments or [])
        if size > ATTACHMENT_LIMIT:
            raise ContentTooLarge(f"Attachments may total at most {ATTACHMENT_LIMIT} bytes.")
        for a in body.attachments or []:
            try:
                base64.b64decode(a.data, validate=True)
            except ValueError:
                raise InvalidRequest.parameter(
                    "attachments", f"{a.filename}: data is not Base64"
                ) from None
        data = body.model_dump(mode="json", exclude_unset=True)
        previous = None
        if body.previous_uri is not None:
            previous = self._message_at(str(body.previous_uri), owner)
            if previous is None:
                raise InvalidRequest.parameter("previous_uri", "not a Message of this registration")
        if kind == "client_submission":
            if previous is None or previous[0]["type"] != "server_request":
                raise InvalidRequest.parameter(
                    "previous_uri", "a client_submission answers a server_request"
                )
            if body.name != "" or body.description != "":
                raise InvalidRequest.parameter(
                    "name", "a client_submission has empty name and description"
                )
            if not body.updates_requested:
                raise InvalidRequest.parameter(
                    "updates_requested", "required for a client_submission"
                )
        if kind == "grant_request" and not body.grants_requested:
            raise InvalidRequest.parameter("grants_requested", "required for a grant_request")
        if body.related_uri is not None and "related_type" not in data:
            data["related_type"] = (
                "client" if kind in ("production_request", "grant_request") else "more_info"
            )
        message_id = new_id()
        t = stamp()
        message = {
            **data,
            "message_id": message_id,
            "uri": f"{HERE}/cds-api/v1/messages/{message_id}",
            "previous_uri": _here(data.get("previous_uri"), ctx.base_url),
            "type": kind,
            "read": True,
            "creator": token.client_id,
            "created": t,
            "modified": t,
            "status": CLIENT_MESSAGE_STATUS[kind],
        }
        with self.store.write() as db:
            self.store.put(db, "messages", message_id, message, owner=owner)
            if (
                previous is not None
                and kind == "client_submission"
                and previous[0]["status"] == "open"
            ):
                self.store.put(
                    db,
                    "messages",
                    previous[0]["message_id"],
                    {**previous[0], "status": "pending", "modified": t},
                    owner=owner,
                )
            if kind in ("production_request", "grant_request"):
                self._message(
                    db,
                    owner,
                    {
                        "type": "request_update",
                        "previous_uri": message["uri"],
                        "status": "rejected",
                        "name": "Request answered",
                        "description": "This sandbox Server has no production environment and "
                        "creates Grants only through token requests and customer authorizations.",
                    },
                )
        return m.ClientMessage.model_validate(localize(message, ctx.base_url))

    def _message_at(self, uri: str, owner: str) -> tuple[dict, str, dict] | None:
        message_id = uri.rstrip("/").rsplit("/", 1)[-1]
        record = self.store.get("messages", message_id)
        return record if record is not None and record[1] == owner else None

    def get_message(self, ctx: RequestContext, message_id: str) -> m.ClientMessage:
        doc = self._owned("messages", message_id, self._admin(ctx))[0]
        return m.ClientMessage.model_validate(localize(doc, ctx.base_url))

    def modify_message(
        self, ctx: RequestContext, message_id: str, body: m.MessageModifyRequest
    ) -> m.ClientMessage:
        owner = self._admin(ctx)
        with self.store.write() as db:
            record = self.store.get("messages", message_id, db)
            if record is None or record[1] != owner:
                raise NotFound(f"No such message: {message_id}")
            doc = record[0]
            if body.read is not None and body.read != doc["read"]:
                doc = {**doc, "read": body.read, "modified": stamp()}
                self.store.put(db, "messages", message_id, doc, owner=owner)
        return m.ClientMessage.model_validate(localize(doc, ctx.base_url))

    # -- Grants API ----------------------------------------------------------------------------
    def list_grants(self, ctx: RequestContext, query: ListGrantsQuery) -> Page[m.Grant]:
        t = now()
        docs = [as_of(d, t) for d in self.store.docs("grants", owner=self._admin(ctx))]

        def has_scope(d: dict[str, Any], wanted: list[str]) -> bool:
            present = set(d["scope"].split()) | {e["type"] for e in d["authorization_details"]}
            return bool(present & set(wanted))

        docs = access.apply_filters("listGrants", query, docs, special={"scopes": has_scope})
        docs = access.order("listGrants", docs)
        return self._page([localize(d, ctx.base_url) for d in docs], query.cursor, m.Grant)

    def get_grant(self, ctx: RequestContext, grant_id: str) -> m.Grant:
        doc = as_of(self._owned("grants", grant_id, self._admin(ctx))[0], now())
        return m.Grant.model_validate(localize(doc, ctx.base_url))

    def modify_grant(
        self, ctx: RequestContext, grant_id: str, body: m.GrantModifyRequest
    ) -> m.Grant | Accepted[m.Grant]:
        owner = self._admin(ctx)
        with self.store.write() as db:
            record = self.store.get("grants", grant_id, db)
            if record is None or record[1] != owner:
                raise NotFound(f"No such grant: {grant_id}")
            grant, _, private = record
            t = now()
            grant = dict(as_of(grant, t))
            if body.status is not None:
                if str(body.status) != "closed":
                    raise InvalidRequest.parameter("status", "a Client may only set `closed`")
                grant.update(status="closed", enabled_scope="", enabled_authorization_details=[])
            scopes = grant["scope"].split()
            if body.scope is not None:
                wanted = body.scope.split()
                client = self._client(grant["client_id"]) or {}
                if not wanted or not set(wanted) <= set(client.get("scope", "").split()):
                    raise InvalidRequest.parameter(
                        "scope", "must name scopes of the Grant's Client Object"
                    )
                if set(wanted) <= set(scopes):
                    entries = [e for e in grant["authorization_details"] if e["type"] in wanted]
                    grant.update(scope=" ".join(wanted), authorization_details=entries)
                    if grant["status"] not in CLOSED_STATUSES:
                        grant.update(
                            enabled_scope=grant["scope"], enabled_authorization_details=entries
                        )
                elif any(SCOPES[s].category == "customer_consent" for s in wanted):
                    grant.update(scope=" ".join(wanted), status="needs_authorization")
                else:
                    entries = grant["authorization_details"] + [
                        details.complete(SCOPES[s], {}, t) for s in wanted if s not in scopes
                    ]
                    grant.update(
                        scope=" ".join(wanted),
                        authorization_details=entries,
                        enabled_scope=" ".join(wanted),
                        enabled_authorization_details=entries,
                    )
            if body.authorization_details is not None:
                entries = []
                for e in body.authorization_details:
                    entry = e if isinstance(e, dict) else e.model_dump(mode="json")
                    if entry.get("type") not in grant["scope"].split():
                        raise InvalidRequest.parameter(
                            "authorization_details",
                            f"type {entry.get('type')!r} is not a scope of the Grant",
                        )
                    try:
                        entries.append(
                            details.complete(
                                SCOPES[entry["type"]],
                                entry,
                                t,
                                keep_preselections=not SCOPES[entry["type"]].response_types,
                            )
                        )
                    except InvalidAuthorizationDetails as error:
                        raise InvalidRequest.parameter(
                            "authorization_details", error.description
                        ) from None
                before = grant["enabled_authorization_details"] or grant["authorization_details"]
                grant["authorization_details"] = entries
                grant["expires"] = grant_expires(entries)
                consent = any(SCOPES[e["type"]].category == "customer_consent" for e in entries)
                if consent and not _no_wider(before, entries):
                    grant["status"] = "needs_authorization"
                elif grant["status"] not in CLOSED_STATUSES:
                    grant["enabled_authorization_details"] = entries
            grant["modified"] = stamp(t)
            self.store.put(db, "grants", grant_id, grant, owner=owner, private=private)
        return m.Grant.model_validate(localize(grant, ctx.base_url))

    # -- Server-Provided Files API -------------------------------------------------------------
    def _shared_files(self, ctx: RequestContext) -> dict[str, dict[str, Any]]:
        ids: set[str] = set()
        for grant_id in self._bearer(ctx).grant_ids:
            record = self.store.get("grants", grant_id)
            if record is None:
                continue
            for entry in record[0]["enabled_authorization_details"]:
                if (
                    self.scope_type(entry.get("type", "")) == "cds_server_provided_files"
                    and "file_id" in entry
                ):
                    ids.add(entry["file_id"])
        return {f["file_id"]: f for f in FILES if f["file_id"] in ids}

    @staticmethod
    def _file_doc(base: str, f: dict[str, Any]) -> dict[str, Any]:
        return {
            "file_id": f["file_id"],
            "uri": f"{base}/cds-api/v1/server-provided-files/{f['file_id']}",
            "created": f["created"],
            "modified": f["modified"],
            "mime_type": f["mime_type"],
            "size": len(f["content"]),
            "name": f["name"],
            "description": f["description"],
            "download_uri": f"{base}/cds-api/v1/server-provided-files/{f['file_id']}/download",
        }

    def list_server_provided_files(
        self, ctx: RequestContext, query: ListServerProvidedFilesQuery
    ) -> Page[m.ServerProvidedFile]:
        docs = [self._file_doc(ctx.base_url, f) for f in self._shared_files(ctx).values()]
        docs = access.order(
            "listServerProvidedFiles", access.apply_filters("listServerProvidedFiles", query, docs)
        )
        return self._page(docs, query.cursor, m.ServerProvidedFile)

    def get_server_provided_file(self, ctx: RequestContext, file_id: str) -> m.ServerProvidedFile:
        f = self._shared_files(ctx).get(file_id)
        if f is None:
            raise NotFound(f"No such file shared with this token: {file_id}")
        return m.ServerProvidedFile.model_validate(self._file_doc(ctx.base_url, f))

    def download_server_provided_file(self, ctx: RequestContext, file_id: str) -> FileDownload:
        f = self._shared_files(ctx).get(file_id)
        if f is None:
            raise NotFound(f"No such file shared with this token: {file_id}")
        return FileDownload(content=f["content"], media_type=f["mime_type"], filename=f["name"])

    # -- Customer Data API ---------------------------------------------------------------------
    def _visibility(self, ctx: RequestContext) -> access.Visibility:
        """What the token's Grants share (cached per version of those Grants)."""
        grants = []
        for grant_id in self._bearer(ctx).grant_ids:
            record = self.store.get("grants", grant_id)
            if record is not None:
                grants.append((record[0], record[2]))
        key = tuple(
            (g["grant_id"], dumps(g["enabled_authorization_details"]), dumps(p)) for g, p in grants
        )
        with self._lock:
            cached = self._visibilities.get(key)
        if cached is None:
            cached = access.visibility(self.sandbox, grants)
            with self._lock:
                if len(self._visibilities) >= 512:
                    self._visibilities.clear()
                self._visibilities[key] = cached
        return cached

    def linked_document(self, token: str, kind: str, doc_id: str) -> dict[str, Any] | None:
        """A customer-data object the Bearer ``token`` may see (for the documents it links);
        ``None`` when the token is not valid or does not share it."""
        resolved = self.authenticate_token(RequestContext("", ""), token)
        if resolved is None:
            return None
        vis = self._visibility(RequestContext("", "", token=resolved))
        if doc_id not in vis.listable[kind]:
            return None
        shown = access.present(kind, self.sandbox.objects[kind][doc_id], vis)
        if shown is None or (kind == "bill_statements" and "file_uri" not in shown):
            return None  # not inside the Grant's bounds, or not its file (§7.2.5.1)
        return self.sandbox.objects[kind][doc_id]

    def _customer_data(
        self, ctx: RequestContext, kind: str, operation_id: str, query: Any, model: type[Any]
    ) -> Page[Any]:
        vis = self._visibility(ctx)
        objects = self.sandbox.objects[kind]
        shown = (access.present(kind, objects[i], vis) for i in objects if i in vis.listable[kind])
        docs = [d for d in shown if d is not None]
        docs = access.apply_filters(operation_id, query, docs, self.sandbox)
        docs = access.order(operation_id, docs, lambda related: self.sandbox.objects[related])
        chunk, following, preceding = access.page(docs, query.cursor, self.page_size)
        if kind == "usage_segments":
            chunk = self._with_values(chunk)
        items = [model.model_validate(localize(d, ctx.base_url)) for d in chunk]
        return Page(items=items, next=following, previous=preceding)

    def _with_values(self, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Usage Segments with the Value Sets their :class:`access.ValueCut` names."""
        if not docs:
            return docs
        ids = sorted({d["values"].source for d in docs})
        marks = ",".join("?" * len(ids))
        rows = self.store.db().execute(
            f"SELECT id, data FROM usage_values WHERE id IN ({marks})", ids
        )
        values = {r[0]: loads(r[1]) for r in rows}
        return [{**d, "values": d["values"].apply(values[d["values"].source])} for d in docs]

    def list_accounts(self, ctx: RequestContext, query: ListAccountsQuery) -> Page[m.Account]:
        return self._customer_data(ctx, "accounts", "listAccounts", query, m.Account)

    def list_service_contracts(
        self, ctx: RequestContext, query: ListServiceContractsQuery
    ) -> Page[m.ServiceContract]:
        return self._customer_data(
            ctx, "service_contracts", "listServiceContracts", query, m.ServiceContract
        )

    def list_service_points(
        self, ctx: RequestContext, query: ListServicePointsQuery
    ) -> Page[m.ServicePoint]:
        return self._customer_data(
            ctx, "service_points", "listServicePoints", query, m.ServicePoint
        )

    def list_meter_devices(
        self, ctx: RequestContext, query: ListMeterDevicesQuery
    ) -> Page[m.MeterDevice]:
        return self._customer_data(ctx, "meter_devices", "listMeterDevices", query, m.MeterDevice)

    def list_bill_statements(
        self, ctx: RequestContext, query: ListBillStatementsQuery
    ) -> Page[m.BillStatement]:
        return self._customer_data(
            ctx, "bill_statements", "listBillStatements", query, m.BillStatement
        )

    def list_bill_sections(
        self, ctx: RequestContext, query: ListBillSectionsQuery
    ) -> Page[m.BillSection]:
        return self._customer_data(ctx, "bill_sections", "listBillSections", query, m.BillSection)

    def list_aggregations(
        self, ctx: RequestContext, query: ListAggregationsQuery
    ) -> Page[m.Aggregation]:
        return self._customer_data(ctx, "aggregations", "listAggregations", query, m.Aggregation)

    def list_usage_segments(
        self, ctx: RequestContext, query: ListUsageSegmentsQuery
    ) -> Page[m.UsageSegment]:
        return self._customer_data(
            ctx, "usage_segments", "listUsageSegments", query, m.UsageSegment
        )

    def list_energy_attribute_certificates(
        self, ctx: RequestContext, query: ListEnergyAttributeCertificatesQuery
    ) -> Page[m.EnergyAttributeCredit]:
        return self._customer_data(
            ctx, "eacs", "listEnergyAttributeCertificates", query, m.EnergyAttributeCredit
        )

    # -- paging --------------------------------------------------------------------------------
    def _page(self, docs: list[dict[str, Any]], cursor: str | None, model: type[Any]) -> Page[Any]:
        chunk, following, preceding = access.page(docs, cursor, self.page_size)
        return Page(
            items=[model.model_validate(d) for d in chunk], next=following, previous=preceding
        )


def _no_wider(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> bool:
    """Whether ``after`` grants nothing ``before`` did not: the same scopes, ``include_*``
    flags only switched off, every other value unchanged. Such a reduction needs no new
    authorization by the Customer (CDS-WG1-02 §8.6)."""
    by_type = {e["type"]: e for e in before}
    for entry in after:
        old = by_type.get(entry["type"])
        if old is None:
            return False
        for key, value in entry.items():
            if key.startswith("include_") and isinstance(value, bool):
                if value and not old.get(key):
                    return False
            elif old.get(key) != value:
                return False
    return True


#: Client Object fields a Client may set with the Clients API (CDS-WG1-02 §5.5).
_CLIENT_CHANGEABLE = (
    "redirect_uris",
    "client_name",
    "client_uri",
    "logo_uri",
    "scope",
    "contacts",
    "tos_uri",
    "policy_uri",
    "cds_status",
    "cds_default_scope",
    "cds_default_redirect_uri",
    "cds_default_authorization_details",
    "cds_purposes",
)


def _scope_group(scope_id: str) -> Any:
    """Scopes that may share a Client Object (CDS-WG1-02 §4.2): the Client Admin scope alone,
    Grant Admin scopes together, others by response types, grant types and auth method."""
    scope = SCOPES[scope_id]
    if scope.id == CLIENT_ADMIN:
        return "admin"
    return "grant_admin" if scope.type == "cds_grant_admin" else scope.kind


def _purposes(value: Any, current: dict[str, Any]) -> dict[str, Any]:
    """Submitted ``cds_purposes`` (CDS-WG3-01 §8.2): known ids keep their id and
    ``scopes_supported``; unknown ones are new Purposes with ids the Server assigns; missing
    ones are removed."""
    if not current["response_types"]:
        raise InvalidClientMetadata(
            "`cds_purposes` applies only to customer-consent Client Objects."
        )
    if not isinstance(value, dict):
        raise InvalidClientMetadata("`cds_purposes` must be an object of Purposes by id.")
    existing = current.get("cds_purposes", {})
    out: dict[str, Any] = {}
    for key, purpose in value.items():
        if not isinstance(purpose, dict):
            raise InvalidClientMetadata(f"`cds_purposes.{key}` must be a Purpose object.")
        name, content = purpose.get("name"), purpose.get("content")
        related_uri, related_name = purpose.get("related_uri"), purpose.get("related_name")
        if not isinstance(name, str) or not isinstance(content, str) or not content.strip():
            raise InvalidClientMetadata(
                f"`cds_purposes.{key}` needs a `name` and a non-blank `content`."
            )
        if related_uri is not None and (
            not isinstance(related_uri, str) or not _absolute(related_uri)
        ):
            raise InvalidClientMetadata(f"`cds_purposes.{key}.related_uri` must be null or a URL.")
        if related_uri is not None and (
            not isinstance(related_name, str) or not related_name.strip() or "\n" in related_name
        ):
            raise InvalidClientMetadata(
                f"`cds_purposes.{key}.related_name` must name the link on one line."
            )
        known = existing.get(key)
        purpose_id = key if known else "purpose-" + new_id()
        scopes = known["scopes_supported"] if known else current["scope"].split()
        entry = {
            "id": purpose_id,
            "name": name,
            "content": content,
            "related_uri": related_uri,
            "scopes_supported": scopes,
        }
        if related_uri is not None:
            entry["related_name"] = related_name
        out[purpose_id] = entry
    return out


def _check_client(client: dict[str, Any], default_redirect_given: bool) -> None:
    """Cross-field rules of a modified Client Object."""
    scopes = client["scope"].split()
    if client["scope"] != CLIENT_ADMIN:
        client["authorization_details_types"] = scopes
    if not client["response_types"]:
        return
    if not set(client["cds_default_scope"].split()) <= set(scopes):
        raise InvalidClientMetadata("`cds_default_scope` must name scopes of this Client Object.")
    if client["cds_default_redirect_uri"] not in client["redirect_uris"]:
        if default_redirect_given:
            raise InvalidClientMetadata(
                "`cds_default_redirect_uri` must be one of `redirect_uris`."
            )
        client["cds_default_redirect_uri"] = client["redirect_uris"][0]
    for entry in client["cds_default_authorization_details"]:
        if not isinstance(entry, dict) or entry.get("type") not in scopes:
            raise InvalidClientMetadata(
                "each `cds_default_authorization_details` entry needs a `type` of the Client's"
            )


def _client_value(name: str, value: Any, current: dict[str, Any], base: str) -> Any:
    """A submitted Client Object field, checked; stored with the Server's URLs relative."""
    if name == "cds_status":
        if value not in current["cds_status_options"]:
            raise InvalidClientMetadata(
                "`cds_status` must be one of " + ", ".join(current["cds_status_options"])
            )
        return value
    if name == "scope":
        wanted = value.split()
        group = _scope_group(current["scope"].split()[0])
        if not wanted or any(s not in SCOPES or _scope_group(s) != group for s in wanted):
            raise InvalidClientMetadata(
                "`scope` must name scopes this Server offers, of the same kind as the Client "
                "Object's (same response types, grant types and authentication)."
            )
        return value
    if name == "cds_purposes":
        return _purposes(value, current)
    if name in (
        "redirect_uris",
        "cds_default_redirect_uri",
        "cds_default_scope",
        "cds_default_authorization_details",
    ):
        if not current["response_types"]:
            raise InvalidClientMetadata(
                f"`{name}` applies only to Client Objects with response types."
            )
        if name == "redirect_uris":
            if not value or not all(isinstance(u, str) and _absolute(u) for u in value):
                raise InvalidClientMetadata(
                    "`redirect_uris` must be a non-empty list of absolute http(s) URLs."
                )
            for u in value:
                _check_redirect(u, base)
            return [_here(u, base) for u in value]
        if name == "cds_default_redirect_uri":
            if not isinstance(value, str) or not _absolute(value):
                raise InvalidClientMetadata("`cds_default_redirect_uri` must be an absolute URL.")
            _check_redirect(value, base)
            return _here(value, base)
        return value
    if name == "client_name" and not value:
        raise InvalidClientMetadata("`client_name` may not be empty.")
    return value


def _client_default(name: str, current: dict[str, Any]) -> Any:
    """The Server's default of a Client Object field a PUT left out (``None``: absent)."""
    own_redirect = f"{HERE}/oauth/default-redirect/{current['client_id']}"
    if name == "client_name":
        return current["client_id"]
    if name == "contacts":
        return []
    if name == "scope":
        return current["scope"]
    if name == "cds_status":
        return current["cds_status"]
    if current["response_types"]:
        return {
            "redirect_uris": [own_redirect],
            "cds_default_scope": current["scope"],
            "cds_default_redirect_uri": own_redirect,
            "cds_default_authorization_details": [],
        }.get(name)
    if name == "redirect_uris":
        return []
    return None


def _check_redirect(url: str, base: str) -> None:
    """Redirect URIs use TLS, except on the loopback interface (RFC 9700 §2.6, RFC 8252
    §7.3) and the Server's own receipt page."""
    parts = urlsplit(url)
    if parts.scheme == "https" or url.startswith(base + "/"):
        return
    if parts.scheme == "http" and parts.hostname in ("127.0.0.1", "::1", "localhost"):
        return
    raise InvalidClientMetadata(
        f"redirect URI {url[:200]!r} must use https (plain http only on the loopback interface)."
    )


def _absolute(url: str) -> bool:
    return url.startswith(("https://", "http://")) and "#" not in url


def _here(url: str | None, base: str) -> str | None:
    """``url`` stored relative to the Server when it points at the Server itself."""
    if url is not None and url.startswith(base + "/"):
        return HERE + url[len(base) :]
    return url


def grant_expires(entries: list[dict[str, Any]]) -> str | None:
    """When a Grant with these authorization details entries ends: the earliest of their
    ``expires`` values (CDS-WG3-01 §7.3.8), ``None`` when none sets an end."""
    ends = [e["expires"] for e in entries if e.get("expires") not in (None, "infinite")]
    return min(ends, key=access.parse_time) if ends else None


def as_of(grant: dict[str, Any], t: datetime) -> dict[str, Any]:
    """The Grant as it stands at ``t``: once its ``expires`` has passed it is ``expired`` and
    gives no access any more (CDS-WG3-01 §7.3.8)."""
    if (
        grant["expires"] is None
        or grant["status"] in CLOSED_STATUSES
        or access.parse_time(grant["expires"]) > t
    ):
        return grant
    return {**grant, "status": "expired", "enabled_scope": "", "enabled_authorization_details": []}


def _secret_valid(cred: dict[str, Any]) -> bool:
    expires = cred["client_secret_expires_at"]
    return expires == 0 or expires > time.time()


def _oauth_prefix(client: dict[str, Any]) -> str:
    """Where a Client Object's OAuth endpoints live: customer-data scopes have their own."""
    categories = {SCOPES[s].category for s in client["scope"].split() if s in SCOPES}
    return CUSTOMER_DATA_OAUTH_PREFIX if categories & {"customer_consent", "direct_access"} else ""


def _with_query(url: str, **params: str | None) -> str:
    from urllib.parse import urlencode

    query = urlencode({k: v for k, v in params.items() if v is not None})
    return url + ("&" if "?" in url else "?") + query
