"""Descriptions are written in our own words: no summary repeats a run of eight or more words
of the published text (quoted example values, which are facts, excepted).

This is the one fact test that needs the published prose itself; without the texts at hand
it is skipped (see :data:`reference_facts.HOW_TO_RUN`)."""

from __future__ import annotations

import re

import reference_facts as rf

RUN = 8


def _words(text: str) -> list[str]:
    text = re.sub(r'"[^"]*"', " ", text)  # quoted examples are facts, not prose
    return re.sub(r"[`_*\[\]()#]", "", text).lower().split()


def test_no_summary_copies_the_published_text(spec):
    published = {
        doc: " ".join(_words(rf.published_text(doc).read_text(encoding="utf-8")))
        for doc in spec.documents
    }
    items = []
    for o in spec.objects.values():
        items.append((o.document, o.name, o.summary))
        items += [
            (f.document or o.document, f"{o.name}.{f.name}", f.summary) for f in o.fields.values()
        ]
    for e in spec.enums.values():
        items.append((e.document, e.name, e.summary))
        items += [
            (v.document or e.document, f"{e.name}.{v.name}", v.summary) for v in e.values.values()
        ]
    items += [(ep.document, ep.operation_id, ep.summary) for ep in spec.endpoints.values()]
    items += [(s.document, s.type, s.summary) for s in spec.scopes.values()]
    items += [(a.document, a.id, a.summary) for a in spec.authorization_details_fields.values()]
    items += [(e.document, e.id, e.problem) for e in spec.errata]
    copied = []
    for doc, where, text in items:
        words = _words(text)
        for i in range(len(words) - RUN + 1):
            if " ".join(words[i : i + RUN]) in published[doc]:
                copied.append(f"{where}: '{' '.join(words[i : i + RUN])}'")
                break
    assert len(items) > 1000
    assert not copied, "\n".join(copied)
