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
from cdsgen.server.customer_data import CustomerDataAPI
from cdsgen.server.oauth_server import OAuthServer

__all__ = ["ReferenceBackend", "digest"]


class ReferenceBackend(OAuthServer, AdminAPIs, CustomerDataAPI):
    """The sandbox Server: customer data from :mod:`cdsgen.server.seed`, state in ``store``;
    the OAuth server, the administrative APIs and the customer data are its three parts."""

    #: The metadata documents are kept encoded in memory: no thread hand-off for them.
    inline_operations = frozenset({"getServerMetadata", "getAuthorizationServerMetadata"})
