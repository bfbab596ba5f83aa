"""What every part of the reference backend shares: timing constants, ids and digests, the
store, the vault and the caches, authentication of tokens and Clients, and paging.

The backend itself (:class:`cdsgen.server.backend.ReferenceBackend`) is this core plus one
part per job: the OAuth server (:mod:`cdsgen.server.oauth_server`), the administrative APIs
(:mod:`cdsgen.server.admin_apis`) and the customer data (:mod:`cdsgen.server.customer_data`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import SplitResult, urlsplit

from cds_server import (
    AccessToken,
    Backend,
    ClientCredentials,
    Encoded,
    Page,
    RequestContext,
)
from cds_server.errors import (
    InvalidClient,
    InvalidClientMetadata,
    InvalidToken,
    NotFound,
)

from cdsgen.server import access
from cdsgen.server.catalog import (
    CLIENT_ADMIN,
    CUSTOMER_DATA_OAUTH_PREFIX,
    HERE,
    SCOPES,
)
from cdsgen.server.read_cache import ReadCache
from cdsgen.server.store import Store, loads
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


class BackendCore(Backend):
    """State, authentication and paging shared by the parts of the reference backend."""

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
        self._reads = ReadCache()
        self._documents: dict[tuple[str, ...], Encoded] = {}

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
            grant = self.store.doc("grants", grant_id)
            if grant is None:
                return None
            current = as_of(grant, now())
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
        return self.store.doc("clients", client_id)

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


#: Loopback IP literals: a native app's redirect URI there may name any port (RFC 8252 §7.3)
LOOPBACK_IPS = frozenset({"127.0.0.1", "::1"})


def is_registered_redirect(requested: str, registered: list[str]) -> bool:
    """Whether an authorization request may name ``requested``: one of the ``registered``
    redirect URIs, string for string; on a loopback IP literal over plain http, apart from
    the port, which a native app learns only when it starts listening (RFC 8252 §7.3, and
    RFC 9700 §2.1 exempts that port from exact matching)."""
    if requested in registered:
        return True
    asked = urlsplit(requested)
    if asked.scheme != "http" or asked.hostname not in LOOPBACK_IPS:
        return False
    return any(_without_port(urlsplit(uri)) == _without_port(asked) for uri in registered)


def _without_port(parts: SplitResult) -> tuple[str | None, ...]:
    return (parts.scheme, parts.username, parts.password, parts.hostname) + tuple(parts[2:])


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
