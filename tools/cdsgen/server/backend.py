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

from cdsgen.server.admin_apis import AdminAPIs
from cdsgen.server.core import digest
from cdsgen.server.customer_data import CUSTOMER_DATA_LISTINGS, CustomerDataAPI
from cdsgen.server.oauth_server import OAuthServer

__all__ = ["ReferenceBackend", "digest"]


class ReferenceBackend(OAuthServer, AdminAPIs, CustomerDataAPI):
    """The sandbox Server: customer data from :mod:`cdsgen.server.seed`, state in ``store``;
    the OAuth server, the administrative APIs and the customer data are its three parts."""

    #: Answered on the event loop, without the hand-off to a worker thread: the metadata
    #: documents (kept encoded in memory) and the customer-data listings, which only read
    #: (SQLite in WAL mode: a reader never waits for a writer) and, after a listing's first
    #: page, answer from the read cache (:mod:`cdsgen.server.read_cache`).
    inline_operations = frozenset(
        {"getServerMetadata", "getAuthorizationServerMetadata", *CUSTOMER_DATA_LISTINGS}
    )
