"""Primitives, objects (with their fields and rules), enumerations and unions."""

from __future__ import annotations

from typing import Any

import orjson

from cdsgen import model as m
from cdsgen.cache import memo_key, memo_table
from cdsgen.cachedir import installed_version
from cdsgen.source.base import BuilderBase, _File
from cdsgen.types import parse_type


class NamedTypesBuilder(BuilderBase):
    # -- primitives and named types ------------------------------------------------------------
    def _primitives(self, f: _File) -> None:
        for name, data, path in self._items(f, "primitives"):
            if not self._claim_name(name, f.y.pos(path)):
                continue
            problem = _schema_problem(data["schema"])
            if problem is not None:
                message, inside = problem
                self.d.error(
                    f.y.value_pos((*path, "schema", *inside)),
                    f"not a valid JSON Schema: {message}",
                    rule="schema",
                )
                self.broken_names.add(name)
                continue
            self.spec.primitives[name] = m.Primitive(
                name, data["summary"], data["schema"], data.get("anchor"), f.y.pos(path)
            )

    def _named_types(self, f: _File) -> None:
        doc = f.doc
        if doc not in self.spec.documents:
            return
        for name, data, path in self._items(f, "objects"):
            if not self._claim_name(name, f.y.pos(path)):
                continue
            # a variant (an object with a `base`) is defined by its base's section
            self._anchor(f, doc, "object", data["anchor"], path, unique=not data.get("base"))
            pattern = data.get("extra_fields_pattern")
            if pattern is not None and not self._valid_regex(f, pattern, path):
                data = {**data, "extra_fields_pattern": None}
            fields = self._fields(f, doc, data.get("fields", {}), path + ("fields",), None)
            self.spec.objects[name] = m.ObjectType(
                name=name,
                document=doc,
                anchor=data["anchor"],
                title=data["title"],
                summary=data["summary"],
                kind=data.get("kind", "data"),
                extensible=data.get("extensible", True),
                extra_fields_pattern=data.get("extra_fields_pattern"),
                origin=data.get("origin"),
                fields=fields,
                rules=self._rules(f, doc, data.get("rules", []), None),
                pos=f.y.pos(path),
                base=data.get("base"),
            )
        for name, data, path in self._items(f, "enums"):
            if not self._claim_name(name, f.y.pos(path)):
                continue
            self._anchor(f, doc, "enum", data["anchor"], path)
            self.spec.enums[name] = m.EnumType(
                name=name,
                document=doc,
                anchor=data["anchor"],
                title=data["title"],
                summary=data["summary"],
                open=data.get("open", True),
                values=self._enum_values(f, doc, data["values"], path + ("values",), None),
                pos=f.y.pos(path),
            )
        for name, data, path in self._items(f, "unions"):
            if not self._claim_name(name, f.y.pos(path)):
                continue
            self._anchor(f, doc, "union", data["anchor"], path)
            members_data = data.get("members") or {}
            mapping: dict[str, str] = {}
            members: list = []
            if isinstance(members_data, dict):
                mapping = dict(members_data)
                members = [parse_type(v) for v in members_data.values()]
            else:
                for i, text in enumerate(members_data):
                    t = self._type(f, text, path + ("members", i))
                    if t is not None:
                        members.append(t)
            selected = data.get("selected_by")
            if mapping and not data.get("discriminator") and not selected:
                self.d.error(
                    f.y.pos(path + ("members",)),
                    "members by value need a `discriminator` or `selected_by`",
                    rule="union",
                )
            self.spec.unions[name] = m.UnionType(
                name=name,
                document=doc,
                anchor=data["anchor"],
                title=data["title"],
                summary=data["summary"],
                discriminator=data.get("discriminator"),
                mapping=mapping,
                members=members,
                fallback=data.get("fallback"),
                pos=f.y.pos(path),
                selected_by=(selected["field"], selected["discriminator"]) if selected else None,
            )

    def _fields(
        self, f: _File, doc: str, data: dict, path: tuple, anchor: str | None
    ) -> dict[str, m.Field]:
        """The fields of an object or extension; one whose type does not parse is reported
        and left out."""
        out: dict[str, m.Field] = {}
        for fname, fd in data.items():
            fpath = path + (fname,)
            t = self._type(f, fd["type"], fpath + ("type",))
            if t is None:
                continue
            out[fname] = m.Field(
                name=fname,
                type=t,
                type_text=str(fd["type"]),
                required=fd["required"],
                nullable=fd.get("nullable", False),
                summary=fd["summary"],
                pos=f.y.pos(fpath),
                document=doc,
                anchor=fd.get("anchor", anchor),
                const=fd.get("const"),
                has_const="const" in fd,
                allowed_values=fd.get("allowed_values"),
                default=fd.get("default"),
                has_default="default" in fd,
                examples=fd.get("examples"),
                min_items=fd.get("min_items"),
                items_nullable=fd.get("items_nullable", False),
                read_only=fd.get("read_only", False),
                origin=fd.get("origin"),
                required_if=self._condition(fd.get("required_if")),
                forbidden_if=self._condition(fd.get("forbidden_if")),
                only_if=self._condition(fd.get("only_if")),
                refers_to=fd.get("refers_to"),
            )
            if fd.get("anchor"):
                self._anchor(f, doc, "field", fd["anchor"], fpath, unique=False)
        return out

    def _rules(self, f: _File, doc: str, data: list, anchor: str | None) -> list[m.ObjectRule]:
        return [
            m.ObjectRule(
                when=self._condition(r["when"]),
                summary=r["summary"],
                require=list(r.get("require", [])),
                require_any=list(r.get("require_any", [])),
                forbid=list(r.get("forbid", [])),
                document=doc,
                anchor=anchor,
            )
            for r in data
        ]

    def _enum_values(self, f: _File, doc: str, data: dict, path: tuple, anchor: str | None):
        out: dict[str, m.EnumValue] = {}
        for value, vd in data.items():
            vpath = path + (value,)
            if isinstance(vd, str):
                vd = {"summary": vd}
            out[str(value)] = m.EnumValue(
                name=str(value),
                summary=vd["summary"],
                pos=f.y.pos(vpath),
                document=doc,
                anchor=vd.get("anchor", anchor),
                deprecated=vd.get("deprecated", False),
            )
            if vd.get("anchor"):
                self._anchor(f, doc, "value", vd["anchor"], vpath, unique=False)
        return out


def _schema_problem(schema: Any) -> tuple[str, list[str | int]] | None:
    """Why ``schema`` is not a valid JSON Schema (message, path inside it), or ``None``.

    Checked against the draft 2020-12 meta-schema by jsonschema, and the verdict kept in the
    user cache: primitives change rarely, and importing and running jsonschema for them was
    a twentieth of every run."""
    try:
        given = orjson.dumps(schema)
    except TypeError:
        given = None

    def judge() -> str:
        import jsonschema

        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            return orjson.dumps([exc.message, list(exc.absolute_path)]).decode()
        return "null"

    if given is None:
        verdict = judge()
    else:
        kind = f"check_schema jsonschema {installed_version('jsonschema')}"
        verdict = memo_table(kind).get(memo_key(given), judge)
    found = orjson.loads(verdict)
    return None if found is None else (found[0], found[1])
