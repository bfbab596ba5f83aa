"""The scope and authorization-details rule language, typed and implemented once.

The documents state their scope rules as constraints on the fields of a Server's Scope
Descriptions and of its Authorization Details Field objects (CDS-WG1-02 §3.1, CDS-WG3-01 §6
and §7). In the source a constraint is a small mapping such as
``{includes: [client_credentials], excludes: [authorization_code]}``; here it becomes a
:class:`Constraint`, a list of typed :class:`Test` objects. Each kind of test knows how to

* check a value (:meth:`Test.problems`, used by ``cdsgen check-scopes``, lint and the
  conformance suite),
* say itself in words (:meth:`Test.wording`, the site),
* export itself as it appears in the OpenAPI's ``x-cds-scopes`` (:meth:`Test.export`), and
* tell how it changed between two versions of the source (:func:`constraint_changes`, the
  diff: a grown ``includes`` *tightens* the rule, a grown ``subset_of`` *loosens* it),

so the checker, the emitters, the site and the diff cannot disagree about what a rule means.
A :class:`Requirements` table maps field names to constraints; a :class:`ScopeRule` applies
more requirements when its :class:`ScopeCondition` holds for a Scope Description.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from cdsgen.jsonvalues import json_copy

#: A field the checked object does not have (``None`` is a value: JSON ``null``).
MISSING: Any = object()

#: How a constraint changed between two versions: stricter, laxer, or neither.
TIGHTENED = "tightened"
LOOSENED = "loosened"
CHANGED = "changed"


def _code(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _codes(values: Iterable[Any]) -> str:
    return ", ".join(f"`{v}`" for v in values)


# -- tests ---------------------------------------------------------------------------------------
@dataclass
class Test:
    """One test of a constraint; ``op`` is its key in the source and in the OpenAPI."""

    op: ClassVar[str]
    #: The words that introduce the test's values on the site.
    phrase: ClassVar[str]

    def problems(self, value: Any) -> list[str]:
        """What is wrong with ``value`` (a present field) under this test."""
        raise NotImplementedError

    def export(self) -> Any:
        """The test's value as the source and the OpenAPI write it."""
        raise NotImplementedError

    def wording(self) -> tuple[str, list[Any] | None]:
        """A phrase and the values it is about (``None``: the phrase says it all)."""
        value = self.export()
        return self.phrase, value if isinstance(value, list) else [value]

    def changes(self, old: Test | None) -> list[tuple[str, str]]:
        """How this test differs from ``old`` (``None``: the test is new)."""
        if old is None:
            return [(TIGHTENED, f"now {self.op} `{_code(self.export())}`")]
        return [(CHANGED, f"{self.op} `{_code(old.export())}` → `{_code(self.export())}`")]

    def dropped(self) -> list[tuple[str, str]]:
        """How removing this test changes the constraint."""
        return [(LOOSENED, f"no longer {self.op} `{_code(self.export())}`")]


@dataclass
class Equals(Test):
    """The value is exactly ``value``."""

    op: ClassVar[str] = "equals"
    phrase: ClassVar[str] = "equals"
    value: Any

    def problems(self, value: Any) -> list[str]:
        return [] if value == self.value else [f"must be {self.value!r}, is {value!r}"]

    def export(self) -> Any:
        return json_copy(self.value)


@dataclass
class _Listed(Test):
    """A test over a list of values given in the source."""

    values: list[Any]

    def export(self) -> Any:
        return list(self.values)


@dataclass
class OneOf(_Listed):
    """The value is one of ``values``."""

    op: ClassVar[str] = "one_of"
    phrase: ClassVar[str] = "one of"

    def problems(self, value: Any) -> list[str]:
        if value in self.values:
            return []
        return [f"must be one of {self.values!r}, is {value!r}"]

    def changes(self, old: Test | None) -> list[tuple[str, str]]:
        return _narrowing(self, old)


@dataclass
class SubsetOf(_Listed):
    """Every item of the array is one of ``values``."""

    op: ClassVar[str] = "subset_of"
    phrase: ClassVar[str] = "only from"

    def problems(self, value: Any) -> list[str]:
        items = value if isinstance(value, list) else []
        extra = [v for v in items if v not in self.values]
        return [f"may only hold {self.values!r}, also holds {extra!r}"] if extra else []

    def changes(self, old: Test | None) -> list[tuple[str, str]]:
        return _narrowing(self, old)


def _narrowing(new: _Listed, old: Test | None) -> list[tuple[str, str]]:
    """Allowing fewer values tightens a ``one_of``/``subset_of``; allowing more loosens it."""
    if not isinstance(old, _Listed):
        return Test.changes(new, old)
    out = []
    fewer = [x for x in old.values if x not in new.values]
    more = [x for x in new.values if x not in old.values]
    if fewer:
        out.append((TIGHTENED, f"{new.op} no longer allows {_codes(fewer)}"))
    if more:
        out.append((LOOSENED, f"{new.op} now also allows {_codes(more)}"))
    return out


