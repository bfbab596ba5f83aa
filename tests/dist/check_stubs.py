"""Run inside a fresh venv that has only ``cds-client`` and ``cds-server`` installed (and what
they pull in): both import, with nothing installed that they do not declare."""

from __future__ import annotations

import sys

import cds_client
import cds_server
from installed import installed_besides


def main() -> int:
    extra = installed_besides(["cds-client", "cds-server"])
    if extra:
        print(f"FAIL installed beyond cds-client, cds-server and their needs: {sorted(extra)}")
        return 1
    print(f"ok cds_client.CdsClient {cds_client.CdsClient.__name__}")
    print(f"ok cds_server.create_app {cds_server.create_app.__name__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
