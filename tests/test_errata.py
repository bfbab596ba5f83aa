"""Every inconsistency of the published text that a machine can find has a recorded erratum."""

from __future__ import annotations

import pytest
import reference_facts as rf


@pytest.mark.parametrize("document", rf.DOCUMENTS)
def test_every_broken_link_of_the_published_text_has_an_erratum(spec, document):
    """Links to anchors the text does not define (or written without '#'), as extracted."""
    broken = rf.facts(document).unresolved_links
    assert "" not in broken
    recorded = {e.target.get("link") for e in spec.errata if e.document == document}
    missing = [f"#{t} (line {n})" for t, n in broken.items() if t not in recorded]
    assert not missing, "links with no erratum: " + ", ".join(missing)


def test_every_erratum_names_a_place_in_the_published_text(spec):
    for erratum in spec.errata:
        assert erratum.anchor in spec.documents[erratum.document].all_anchors(), erratum.id