@dataclass
class _Membership(_Listed):
    """``includes``/``excludes``: a longer list asks more of the array."""

    def changes(self, old: Test | None) -> list[tuple[str, str]]:
        before = old.values if isinstance(old, _Listed) else []
        out = []
        more = [x for x in self.values if x not in before]
        fewer = [x for x in before if x not in self.values]
        if more:
            out.append((TIGHTENED, f"{self.op} now also {_codes(more)}"))
        if fewer:
            out.append((LOOSENED, f"{self.op} no longer {_codes(fewer)}"))
        return out

    def dropped(self) -> list[tuple[str, str]]:
        return [(LOOSENED, f"{self.op} no longer {_codes(self.values)}")] if self.values else []


@dataclass
class Includes(_Membership):
    """The array contains every one of ``values``."""

    op: ClassVar[str] = "includes"
    phrase: ClassVar[str] = "includes"

    def problems(self, value: Any) -> list[str]:
        items = value if isinstance(value, list) else None
        missing = [v for v in self.values if items is None or v not in items]
        return [f"must include {missing!r}"] if missing else []


@dataclass
class Excludes(_Membership):
    """The array contains none of ``values``."""

    op: ClassVar[str] = "excludes"
    phrase: ClassVar[str] = "excludes"

    def problems(self, value: Any) -> list[str]:
        items = value if isinstance(value, list) else []
        present = [v for v in self.values if v in items]
        return [f"must not include {present!r}"] if present else []


@dataclass
class NonEmpty(Test):
    """The array is non-empty (``True``) or empty (``False``)."""

    op: ClassVar[str] = "non_empty"
    phrase: ClassVar[str] = "not empty"
    value: bool

    def problems(self, value: Any) -> list[str]:
        items = value if isinstance(value, list) else None
        if bool(items) == self.value:
            return []
        return ["must not be empty" if self.value else "must be empty"]

    def export(self) -> Any:
        return self.value

    def wording(self) -> tuple[str, list[Any] | None]:
        return ("not empty" if self.value else "may be empty"), None

    def changes(self, old: Test | None) -> list[tuple[str, str]]:
        return [(TIGHTENED, "must now be non-empty") if self.value else _MAY_BE_EMPTY]

    def dropped(self) -> list[tuple[str, str]]:
        return [_MAY_BE_EMPTY]


_MAY_BE_EMPTY = (LOOSENED, "may now be empty")


@dataclass
class IsNull(Test):
    """The value is ``null`` (``True``) or is not (``False``)."""

    op: ClassVar[str] = "is_null"
    phrase: ClassVar[str] = "is"
    value: bool

    def problems(self, value: Any) -> list[str]:
        if (value is None) == self.value:
            return []
        return ["must be null" if self.value else "must not be null"]

    def export(self) -> Any:
        return self.value

    def wording(self) -> tuple[str, list[Any] | None]:
        return ("is", [None]) if self.value else ("is not null", None)


@dataclass
class Choices(Test):
    """On an Authorization Details Field object: a constraint on the ids of its
    ``choices``."""

    op: ClassVar[str] = "choices"
    phrase: ClassVar[str] = "choices:"
    inner: Constraint

    def problems(self, value: Any) -> list[str]:
        choices = value.get("choices", MISSING) if isinstance(value, dict) else MISSING
        ids = (
            [c.get("id") for c in choices if isinstance(c, dict)]
            if isinstance(choices, list)
            else MISSING
        )
        return [f"choices: {p}" for p in self.inner.problems(ids)]

    def export(self) -> Any:
        return self.inner.export()

    def wording(self) -> tuple[str, list[Any] | None]:
        return self.phrase, None

    def changes(self, old: Test | None) -> list[tuple[str, str]]:
        before = old.inner if isinstance(old, Choices) else None
        return [(v, f"choices {t}") for v, t in constraint_changes(before, self.inner)]

    def dropped(self) -> list[tuple[str, str]]:
        return [(v, f"choices {t}") for v, t in constraint_changes(self.inner, None)]


_TESTS: dict[str, Callable[[Any], Test]] = {
    "equals": Equals,
    "one_of": OneOf,
    "includes": Includes,
    "excludes": Excludes,
    "subset_of": SubsetOf,
    "non_empty": NonEmpty,
    "is_null": IsNull,
    "choices": lambda data: Choices(Constraint.parse(data)),
}
#: The test keys of the source format, in the order the format guide lists them.
OPERATORS = tuple(_TESTS)


