"""Register a Client on a CDS Server and add up every electric usage value it may read.

    python examples/read_usage.py BASE_URL      # e.g. http://127.0.0.1:8000 (cdsgen serve)

The path of CDS-WG1-02 §4 and CDS-WG3-01 §13.1, with the generated ``cds_client``:

1. discover the Server from BASE_URL (well-known Server Metadata → ``oauth_metadata``);
2. register for the Client Admin scope and the usage-query scope (every scope id whose type
   is ``cds_query_usage``, whatever the Server names it);
3. with the Client Admin token, find the Client Object carrying the usage scope (Clients API),
   read its secret (Credentials API) and its own metadata (``cds_server_metadata`` →
   ``oauth_metadata``), and get a token at *its* token endpoint;
4. read every Usage Segment, page after page, at *its* ``cds_usagesegments_api``.

The last line printed is ``total_kwh=<sum>``, the net electric energy delivered to the
Customers in kWh, counted as :func:`segment_kwh` says.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator

from cds_client import CdsClient
from cds_models import ElectricUsageValueFormat, UsageSegment

#: Kilowatt-hours per unit of the energy units an Electric Usage Value Format may use.
KWH_PER_UNIT = {"Wh": 0.001, "kWh": 1.0, "MWh": 1000.0}


def segment_kwh(segment: UsageSegment) -> Iterator[float]:
    """The electric usage values of a segment, in kWh.

    * Only Value Formats of type ``electric_usage`` in Wh, kWh or MWh count (other value
      types, and units a later version might add, are ignored, as Clients must).
    * When some of them have ``direction: net``, only those count: a Server sending ``net``
      beside ``forward`` and ``reverse`` describes the same energy twice.
    * Otherwise every one counts: ``forward`` values are positive and ``reverse`` values
      negative (CDS-WG3-01 §10.8.5.1.2), so together they add up to the net; formats
      without a ``direction`` count as they are.
    * A missing value (``null`` in its Value Set) counts as nothing.
    """
    electric = [
        (i, f)
        for i, f in enumerate(segment.formats)
        if isinstance(f, ElectricUsageValueFormat) and f.units in KWH_PER_UNIT
    ]
    counted = [(i, f) for i, f in electric if f.direction == "net"] or electric
    for value_set in segment.values:
        for i, f in counted:
            value = value_set[i]
            if value is not None:
                yield float(value["eu"]) * KWH_PER_UNIT[f.units]


def main(base_url: str) -> int:
    with CdsClient(base_url) as cds:
        server = cds.server_metadata()
        print(f"Server: {server.name}")
        admin = cds.register(["cds_query_usage"], client_name="cdsgen read_usage example")
        print(f"registered Client Admin {admin.client_id}")
        usage = admin.session_for_scope("cds_query_usage")
        print(f"usage scope {usage.scope} on Client Object {usage.client_id}")
        print(f"token endpoint {usage.metadata.token_endpoint}")
        segments = 0
        values: list[float] = []
        for segment in usage.iter_usage_segments():
            segments += 1
            values.extend(segment_kwh(segment))
        print(f"{segments} usage segments, {len(values)} electric usage values")
    # fsum: the correctly rounded sum, whatever the order of the pages
    print(f"total_kwh={math.fsum(values):.6f}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
