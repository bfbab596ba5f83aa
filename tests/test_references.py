"""Links between objects are facts of the source (``refers_to`` on fields, ``fills`` on
``include_*`` authorization details fields); the site diagram, the generated
``cds_server.references`` and the reference Server's access control all follow them."""

from __future__ import annotations

import re

from cds_server.references import FILLS, REFERENCES
from cdsgen.server.access import FIELD_INCLUDES, KINDS, RELATED
from cdsgen.types import names_in

#: Names the documents give to fields listing other objects' ids (a guard: a new field of this
#: shape without ``refers_to`` is probably a missing link).
LINK_NAME = re.compile(
    r"^(related|current|previous|grouped)_(accounts|servicecontracts|"
    r"servicepoints|meterdevices?|billsections|aggregations)$"
)


def test_every_id_list_field_declares_what_it_refers_to(spec):
    missing = [
        f"{o.name}.{f.name}"
        for o in spec.objects.values()
        for f in o.fields.values()
        if LINK_NAME.match(f.name) and names_in(f.type) == ["string"] and not f.refers_to
    ]
    assert not missing


def test_generated_references_match_the_source(spec):
    expected = {
        o.name: {f.name: (f.refers_to, f.many) for f in o.fields.values() if f.refers_to}
        for o in spec.objects.values()
    }
    got = {o: {n: (r.target, r.many) for n, r in links.items()} for o, links in REFERENCES.items()}
    assert got == {o: links for o, links in expected.items() if links}
    assert FILLS == {f.id: f.fills for f in spec.authorization_details_fields.values() if f.fills}


def test_the_reference_server_follows_the_declared_links():
    # every list of ids in a data object is narrowed to what the token may see
    assert RELATED["grouped_accounts"] == "accounts"
    assert RELATED["related_billsections"] == "bill_sections"
    assert set(RELATED) == {
        name
        for obj, _ in KINDS.values()
        for name, ref in REFERENCES.get(obj, {}).items()
        if ref.many
    }
    assert FIELD_INCLUDES["service_contracts"]["include_account_numbers"] == ("account_number",)


def test_relationship_diagram_has_every_link_between_resources(root):
    page = (root / "site/spec/relationships.md").read_text(encoding="utf-8")
    for name in (
        "grouped_accounts",
        "grouped_servicecontracts",
        "grouped_servicepoints",
        "grouped_meterdevices",
        "grouped_aggregations",
    ):
        assert re.search(rf'Aggregation -- "[^"]*\b{name} \[ \]', page), name
    assert 'formats[].related_meterdevices [ ], formats[].related_meterdevice"' in page
