"""Schemathesis hooks for the reference Server: credentials that pass each operation's
authentication, chosen from the operation's ``security`` (loaded by ``st run`` through
``SCHEMATHESIS_HOOKS``; the credentials come in ``CDS_FUZZ_CREDENTIALS`` as JSON)."""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis
from cds_harness import credentials_for


@schemathesis.auth()
class ReferenceServerAuth:
    """Adds the Authorization header each operation needs."""

    def get(self, case: Any, ctx: Any) -> dict:
        return json.loads(os.environ["CDS_FUZZ_CREDENTIALS"])

    def set(self, case: Any, data: dict, ctx: Any) -> None:
        security = case.operation.definition.raw.get("security")
        case.headers = {**(case.headers or {}), **credentials_for(security, data)}
