"""Every inconsistency of the published text that a machine can find has a recorded erratum."""

from __future__ import annotations

import re

import pytest
import reference_facts as rf
from cdsgen.outline import read_outline


@pytest.mark.parametrize("version", [rf.RELEASED, rf.DRAFT])
@pytest.mark.parametrize("document", ["cds-wg1-01", "cds-wg1-02", "cds-wg3-01"])
def test_every_broken_link_of_the_published_text_has_an_erratum(spec, root, document, version):
    """In the released texts and in the editor's drafts (against the draft version)."""
    if version == rf.DRAFT:
        from cdsgen.lint import lint_version

        spec = lint_version(root / "spec", version).spec
    path = rf.reference_path(document, version)
    anchors = set(read_outline(path).all_anchors())
    broken: dict[str, int] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        linked = re.findall(r"\]\(#([^)]+)\)", line) + re.findall(r'href="#([^"]+)"', line)
        for target in linked:
            if target not in anchors:
                broken.setdefault(target, lineno)
        for target in re.findall(r"\]\(([a-z][a-z0-9-]+)\)", line):  # written without '#'
            broken.setdefault(target, lineno)
    recorded = {e.target.get("link") for e in spec.errata if e.document == document}
    missing = [f"#{t} (line {n})" for t, n in broken.items() if t not in recorded]
    assert not missing, "links with no erratum: " + ", ".join(missing)


def test_every_erratum_names_a_place_in_the_published_text(spec):
    for erratum in spec.errata:
        assert erratum.anchor in spec.documents[erratum.document].all_anchors(), erratum.id
