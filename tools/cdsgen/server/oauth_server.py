"""The reference backend's OAuth server: discovery metadata, registration (CDS-WG1-02 §4),
tokens (client credentials, authorization code with PKCE, refresh with rotation), revocation,
introspection, pushed authorization requests and the Customer's consent decision."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import cds_models as m
from cds_server import (
    Encoded,
    Page,
    Redirect,
    RequestContext,
)
from cds_server.errors import (
    InvalidAuthorizationDetails,
    InvalidClient,
    InvalidClientMetadata,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from cds_server.params import (
    AuthorizeQuery,
    ListCoverageQuery,
)
from cds_server.runtime import encode
from pydantic import BaseModel

from cdsgen.server import access, catalog, details
from cdsgen.server.catalog import (
    CLIENT_ADMIN,
    GRANT_ADMIN,
    HERE,
    SCOPES,
    OfferedScope,
    localize,
)
from cdsgen.server.core import (
    ACCESS_TOKEN_SECONDS,
    CLOSED_STATUSES,
    CODE_SECONDS,
    PAR_SECONDS,
    PURGE_SECONDS,
    REFRESH_TOKEN_SECONDS,
    BackendCore,
    _oauth_prefix,
    _with_query,
    as_of,
    digest,
    grant_expires,
    is_registered_redirect,
    new_id,
    now,
    stamp,
)
from cdsgen.server.seed import FILES
from cdsgen.server.store import dumps, loads


class OAuthServer(BackendCore):
    # -- metadata --------------------------------------------------------------------------------
    def get_server_metadata(self, ctx: RequestContext) -> Encoded:
        """The same document for every request to one Server URL: validated and encoded once."""
        return self._public_document(
            ("server", ctx.base_url),
            lambda: m.ServerMetadata.model_validate(catalog.server_metadata(ctx.base_url)),
        )

    def list_coverage(self, ctx: RequestContext, query: ListCoverageQuery) -> Page[m.CoverageEntry]:
        docs = access.order(
            "listCoverage", access.apply_filters("listCoverage", query, catalog.coverage_entries())
        )
        return self._page(docs, query.cursor, m.CoverageEntry)

    def get_authorization_server_metadata(self, ctx: RequestContext) -> Encoded:
        return self._public_document(
            ("oauth", ctx.base_url, ctx.prefix),
            lambda: m.AuthorizationServerMetadata.model_validate(
                catalog.authorization_server_metadata(ctx.base_url, ctx.prefix)
            ),
        )

    def _public_document(self, key: tuple[str, ...], build: Callable[[], BaseModel]) -> Encoded:
        """A document that is the same for every request to one Server URL (the metadata):
        validated and encoded on first use, then answered as those bytes."""
        found = self._documents.get(key)
        if found is None:
            found = encode(build())
            if len(self._documents) >= 16:  # the Host header chooses the URL: keep a few
                self._documents.clear()
            self._documents[key] = found
        return found

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
        if data["redirect_uri_given"] and given != data["redirect_uri"]:
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
        if not redirect_uri or not is_registered_redirect(redirect_uri, redirect_uris):
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