# -- constraints and requirements ---------------------------------------------------------------
@dataclass
class Constraint:
    """Every test one value must pass, in the order the source gives them."""

    tests: list[Test] = field(default_factory=list)

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Constraint:
        """A constraint from its source form (checked against the meta-schema before)."""
        return cls([_TESTS[op](value) for op, value in data.items()])

    def test(self, op: str) -> Test | None:
        return next((t for t in self.tests if t.op == op), None)

    def problems(self, value: Any) -> list[str]:
        """What is wrong with ``value`` (:data:`MISSING` for an absent field)."""
        if value is MISSING:
            return ["missing"]
        return [p for t in self.tests for p in t.problems(value)]

    def export(self) -> dict[str, Any]:
        return {t.op: t.export() for t in self.tests}

    def listed(self, op: str) -> list[Any]:
        """The values of the ``op`` test when it lists them, else nothing."""
        t = self.test(op)
        value = t.export() if t is not None else None
        return list(value) if isinstance(value, list) else []

    def required_values(self) -> list[Any]:
        """Values an array must hold: those of ``includes`` and of a listed ``equals``."""
        return self.listed("includes") + self.listed("equals")

    def possible_values(self) -> list[Any]:
        """Values a single value may take: ``one_of``, or the one ``equals`` names."""
        t = self.test("equals")
        return self.listed("one_of") or ([t.export()] if t is not None else [])


def constraint_changes(old: Constraint | None, new: Constraint | None) -> list[tuple[str, str]]:
    """How a constraint changed, as (:data:`TIGHTENED` | :data:`LOOSENED` | :data:`CHANGED`,
    description) pairs: tests of ``new`` first, then those it dropped."""
    before = {t.op: t for t in old.tests} if old else {}
    after = {t.op: t for t in new.tests} if new else {}
    out: list[tuple[str, str]] = []
    for op, t in after.items():
        if op not in before or _code(before[op].export()) != _code(t.export()):
            out += t.changes(before.get(op))
    for op, t in before.items():
        if op not in after:
            out += t.dropped()
    return out


class Requirements(dict[str, Constraint]):
    """Field name (or Authorization Details Field id) → the constraint on it."""

    @classmethod
    def parse(cls, data: Mapping[str, Any] | None) -> Requirements:
        return cls({name: Constraint.parse(c) for name, c in (data or {}).items()})

    def of(self, name: str) -> Constraint:
        """The constraint on ``name``; an empty one when the rules say nothing of it."""
        return self.get(name) or Constraint()

    def problems(self, obj: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
        """(field, problem) for every constraint ``obj`` breaks."""
        for name, constraint in self.items():
            for problem in constraint.problems(obj.get(name, MISSING)):
                yield name, problem

    def export(self) -> dict[str, Any]:
        return {name: c.export() for name, c in self.items()}


# -- rules -----------------------------------------------------------------------------------------
def offered_choice_ids(description: Mapping[str, Any], field_id: str) -> list[Any]:
    """The ids of the ``choices`` a Scope Description's Authorization Details Field offers."""
    fields = description.get("authorization_details_fields_supported") or []
    found = next((f for f in fields if isinstance(f, dict) and f.get("id") == field_id), {})
    return [c.get("id") for c in found.get("choices") or [] if isinstance(c, dict)]


@dataclass
class ScopeCondition:
    """When a rule applies to a Scope Description: the scope is (``authorization: true``) or
    is not authorized by customers — it lists ``response_types_supported`` — and/or one of
    its Authorization Details Fields offers a given choice."""

    authorization: bool | None = None
    #: (Authorization Details Field id, choice id).
    choice: tuple[str, str] | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> ScopeCondition:
        choice = data.get("choice")
        return cls(data.get("authorization"), (choice["field"], choice["id"]) if choice else None)

    def applies(self, description: Mapping[str, Any]) -> bool:
        authorized = bool(description.get("response_types_supported"))
        if self.authorization is not None and authorized != self.authorization:
            return False
        if self.choice is not None:
            field_id, choice_id = self.choice
            return choice_id in offered_choice_ids(description, field_id)
        return True

    def export(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.authorization is not None:
            out["authorization"] = self.authorization
        if self.choice is not None:
            out["choice"] = {"field": self.choice[0], "id": self.choice[1]}
        return out

    def key(self) -> str:
        """A stable identity, to pair a rule with its older version."""
        return _code(self.export())

    def describe(self) -> str:
        return ", ".join(f"{k} {_code(v)}" for k, v in self.export().items())


@dataclass
class ScopeRule:
    """More requirements that apply when ``when`` holds."""

    when: ScopeCondition
    requirements: Requirements
    authorization_details_fields: Requirements
    summary: str | None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> ScopeRule:
        return cls(
            when=ScopeCondition.parse(data["when"]),
            requirements=Requirements.parse(data.get("requirements")),
            authorization_details_fields=Requirements.parse(
                data.get("authorization_details_fields")
            ),
            summary=data.get("summary"),
        )

    def export(self) -> dict[str, Any]:
        """As ``x-cds-scopes`` lists it (empty parts left out)."""
        parts = (
            ("when", self.when.export()),
            ("requirements", self.requirements.export()),
            ("authorization_details_fields", self.authorization_details_fields.export()),
            ("description", self.summary),
        )
        return {k: v for k, v in parts if v}
