"""Run inside a fresh venv that has only ``cds-models`` installed (tests/test_dist.py).

Reads ``[[example id, model name, body], ...]`` (JSON) from the file named by argv[1] and
validates each body with its model; then checks forward compatibility on the first Server
Metadata body: an unknown field is kept, an unknown capability stays a plain string while
known ones are enum members. Prints one line per check; exits 1 on the first failure."""

from __future__ import annotations

import json
import sys
from enum import Enum
from importlib import metadata

import cds_models
from installed import installed_besides


def main() -> int:
    extra = installed_besides(["cds-models"])
    if extra:
        print(f"FAIL installed beyond cds-models and its needs: {sorted(extra)}")
        return 1
    direct = sorted(
        r.split(">")[0].split("=")[0].split("<")[0] for r in metadata.requires("cds-models") or []
    )
    print(f"ok cds-models {metadata.version('cds-models')} requires {direct}")
    cases = json.loads(open(sys.argv[1], encoding="utf-8").read())
    for example, name, body in cases:
        getattr(cds_models, name).model_validate(body)
        print(f"ok {example} as {name}")
    metadata_body = next(body for _, name, body in cases if name == "ServerMetadata")
    future = {
        **metadata_body,
        "x_future_field": {"kept": [1, 2]},
        "capabilities": [*metadata_body["capabilities"], "some_future_capability"],
    }
    meta = cds_models.ServerMetadata.model_validate(future)
    if meta.model_extra != {"x_future_field": {"kept": [1, 2]}}:
        print(f"FAIL unknown field not kept: {meta.model_extra!r}")
        return 1
    *known, unknown = meta.capabilities
    if unknown != "some_future_capability" or isinstance(unknown, Enum):
        print(f"FAIL unknown capability not kept as a string: {unknown!r}")
        return 1
    if not all(isinstance(c, Enum) for c in known):
        print(f"FAIL known capabilities are not enum members: {known!r}")
        return 1
    dumped = meta.model_dump(mode="json")
    if (
        dumped["x_future_field"] != {"kept": [1, 2]}
        or "some_future_capability" not in dumped["capabilities"]
    ):
        print("FAIL unknown field or value lost when dumped")
        return 1
    print("ok unknown field and unknown capability kept")
    return 0


if __name__ == "__main__":
    sys.exit(main())
