"""Example corrections recorded with errata: the patch format, the order errata apply in,
and how the site shows the published body beside the corrected one."""

from __future__ import annotations

import pytest
from cdsgen.corrections import (
    CorrectionError,
    apply_patch,
    corrected_body,
    corrected_parts,
    differences,
)


def test_patch_operations_follow_rfc_6902():
    doc = {"a": [1, 2], "b": {"c": 1}}
    out = apply_patch(
        doc,
        [
            {"op": "add", "path": "/a/-", "value": 3},
            {"op": "replace", "path": "/b/c", "value": 2},
            {"op": "copy", "from": "/b/c", "path": "/d"},
            {"op": "move", "from": "/a/0", "path": "/e"},
            {"op": "remove", "path": "/b"},
        ],
    )
    assert out == {"a": [2, 3], "d": 2, "e": 1}
    assert doc == {"a": [1, 2], "b": {"c": 1}}  # the input is left alone
    assert apply_patch({"l": [{"x": 1}]}, [{"op": "move", "from": "/l/0", "path": ""}]) == {"x": 1}


@pytest.mark.parametrize(
    "op",
    [
        {"op": "remove", "path": "/missing"},
        {"op": "add", "path": "/a/5", "value": 1},
        {"op": "replace", "path": "/a/x", "value": 1},
        {"op": "add", "path": "no-slash", "value": 1},
    ],
)
def test_patch_to_a_place_the_body_does_not_have_is_an_error(op):
    with pytest.raises(CorrectionError):
        apply_patch({"a": [1]}, [op])


def test_differences_name_each_changed_place():
    before = {"keep": 1, "gone": 2, "list": [{"v": 1}]}
    after = {"keep": 1, "list": [{"v": 2}], "new/key": None}
    assert differences(before, after) == [
        ("removed", "/gone", 2, None),
        ("changed", "/list/0/v", 1, 2),
        ("added", "/new~1key", None, None),
    ]


def test_errata_apply_in_order_and_fill_from_keeps_the_published_fields(spec):
    grant = corrected_body(spec, spec.examples["wg3-01-get-server-created-grant"], "response")
    assert "grants" not in grant and grant["parent"] is None  # moved, then fixed
    meta = spec.examples["wg3-01-grant-admin-client-oauth-metadata"]
    body = corrected_body(spec, meta, "response")
    assert body["token_endpoint"] == meta.response.body["token_endpoint"]
    assert body["cds_timezone"] == "America/Chicago"  # from the corrected filler example
    parts = corrected_parts(spec, spec.examples["wg3-01-send-scope-message"])
    assert set(parts) == {"request", "response"}
    assert parts["request"][1] == ["wg3-01-send-scope-message-missing-previous-uri"]


def test_site_shows_published_and_corrected_with_the_erratum_behind_each_change(root):
    page = (root / "site/spec/cds-wg1-01.md").read_text()
    start = page.split('id="cdsgen-example-wg1-01-coverage"', 1)[1]
    block = start.split('<div class="cds-item', 1)[0]
    assert "corrected by its errata" in block
    assert "HTTP/1.1 200 OK" in block  # the published exchange is still shown
    row = next(line for line in block.splitlines() if "country" in line and line.startswith("|"))
    assert row.startswith("| added |")
    assert "errata.md#wg1-01-coverage-example-missing-country" in row
    assert '"country": "US"' in block  # in the corrected body
