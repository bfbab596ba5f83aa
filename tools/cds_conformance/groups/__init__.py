"""The check groups, in the order a Client meets them."""

from __future__ import annotations

from cds_conformance.groups import details, discovery, isolation, listings, registration, tokens

#: (group name, runner) in run order.
GROUPS = [
    ("discovery", discovery.run),
    ("scopes", discovery.run_scopes),
    ("registration", registration.run),
    ("tokens", tokens.run),
    ("listings", listings.run),
    ("isolation", isolation.run),
    ("details", details.run),
]
