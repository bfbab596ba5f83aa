"""The built site (mkdocs build --strict), checked against the published documents and the model."""

from __future__ import annotations

import json
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
from reference_facts import facts

pytestmark = pytest.mark.xdist_group("site")

DOCUMENTS = ["cds-wg1-01", "cds-wg1-02", "cds-wg3-01"]


class Page(HTMLParser):
    """Ids, links and text of one built page."""

    def __init__(self, path: Path):
        super().__init__()
        self.ids: list[str] = []
        self.links: list[str] = []
        self.text: list[str] = []
        self._stack: list[dict[str, str]] = []
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "a" and "href" in a:
            self.links.append(a["href"])

    def handle_data(self, data):
        self.text.append(data)

    @property
    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())

    @staticmethod
    def text_of(fragment: str) -> str:
        """The text an HTML fragment shows."""
        parser = HTMLParser()
        parts: list[str] = []
        parser.handle_data = parts.append
        parser.feed(fragment)
        parser.close()
        return "".join(parts)


def page_path(site: Path, page: str) -> Path:
    return site / page / "index.html"


@pytest.mark.parametrize("doc_id", DOCUMENTS)
def test_every_published_anchor_is_an_id_on_the_document_page(built_site, doc_id):
    outline = facts(doc_id).outline
    page = Page(page_path(built_site, f"spec/{doc_id}"))
    anchors = outline.all_anchors()
    assert len(anchors) > 40
    missing = [a for a in anchors if a not in page.ids]
    assert missing == []
    duplicated = [i for i, n in Counter(page.ids).items() if n > 1]
    assert duplicated == []


@pytest.mark.parametrize("doc_id", DOCUMENTS)
def test_sections_in_published_order_link_to_the_published_text(built_site, spec, doc_id):
    doc = spec.documents[doc_id]
    outline = facts(doc_id).outline
    page = Page(page_path(built_site, f"spec/{doc_id}"))
    headings = [s.anchor for s in outline.flat_sections()]
    positions = [page.ids.index(a) for a in headings]
    assert positions == sorted(positions), "sections out of published order"
    for s in outline.flat_sections():
        assert f"{doc.published_url}#{s.anchor}" in page.links, s.anchor
        if s.number:
            assert f"{s.number}. {s.title}".replace("  ", " ") in page.all_text
    assert f"Version {doc.version}" in page.all_text
    assert f"status {doc.status}" in page.all_text


def test_field_table_shows_types_requirements_and_origin(built_site):
    html = page_path(built_site, "spec/cds-wg3-01").read_text(encoding="utf-8")
    row = re.search(r"<tr>\s*<td><code>meter_types</code></td>(.*?)</tr>", html, re.S)
    assert row, "no meter_types row"
    cells = re.findall(r"<td>(.*?)</td>", row.group(1), re.S)
    assert 'href="#cdsgen-enum-MeterType"' in cells[0]
    assert cells[1] == "REQUIRED"
    assert cells[2] == "no"
    assert 'href="#meter-device-format"' in cells[5]
    # a field added by a later document names the extending section on the earlier page
    wg101 = page_path(built_site, "spec/cds-wg1-01").read_text(encoding="utf-8")
    row = re.search(r"<td><code>oauth_metadata</code></td>(.*?)</tr>", wg101, re.S)
    assert row and 'href="../cds-wg1-02/#auth-server-metadata-url"' in row.group(1)


def test_endpoint_block_lists_request_advertising_field_scopes_and_filters(built_site):
    html = page_path(built_site, "spec/cds-wg3-01").read_text(encoding="utf-8")
    block = html.split('id="cdsgen-op-listMeterDevices"', 1)[1].split("</div>", 1)[0]
    text = re.sub(r"<[^>]+>", "", block).replace("&#95;", "_").replace("&#45;", "-")
    assert "GET /cds-customerdata-api/v1/meter-devices" in text
    assert "AuthorizationServerMetadata.cds_meterdevices_api" in text
    for name in (
        "cds_meterdevice_ids",
        "meter_number",
        "current_servicepoints",
        "q",
        "cds_query_meter_devices",
    ):
        assert name in text, name


