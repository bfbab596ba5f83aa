"""Authorization details (RFC 9396) as this Server reads them: parsed, checked against the
fields of the scope's description, completed with defaults, durations made absolute.
"""

from __future__ import annotations

import calendar
import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cds_server import AUTHORIZATION_DETAILS_FIELDS
from cds_server.errors import InvalidAuthorizationDetails

from cdsgen.server import guard
from cdsgen.server.catalog import (
    BACKWARD_DURATIONS,
    USAGE_FORMATS,
    OfferedScope,
    field_default,
    field_format,
)

_DURATION = re.compile(
    r"P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?"
)
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: Bounds of the ``authorization_details`` parameter: its length and nesting.
MAX_TEXT = 16 * 1024
MAX_DEPTH = 8
#: The longest relative duration accepted, in years (beyond it, dates leave the calendar).
MAX_YEARS = 1000


def parse(text: str | None) -> list[dict[str, Any]]:
    """The ``authorization_details`` parameter: a JSON array of objects with a ``type``."""
    if text is None or text == "":
        return []
    if len(text) > MAX_TEXT:
        raise InvalidAuthorizationDetails(f"`authorization_details` is over {MAX_TEXT} characters.")
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise InvalidAuthorizationDetails("`authorization_details` is not valid JSON.") from None
    if guard.depth(value) > MAX_DEPTH:
        raise InvalidAuthorizationDetails(f"`authorization_details` nests over {MAX_DEPTH} levels.")
    if not isinstance(value, list) or not all(
        isinstance(e, dict) and isinstance(e.get("type"), str) for e in value
    ):
        raise InvalidAuthorizationDetails(
            "`authorization_details` must be a JSON array of objects with a `type`."
        )
    return value


def complete(
    scope: OfferedScope, entry: dict[str, Any], now: datetime, *, keep_preselections: bool = True
) -> dict[str, Any]:
    """The entry for ``scope`` as a Grant records it: every field of the scope's description,
    given or defaulted, with relative durations turned into dates or datetimes."""
    fields = scope.field_ids()
    for name in entry:
        if name != "type" and name not in fields:
            raise InvalidAuthorizationDetails(
                f"`{name}` is not an authorization details field of {scope.id}."
            )
    out: dict[str, Any] = {"type": scope.id}
    for name in fields:
        rules = AUTHORIZATION_DETAILS_FIELDS.get(name)
        if rules is not None and rules.category == "preselection" and not keep_preselections:
            continue
        if name in entry:
            value = _checked(scope, name, entry[name])
        else:
            has_default, value = field_default(scope, name)
            if not has_default:
                continue
        if isinstance(value, str) and field_format(name).startswith("relative_or_absolute"):
            value = absolute(
                value,
                now,
                backward=name in BACKWARD_DURATIONS,
                as_date=field_format(name).endswith("date"),
            )
        out[name] = value
    return out


def _checked(scope: OfferedScope, name: str, value: Any) -> Any:
    fmt = field_format(name)

    def bad(expected: str) -> InvalidAuthorizationDetails:
        return InvalidAuthorizationDetails(f"`{name}` of {scope.id} must be {expected}.")

    if name == "include_usage_segment_value_types":
        if value is not None and not (
            isinstance(value, list) and all(v in USAGE_FORMATS for v in value)
        ):
            raise bad("null or a list of " + ", ".join(USAGE_FORMATS))
    elif fmt == "boolean":
        if not isinstance(value, bool):
            raise bad("true or false")
    elif fmt == "string_list":
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise bad("null or a list of strings")
    elif fmt == "string":
        if not isinstance(value, str) or not 1 <= len(value) <= 1000:
            raise bad("a string of 1 to 1000 characters")
    elif fmt == "string_or_null":
        if value is not None and not isinstance(value, str):
            raise bad("a string or null")
    elif fmt == "choice":
        if value != "account_selection":
            raise bad('"account_selection"')
    elif fmt == "jwk_or_null":
        if value is not None and not (
            isinstance(value, dict) and isinstance(value.get("kty"), str)
        ):
            raise bad("null or a JWK object")
    elif fmt.startswith("relative_or_absolute"):
        as_date = fmt.endswith("date")
        pattern = _DATE if as_date else _DATETIME
        if not isinstance(value, str) or not (
            value == "infinite"
            or (pattern.fullmatch(value) and _real_time(value))
            or _duration(value, as_date)
        ):
            raise bad(
                '"infinite", a real '
                + ("date" if as_date else "datetime")
                + f" or a relative duration of at most {MAX_YEARS} years"
            )
    return value


def _real_time(value: str) -> bool:
    """Whether a date or datetime of the right shape names a real day and time."""
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _duration(value: str, as_date: bool) -> re.Match[str] | None:
    match = _DURATION.fullmatch(value)
    if match and as_date and any(match.group(g) for g in ("hours", "minutes", "seconds")):
        return None
    if match and _too_long(match):
        return None
    return match


def _too_long(match: re.Match[str]) -> bool:
    """Whether a duration reaches beyond :data:`MAX_YEARS` (each part alone would)."""
    days_per = {"years": 366, "months": 31, "weeks": 7, "days": 1}
    seconds_per = {"hours": 3600, "minutes": 60, "seconds": 1}
    limit_days = MAX_YEARS * 366
    total = 0
    for name, value in match.groupdict().items():
        if value is None:
            continue
        if len(value) > 12:
            return True
        n = int(value)
        total += n * days_per[name] if name in days_per else n * seconds_per[name] // 86400
    return total > limit_days


def absolute(value: str, now: datetime, *, backward: bool, as_date: bool) -> str:
    """A relative duration counted from ``now`` (back in time when ``backward``); dates,
    datetimes and ``"infinite"`` unchanged."""
    match = _duration(value, as_date)
    if match is None:
        return value
    n = {k: int(v) if v else 0 for k, v in match.groupdict().items()}
    sign = -1 if backward else 1
    months = sign * (12 * n["years"] + n["months"])
    year, month = divmod(now.month - 1 + months, 12)
    year += now.year
    day = min(now.day, calendar.monthrange(year, month + 1)[1])
    moved = now.replace(year=year, month=month + 1, day=day)
    moved += sign * timedelta(
        weeks=n["weeks"],
        days=n["days"],
        hours=n["hours"],
        minutes=n["minutes"],
        seconds=n["seconds"],
    )
    if as_date:
        return date(moved.year, moved.month, moved.day).isoformat()
    return moved.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
