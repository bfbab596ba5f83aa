"""The reference backend's administrative APIs (CDS-WG1-02 §5–9): Clients, Credentials,
Messages, Grants and Server-Provided Files, each seen only by its own registration."""

from __future__ import annotations

import base64
import time
from typing import Any

import cds_models as m
from cds_server import (
    FIRST_PAGE,
    Accepted,
    FileDownload,
    Page,
    RequestContext,
)
from cds_server.backend import ClientMessageListingPages
from cds_server.errors import (
    ContentTooLarge,
    InvalidAuthorizationDetails,
    InvalidClientMetadata,
    InvalidRequest,
    NotFound,
)
from cds_server.params import (
    ListClientsQuery,
    ListCredentialsQuery,
    ListGrantsQuery,
    ListMessagesQuery,
    ListServerProvidedFilesQuery,
)

from cdsgen.server import access, details
from cdsgen.server.catalog import (
    HERE,
    SCOPES,
    localize,
)
from cdsgen.server.core import (
    _CLIENT_CHANGEABLE,
    ATTACHMENT_LIMIT,
    CLIENT_MESSAGE_STATUS,
    CLOSED_STATUSES,
    BackendCore,
    _check_client,
    _client_default,
    _client_value,
    _here,
    _no_wider,
    as_of,
    grant_expires,
    new_id,
    now,
    stamp,
)
from cdsgen.server.seed import FILES


class AdminAPIs(BackendCore):
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