def test_examples_are_marked_validated_or_linked_to_their_errata(built_site, spec, lint_result):
    verdicts = lint_result.example_problems
    for doc_id in DOCUMENTS:
        html = page_path(built_site, f"spec/{doc_id}").read_text(encoding="utf-8")
        for ex in (e for e in spec.examples.values() if e.document == doc_id):
            block = html.split(f'id="cdsgen-example-{ex.id}"', 1)[1].split("</div>", 1)[0]
            if verdicts[ex.id]:
                assert "validated" not in block.replace("not valid as published", "")
                for er in ex.errata:
                    assert f'href="../errata/#{er}"' in block, (ex.id, er)
            else:
                assert 'class="cds-badge cds-validated"' in block, ex.id
    assert any(not verdicts[e.id] for e in spec.examples.values())


def test_errata_page_lists_every_erratum(built_site, spec):
    page = Page(page_path(built_site, "spec/errata"))
    assert len(spec.errata) > 100
    missing = [e.id for e in spec.errata if e.id not in page.ids]
    assert missing == []
    counted = [e.id for e in spec.errata]
    assert len(counted) == len(set(counted))


def test_search_index_finds_field_names(built_site):
    index = json.loads((built_site / "search/search_index.json").read_text(encoding="utf-8"))
    hits = [d["location"] for d in index["docs"] if "meter_types" in d["text"]]
    assert any(h.startswith("spec/cds-wg3-01/#meter-device-format") for h in hits), hits


def test_relationship_diagram_links_customer_data_objects(built_site):
    html = page_path(built_site, "spec/relationships").read_text(encoding="utf-8")
    source = re.search(r'<pre class="mermaid"><code>(.*?)</code></pre>', html, re.S).group(1)
    source = source.replace("&gt;", ">").replace("&quot;", '"')
    assert source.startswith("flowchart LR")
    links = {
        (a, field.strip(), b)
        for a, fields, b in re.findall(r'^\s*(\w+) -- "([^"]*)" --> (\w+)$', source, re.M)
        for field in fields.split(",")
    }
    for link in (
        ("MeterDevice", "current_servicepoints [ ]", "ServicePoint"),
        ("MeterDevice", "previous_servicepoints [ ]", "ServicePoint"),
        ("ServicePoint", "current_servicecontracts [ ]", "ServiceContract"),
        ("UsageSegment", "related_meterdevices [ ]", "MeterDevice"),
        ("UsageSegment", "formats[].related_meterdevices [ ]", "MeterDevice"),
        ("BillSection", "cds_billstatement_id", "BillStatement"),
    ):
        assert link in links, link
    assert "mermaid.min.js" in html


def test_site_is_self_contained(built_site, root):
    generated = root / "generated/openapi/cds.openapi.json"
    assert (
        built_site / "downloads/openapi/cds.openapi.json"
    ).read_bytes() == generated.read_bytes()
    assert (built_site / "downloads/jsonschema/MeterDevice.schema.json").is_file()
    for asset in (
        "mermaid/mermaid.min.js",
        "swagger-ui/swagger-ui-bundle.js",
        "swagger-ui/swagger-ui.css",
    ):
        assert (built_site / "assets/vendor" / asset).stat().st_size > 100_000, asset
    # nothing the browser loads by itself comes from elsewhere (links to the published text may)
    for page in built_site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        loaded = re.findall(r'<(?:script|img|iframe)[^>]*\ssrc="([^"]+)"', html)
        loaded += re.findall(r'<link[^>]*\shref="([^"]+)"', html)
        remote = [u for u in loaded if re.match(r"^(https?:)?//", u)]
        assert remote == [], (page, remote)
