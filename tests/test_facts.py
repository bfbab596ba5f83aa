"""Fact-by-fact comparison of the generated OpenAPI with the published documents.

For every object, enumeration, extension and listing of each document, the published facts
(extracted independently by :mod:`cdsgen.published` and committed as each document's
``published-facts.json`` snapshot) must match the generated OpenAPI: field
names, types, REQUIRED/OPTIONAL, nullability, enumerated values and listing filters. Where
the published text itself is ambiguous (a field with no REQUIRED/OPTIONAL marker) an
erratum must say how we read it.
"""

from __future__ import annotations

import pytest
import reference_facts as rf
from reference_facts import DOCUMENTS

#: Filter lists and orderings published in a section other than their operation's own.
LISTING_SECTIONS = {
    "coverage-listing-filters": "listCoverage",
    "coverage-listing-format": "listCoverage",
}


def _components(openapi, document):
    return {
        name: s
        for name, s in openapi["components"]["schemas"].items()
        if s.get("x-cds-document") == document
    }


def _own_properties(schema, anchor, document):
    return {
        name: prop
        for name, prop in schema.get("properties", {}).items()
        if prop.get("x-cds-anchor", anchor) == anchor
        and prop.get("x-cds-document", document) == document
    }


def _compare_fields(published, ours, components, where, spec, object_name, named=()):
    """``named``: fields the section lists by name only (e.g. "the following RFC 7591 fields
    are REQUIRED: `client_id` …"); they must exist, their types come from the RFC."""
    problems = []
    pub = {f.name: f for f in published}
    for name in pub.keys() - ours.keys():
        problems.append(f"{where}: published field `{name}` is missing")
    for name in ours.keys() - pub.keys() - set(named):
        if "x-cds-origin" not in ours[name][0]:
            problems.append(
                f"{where}: field `{name}` is not in the published text (and has no origin)"
            )
    for name in pub.keys() & ours.keys():
        f, prop, schema = pub[name], ours[name][0], ours[name][1]
        if "x-cds-origin" in prop:
            continue  # the published bullet is qualified elsewhere (e.g. a variant's exception)
        sig, nullable = rf.schema_signature(prop, components)
        if f.signature is not None and sig != f.signature:
            problems.append(
                f"{where}.{name}: type {sig} but published {f.signature} ({f.type_text})"
            )
        if nullable != f.nullable:
            problems.append(f"{where}.{name}: nullable={nullable} but published {f.type_text}")
        required = name in schema.get("required", [])
        if f.required is None:
            if not spec.errata_for(object=object_name, field=name):
                problems.append(
                    f"{where}.{name}: published with no REQUIRED/OPTIONAL marker and no erratum"
                )
        elif f.required and not required and "x-cds-required-if" in prop:
            pass  # REQUIRED for the enumerated value that adds it: a conditional requirement
        elif required != f.required and not spec.errata_for(object=object_name, field=name):
            problems.append(
                f"{where}.{name}: required={required} but published "
                + ("REQUIRED" if f.required else "OPTIONAL")
            )
    return problems


@pytest.mark.parametrize("document", DOCUMENTS)
def test_objects_match_published_fields(document, openapi, spec):
    components = openapi["components"]["schemas"]
    published = rf.facts(document)
    problems = []
    mine = _components(openapi, document)
    if not mine:
        pytest.skip(f"{document} is not transcribed yet")
    for name, schema in mine.items():
        if schema.get("type") != "object" or "properties" not in schema:
            continue
        anchor = schema["x-cds-anchor"]
        if "x-cds-origin" in schema:
            continue  # defined by a referenced standard, not listed by the CDS text
        assert anchor in published.headings(), f"{name}: #{anchor} is not a section of {document}"
        section = published.section(anchor)
        ours = {n: (p, schema) for n, p in _own_properties(schema, anchor, document).items()}
        problems += _compare_fields(
            section.fields, ours, components, f"{name} (#{anchor})", spec, name, section.values
        )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("document", DOCUMENTS)
