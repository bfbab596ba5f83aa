"""The base class of the models: pydantic's ``BaseModel`` with a JSON parse that keeps the
cyclic garbage collector out."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel

from cds_models._collector import postpone_collections, resume_collections

#: Shorter JSON is parsed as it is: it holds too few containers (at most one per two
#: characters) to start more than a few young passes, and the pause's bookkeeping, one to two
#: microseconds, would be a large share of its parse.
PAUSE_FROM = 4096


class CdsModel(BaseModel):
    """A pydantic model whose JSON parse runs without the collector's automatic passes, which
    cost a year of 15-minute usage some 20 to 30 ms and cannot find anything in what a parse
    builds (:mod:`cds_models._collector` says why, and why that is safe)."""

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, **options: Any) -> Self:
        """:meth:`pydantic.BaseModel.model_validate_json`, with automatic collections put off
        until the parse ends if ``json_data`` is long (``options`` are passed on as they are)."""
        paused = len(json_data) >= PAUSE_FROM and postpone_collections()
        try:
            return super().model_validate_json(json_data, **options)
        finally:
            if paused:
                resume_collections()
