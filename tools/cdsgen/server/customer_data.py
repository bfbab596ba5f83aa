"""The reference backend's customer data (CDS-WG3-01 §10): every listing, narrowed to what
the token's Grants share (:mod:`cdsgen.server.access`)."""

from __future__ import annotations

from typing import Any

import cds_models as m
from cds_server import (
    Encoded,
    Page,
    RequestContext,
)
from cds_server.params import (
    ListAccountsQuery,
    ListAggregationsQuery,
    ListBillSectionsQuery,
    ListBillStatementsQuery,
    ListEnergyAttributeCertificatesQuery,
    ListMeterDevicesQuery,
    ListServiceContractsQuery,
    ListServicePointsQuery,
    ListUsageSegmentsQuery,
)
from cds_server.runtime import encode

from cdsgen.server import access
from cdsgen.server.catalog import HERE, localize
from cdsgen.server.core import BackendCore
from cdsgen.server.store import dumps, loads

#: The operations of this part: each reads the customer data through the read cache.
CUSTOMER_DATA_LISTINGS = frozenset(
    {
        "listAccounts",
        "listServiceContracts",
        "listServicePoints",
        "listMeterDevices",
        "listBillStatements",
        "listBillSections",
        "listAggregations",
        "listUsageSegments",
        "listEnergyAttributeCertificates",
    }
)


def _encoded_segment(doc: dict[str, Any], stored: bytes, base_url: str) -> Encoded:
    """A shown Usage Segment as JSON, its Server URLs on ``base_url``. Its Value Sets are nine
    tenths of it, and the Server stored them as JSON itself when it seeded the database: when
    the token sees all of them, those bytes go into the answer as they are; otherwise the cut
    is taken from them parsed. Nothing is validated again (``tests/test_server_encoding.py``
    checks the answers against the models)."""
    cut: access.ValueCut = doc["values"]
    values = stored if cut.whole else dumps(cut.apply(loads(stored)))
    shown = {k: v for k, v in doc.items() if k != "values"}
    fields = dumps(shown)
    if _HERE in fields:  # a Server URL to localize (the sample segments have none)
        fields = dumps(localize(shown, base_url))
    return Encoded(fields[:-1] + (b"," if len(fields) > 2 else b"") + b'"values":' + values + b"}")


_HERE = HERE.encode()