def test_enums_match_published_values(document, openapi, spec):
    published_facts = rf.facts(document)
    problems = []
    for name, schema in _components(openapi, document).items():
        if "enum" not in schema:
            continue
        anchor = schema["x-cds-anchor"]
        origins = schema.get("x-cds-value-origins", {})
        ours = [v for v in schema["enum"] if v not in origins]
        published = published_facts.section(anchor).values
        if ours != published:
            problems.append(f"{name} (#{anchor}): ours {ours} != published {published}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("document", DOCUMENTS)
def test_fields_added_by_enum_values(document, openapi, spec):
    """Fields a published enumerated value adds to an object (nested bullets)."""
    components = openapi["components"]["schemas"]
    published = rf.facts(document)
    problems = []
    for name, schema in _components(openapi, document).items():
        if "enum" not in schema:
            continue
        anchor = schema["x-cds-anchor"]
        nested = published.section(anchor).value_fields
        if not nested:
            continue
        ours = {}
        for other in components.values():
            for pname, prop in other.get("properties", {}).items():
                if prop.get("x-cds-anchor") == anchor and other.get("x-cds-document") == document:
                    ours[pname] = (prop, other)
        problems += _compare_fields(
            nested, ours, components, f"{name} (#{anchor}) value fields", spec, None
        )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("document", DOCUMENTS)
def test_extensions_match_published_sections(document, openapi, spec):
    components = openapi["components"]["schemas"]
    published = rf.facts(document)
    problems = []
    anchors = sorted({e.anchor for e in spec.extensions if e.document == document})
    for anchor in anchors:
        published_fields = {f.name: f for f in published.section(anchor).fields}
        published_values = set(published.section(anchor).values)
        ours_fields, ours_values = {}, set()
        for schema in components.values():
            for pname, prop in schema.get("properties", {}).items():
                if prop.get("x-cds-anchor") == anchor and prop.get("x-cds-document") == document:
                    ours_fields[pname] = (prop, schema)
            for value, origin in schema.get("x-cds-value-origins", {}).items():
                if origin == f"{document}#{anchor}":
                    ours_values.add(value)
        # a value added to an enum may be published as a typed bullet, like a field
        typed_values = {v for v in ours_values if v in published_fields}
        fields_only = [f for n, f in published_fields.items() if n not in typed_values]
        problems += _compare_fields(
            fields_only, ours_fields, components, f"extension #{anchor}", spec, None
        )
        missing_values = (published_values | typed_values) - ours_values
        if published_values - ours_values:
            problems.append(
                f"extension #{anchor}: published values {sorted(missing_values)} missing"
            )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("document", DOCUMENTS)
def test_listing_filters_match(document, openapi, spec):
    operations = {
        op["operationId"]: op
        for path in openapi["paths"].values()
        for op in path.values()
        if op.get("x-cds-document") == document
    }
    by_anchor = {
        op["x-cds-anchor"]: op for op in operations.values() if op.get("parameters") or True
    }
    problems = []
    for anchor, section in rf.facts(document).sections.items():
        published = section.filters
        if not published:
            continue
        op = operations.get(LISTING_SECTIONS.get(anchor, "")) or by_anchor.get(anchor)
        if op is None:
            problems.append(
                f"#{anchor} lists filters {sorted(published)} but no operation is anchored there"
            )
            continue
        ours = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "query"}
        for name, search_fields in published.items():
            if name not in ours:
                problems.append(f"{op['operationId']}: published filter `{name}` missing")
            elif search_fields:
                got = ours[name].get("x-cds-search-fields", [])
                missing = [f for f in search_fields if f not in got]
                errata = spec.errata_for(endpoint=op["operationId"])
                if missing and not errata:
                    problems.append(f"{op['operationId']}.{name}: search fields {missing} missing")
        extra = {
            n
            for n, p in ours.items()
            if "x-cds-matches" in p or "x-cds-syntax" in p.get("schema", {})
        } - published.keys()
        for name in sorted(extra):
            problems.append(f"{op['operationId']}: filter `{name}` is not published at #{anchor}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_published_object_and_enumeration_is_transcribed(document, openapi, spec):
    """Every section that lists typed fields, and every "… Types/Statuses/Formats" section
    that lists values, is the anchor of a component or of an extension."""
    anchors = {s["x-cds-anchor"] for s in _components(openapi, document).values()}
    anchors |= {e.anchor for e in spec.extensions if e.document == document}
    published = rf.facts(document)
    titles = {anchor: s.title for anchor, s in published.headings().items()}
    assert len(published.sections) >= 5
    missing = []
    for anchor, section in published.sections.items():
        lists_fields = bool(section.fields)
        lists_values = bool(section.values) and titles.get(anchor, "").endswith(
            ("Types", "Statuses", "Formats")
        )
        if (lists_fields or lists_values) and anchor not in anchors:
            missing.append(f"#{anchor} ({titles.get(anchor)})")
    assert not missing, "not transcribed: " + ", ".join(missing)


@pytest.mark.parametrize("document", DOCUMENTS)
def test_listing_orderings_match(document, openapi, spec):
    """Every "MUST be ordered … by `x`", then "further ordered … by `y`" of a listing section,
    key by key, with its direction; a published key that names no field needs an erratum."""
    by_id = {
        op["operationId"]: op
        for path in openapi["paths"].values()
        for op in path.values()
        if op.get("x-cds-document") == document
    }
    operations = {op["x-cds-anchor"]: op for op in by_id.values()}
    operations.update({a: by_id[o] for a, o in LISTING_SECTIONS.items() if o in by_id})
    problems = []
    checked = 0
    for anchor, section in rf.facts(document).sections.items():
        published = section.ordering
        if not published:
            continue
        op = operations.get(anchor)
        if op is None:
            problems.append(f"#{anchor}: published ordering but no operation anchored there")
            continue
        ours = [(k["by"], k["direction"]) for k in op.get("x-cds-ordering", [])]
        checked += 1
        if ours != published and not spec.errata_for(endpoint=op["operationId"]):
            problems.append(f"{op['operationId']}: ordering {ours} but published {published}")
        elif len(ours) != len(published) or [d for _, d in ours] != [d for _, d in published]:
            problems.append(f"{op['operationId']}: ordering {ours} but published {published}")
    assert checked
    assert not problems, "\n".join(problems)


def _verbatim(text: str) -> str:
    """A code block's lines without trailing blanks (YAML block scalars drop them)."""
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


@pytest.mark.parametrize("document", DOCUMENTS)
def test_example_bodies_are_the_published_code_blocks(document, spec):
    """Each source example is a published code block of its section, verbatim, or one of the
    exchanges of a block that shows several; each published block is some example's."""
    blocks = [(e.section, _verbatim(e.text)) for e in rf.facts(document).examples]
    assert blocks
    used: set[int] = set()
    problems = []
    for ex in (e for e in spec.examples.values() if e.document == document):
        text = _verbatim(ex.text)
        found = [
            i
            for i, (section, block) in enumerate(blocks)
            if section == ex.anchor
            and (
                text == block
                or (text.startswith("==Request==") and f"\n{text}\n" in f"\n{block}\n")
            )
        ]
        if not found:
            problems.append(f"{ex.id} (#{ex.anchor}) is not a published code block of its section")
        used.update(found)
    unused = [f"#{blocks[i][0]} block {i + 1}" for i in range(len(blocks)) if i not in used]
    assert not problems, "\n".join(problems)
    assert not unused, "published examples with no source example: " + ", ".join(unused)
