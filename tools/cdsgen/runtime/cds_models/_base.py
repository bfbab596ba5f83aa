"""The base class of the models: pydantic's ``BaseModel`` that keeps URLs as written, with a
JSON parse that checks the Value Sets of usage segments in bulk."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import from_json

from cds_models._bulk import bulk_plan, put_back, take

#: Shorter JSON goes to pydantic's own parse at once: it holds a score of Value Sets at most,
#: whose bulk check saves less than parsing in two steps costs (a few microseconds).
BULK_FROM = 2048

#: ``model_validate_json`` options the bulk parse passes on as they are
_PASSED_ON = frozenset({"context", "extra"})
#: … and those it passes on only at their default (aliases change the keys it takes)
_DEFAULT_ONLY = frozenset({"by_alias", "by_name"})


class CdsModel(BaseModel):
    """A pydantic model whose JSON parse takes Value Sets in bulk: a year of 15-minute usage
    holds some 140,000 Value Objects, which pydantic would check one by one for a shape the
    built-ins check at C speed (:mod:`cds_models._bulk` says which fields, and why the result
    is the same).

    URLs keep an empty path as written (``url_preserve_empty_path``): pydantic would otherwise
    turn ``https://example.com`` into ``https://example.com/``, and OAuth compares URLs as
    strings: an ``issuer`` must be identical to the issuer identifier its metadata URL was made
    from (RFC 8414 section 3.3), a ``redirect_uri`` to the one registered (RFC 6749 section
    4.1.3). The generated models' own ``model_config`` adds to this one."""

    model_config = ConfigDict(url_preserve_empty_path=True)

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, **options: Any) -> Self:
        """:meth:`pydantic.BaseModel.model_validate_json`, with the same result: the JSON is
        parsed by pydantic's own parser (``pydantic_core.from_json``), the Value Sets are
        checked in bulk and the rest is validated by ``model_validate``. Anything else (other
        options, invalid JSON, a field of another shape, a failed validation) is left to
        pydantic's own parse, so every error is pydantic's, word for word; so is short JSON."""
        long = isinstance(json_data, str | bytes | bytearray) and len(json_data) >= BULK_FROM
        plan = bulk_plan(cls) if long else None
        if plan is None or not _handled(options):
            return super().model_validate_json(json_data, **options)
        try:
            data = from_json(json_data)
        except (ValueError, TypeError):
            return super().model_validate_json(json_data, **options)
        taken = take(data, plan) if type(data) is dict else None
        if taken is None:
            return super().model_validate_json(json_data, **options)
        try:
            model = cls.model_validate(data, **options)
        except ValidationError:
            return super().model_validate_json(json_data, **options)
        put_back(model, taken)
        return model


def _handled(options: dict[str, Any]) -> bool:
    """Whether the bulk parse gives the result pydantic's own would with these options."""
    return all(
        name in _PASSED_ON
        or (name in _DEFAULT_ONLY and value is None)
        # a strict parse reads JSON strings as dates; a strict check of Python values would not
        or (name == "strict" and not value)
        for name, value in options.items()
    )