class CustomerDataAPI(BackendCore):
    # -- Customer Data API ---------------------------------------------------------------------
    def _visibility(self, ctx: RequestContext) -> access.Visibility:
        """What the token's Grants share, cached per version of those Grants: their stored
        JSON is the key, so they are parsed only when they changed."""
        stored = [self.store.raw("grants", grant_id) for grant_id in self._bearer(ctx).grant_ids]
        key = tuple(s for s in stored if s is not None)
        with self._lock:
            cached = self._visibilities.get(key)
        if cached is None:
            grants = [(loads(doc), loads(private)) for doc, private in key]
            cached = access.visibility(self.sandbox, grants)
            with self._lock:
                if len(self._visibilities) >= 512:
                    self._visibilities.clear()
                self._visibilities[key] = cached
        return cached

    def linked_document(self, token: str, kind: str, doc_id: str) -> dict[str, Any] | None:
        """A customer-data object the Bearer ``token`` may see (for the documents it links);
        ``None`` when the token is not valid or does not share it."""
        resolved = self.authenticate_token(RequestContext("", ""), token)
        if resolved is None:
            return None
        vis = self._visibility(RequestContext("", "", token=resolved))
        if doc_id not in vis.listable[kind]:
            return None
        shown = access.present(kind, self.sandbox.objects[kind][doc_id], vis)
        if shown is None or (kind == "bill_statements" and "file_uri" not in shown):
            return None  # not inside the Grant's bounds, or not its file (§7.2.5.1)
        return self.sandbox.objects[kind][doc_id]

    def _customer_data(
        self, ctx: RequestContext, kind: str, operation_id: str, query: Any, model: type[Any]
    ) -> Page[Any]:
        vis = self._visibility(ctx)
        listing = self._reads.listing(
            vis, operation_id, query, lambda: self._listing(vis, kind, operation_id, query)
        )

        def render() -> tuple[list[Any], str | None, str | None]:
            """The page's items, encoded once: later requests send these bytes."""
            chunk, following, preceding = access.page(listing.docs, query.cursor, self.page_size)
            if kind == "usage_segments":
                return self._encoded_segments(chunk, ctx.base_url), following, preceding
            docs = [model.model_validate(localize(d, ctx.base_url)) for d in chunk]
            return [encode(d) for d in docs], following, preceding

        items, following, preceding = self._reads.page(
            listing, query.cursor, ctx.base_url, self.page_size, render
        )
        return Page(items=list(items), next=following, previous=preceding)

    def _listing(
        self, vis: access.Visibility, kind: str, operation_id: str, query: Any
    ) -> list[dict[str, Any]]:
        """Every object of ``kind`` the visibility shows, filtered by ``query``, in order."""
        objects = self.sandbox.objects[kind]
        shown = (access.present(kind, objects[i], vis) for i in objects if i in vis.listable[kind])
        docs = [d for d in shown if d is not None]
        docs = access.apply_filters(operation_id, query, docs, self.sandbox)
        return access.order(operation_id, docs, lambda related: self.sandbox.objects[related])

    def _encoded_segments(self, docs: list[dict[str, Any]], base_url: str) -> list[Encoded]:
        """Usage Segments with the Value Sets their :class:`access.ValueCut` names, as JSON."""
        if not docs:
            return []
        stored = self._reads.values(sorted({d["values"].source for d in docs}), self._load_values)
        return [_encoded_segment(d, stored[d["values"].source], base_url) for d in docs]

    def _load_values(self, ids: list[str]) -> dict[str, bytes]:
        """The stored Value Sets (JSON) of the segments ``ids``: written once, when seeded."""
        marks = ",".join("?" * len(ids))
        rows = self.store.db().execute(
            f"SELECT id, data FROM usage_values WHERE id IN ({marks})", ids
        )
        return {r[0]: bytes(r[1]) for r in rows}

    def list_accounts(self, ctx: RequestContext, query: ListAccountsQuery) -> Page[m.Account]:
        return self._customer_data(ctx, "accounts", "listAccounts", query, m.Account)

    def list_service_contracts(
        self, ctx: RequestContext, query: ListServiceContractsQuery
    ) -> Page[m.ServiceContract]:
        return self._customer_data(
            ctx, "service_contracts", "listServiceContracts", query, m.ServiceContract
        )

    def list_service_points(
        self, ctx: RequestContext, query: ListServicePointsQuery
    ) -> Page[m.ServicePoint]:
        return self._customer_data(
            ctx, "service_points", "listServicePoints", query, m.ServicePoint
        )

    def list_meter_devices(
        self, ctx: RequestContext, query: ListMeterDevicesQuery
    ) -> Page[m.MeterDevice]:
        return self._customer_data(ctx, "meter_devices", "listMeterDevices", query, m.MeterDevice)

    def list_bill_statements(
        self, ctx: RequestContext, query: ListBillStatementsQuery
    ) -> Page[m.BillStatement]:
        return self._customer_data(
            ctx, "bill_statements", "listBillStatements", query, m.BillStatement
        )

    def list_bill_sections(
        self, ctx: RequestContext, query: ListBillSectionsQuery
    ) -> Page[m.BillSection]:
        return self._customer_data(ctx, "bill_sections", "listBillSections", query, m.BillSection)

    def list_aggregations(
        self, ctx: RequestContext, query: ListAggregationsQuery
    ) -> Page[m.Aggregation]:
        return self._customer_data(ctx, "aggregations", "listAggregations", query, m.Aggregation)

    def list_usage_segments(
        self, ctx: RequestContext, query: ListUsageSegmentsQuery
    ) -> Page[m.UsageSegment]:
        return self._customer_data(
            ctx, "usage_segments", "listUsageSegments", query, m.UsageSegment
        )

    def list_energy_attribute_certificates(
        self, ctx: RequestContext, query: ListEnergyAttributeCertificatesQuery
    ) -> Page[m.EnergyAttributeCredit]:
        return self._customer_data(
            ctx, "eacs", "listEnergyAttributeCertificates", query, m.EnergyAttributeCredit
        )
