"""The reference Server encodes Usage Segments itself (cdsgen.server.customer_data): its JSON
must be what the ``cds_models`` classes would encode, for whole segments (the stored Value
Sets spliced in as they are) and for every kind of cut a Grant can make."""

from __future__ import annotations

import json

import cds_models as m
import pytest
from cdsgen.server.access import ValueCut
from cdsgen.server.catalog import HERE
from cdsgen.server.customer_data import _encoded_segment
from cdsgen.server.seed import sample_data
from cdsgen.server.store import dumps

SEGMENTS = sample_data()["usage_segments"]
BASE = "https://cds.example"


@pytest.mark.parametrize("index", [0, len(SEGMENTS) // 2, len(SEGMENTS) - 1])
@pytest.mark.parametrize(
    "cut",
    [
        lambda n: (0, n, None),  # whole: the stored bytes as they are
        lambda n: (4, n - 8, None),  # time bounds
        lambda n: (0, n, (0,)),  # value types: the first format only
        lambda n: (0, n, ()),  # value types the segment has none of
        lambda n: (1, 2, (0,)),
    ],
)
def test_encoded_usage_segments_are_what_the_models_encode(index, cut):
    segment = dict(SEGMENTS[index])
    values = segment.pop("values")
    first, last, columns = cut(len(values))
    value_cut = ValueCut(segment["cds_usagesegment_id"], first, last, columns, len(values))
    assert value_cut.whole == (cut(len(values)) == (0, len(values), None))
    encoded = _encoded_segment({**segment, "values": value_cut}, dumps(values), BASE)
    model = m.UsageSegment.model_validate({**segment, "values": value_cut.apply(values)})
    expected = model.model_dump_json(by_alias=True, exclude_unset=True)
    assert json.loads(encoded.json) == json.loads(expected)
    assert m.UsageSegment.model_validate_json(encoded.json) == model


def test_server_urls_in_a_usage_segment_are_made_absolute():
    segment = dict(SEGMENTS[0])
    values = segment.pop("values")
    segment["note_uri"] = f"{HERE}/docs"
    whole = ValueCut(segment["cds_usagesegment_id"], 0, len(values), None, len(values))
    encoded = json.loads(_encoded_segment({**segment, "values": whole}, dumps(values), BASE).json)
    assert encoded["note_uri"] == f"{BASE}/docs" and encoded["values"] == values
