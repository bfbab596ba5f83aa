"""Type expressions of the source: ``string``, ``MeterType``, ``[T]``, ``{T}``, ``A | B``.

Parsed once into a small immutable tree so that every emitter walks the same structure.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Named:
    """A primitive, object, enum or union, by name."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class ArrayOf:
    item: TypeExpr

    def __str__(self) -> str:
        return f"[{self.item}]"


@dataclass(frozen=True)
class MapOf:
    value: TypeExpr

    def __str__(self) -> str:
        return f"{{{self.value}}}"


@dataclass(frozen=True)
class AnyOf:
    options: tuple[TypeExpr, ...]

    def __str__(self) -> str:
        return " | ".join(str(o) for o in self.options)


TypeExpr = Named | ArrayOf | MapOf | AnyOf


class TypeSyntaxError(ValueError):
    pass


def parse_type(text: str) -> TypeExpr:
    """Parse a type expression; raise :class:`TypeSyntaxError` naming the problem."""
    parser = _Parser(text)
    expr = parser.union()
    parser.skip_ws()
    if parser.i != len(text):
        raise TypeSyntaxError(f"unexpected '{text[parser.i :]}' in type '{text}'")
    return expr


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.i = 0

    def skip_ws(self) -> None:
        while self.i < len(self.text) and self.text[self.i] == " ":
            self.i += 1

    def union(self) -> TypeExpr:
        options = [self.atom()]
        self.skip_ws()
        while self.i < len(self.text) and self.text[self.i] == "|":
            self.i += 1
            options.append(self.atom())
            self.skip_ws()
        return options[0] if len(options) == 1 else AnyOf(tuple(options))

    def atom(self) -> TypeExpr:
        self.skip_ws()
        if self.i >= len(self.text):
            raise TypeSyntaxError(f"type '{self.text}' ends too early")
        ch = self.text[self.i]
        if ch in "[{":
            close = "]" if ch == "[" else "}"
            self.i += 1
            inner = self.union()
            self.skip_ws()
            if self.i >= len(self.text) or self.text[self.i] != close:
                raise TypeSyntaxError(f"missing '{close}' in type '{self.text}'")
            self.i += 1
            return ArrayOf(inner) if ch == "[" else MapOf(inner)
        start = self.i
        while self.i < len(self.text) and (self.text[self.i].isalnum() or self.text[self.i] == "_"):
            self.i += 1
        if start == self.i:
            raise TypeSyntaxError(f"unexpected '{ch}' in type '{self.text}'")
        return Named(self.text[start : self.i])


def names_in(expr: TypeExpr) -> list[str]:
    """Every name the expression refers to, in order."""
    if isinstance(expr, Named):
        return [expr.name]
    if isinstance(expr, ArrayOf):
        return names_in(expr.item)
    if isinstance(expr, MapOf):
        return names_in(expr.value)
    return [n for o in expr.options for n in names_in(o)]
