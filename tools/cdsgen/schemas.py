"""JSON Schema (2020-12) for every object, enum and union of the model.

Shared by the OpenAPI emitter, the per-type JSON Schema emitter and the linter's example
validation, so all three agree by construction. Two flavours:

* **published** (``strict=False``): what Clients receive. Open enums accept unknown strings,
  objects accept unknown fields, a discriminated union falls back to its generic member for
  unknown discriminator values — the forward compatibility the documents require.
Both are written in the forms peer tools (Spectral, Redocly, openapi-python-client,
openapi-typescript, datamodel-code-generator) understand: an open discriminated union is a
``oneOf`` of its members plus a named ``Unknown<Union>`` member that excludes the defined
discriminator values (no OpenAPI ``discriminator``, which could not map that member; the
mapping is kept as ``x-cds-discriminator``); a fixed array value is said with
``items``/``minItems``/``maxItems`` (``x-cds-const`` keeps it exactly) instead of an
array-valued ``const``; free-form objects say ``additionalProperties: true``; the array
checks and requirements inside conditionals name their ``items`` and ``properties``.
* **strict** (``strict=True``): what a Server must emit and what published examples must
  satisfy: known enum values only, no undeclared fields, known union members only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cdsgen import model as m
from cdsgen.jsonvalues import json_copy
from cdsgen.types import AnyOf, ArrayOf, MapOf, Named, TypeExpr, parse_type

Schema = dict[str, Any]

#: Said in every subschema of a conditional that names properties: it checks those and lets
#: the others be. JSON Schema means that anyway; example validators that default to
#: ``unevaluatedProperties: false`` (Redocly) would otherwise fail every other property.
_OPEN: Schema = {"additionalProperties": True}


class SchemaBuilder:
    """Builds component schemas for the documents in ``documents`` (a document's view:
    itself and what it depends on)."""

    def __init__(
        self,
        spec: m.Spec,
        *,
        strict: bool = False,
        ref_prefix: str = "#/components/schemas/",
        documents: Iterable[str] | None = None,
    ):
        self.spec = spec
        self.strict = strict
        self.ref_prefix = ref_prefix
        self.documents = set(documents) if documents is not None else set(spec.documents)

    # -- components --------------------------------------------------------------------------
    def component_names(self) -> list[str]:
        """Names of all components in this view, in a stable (document, then name) order."""
        names: list[str] = []
        for table in (self.spec.objects, self.spec.enums, self.spec.unions):
            names += [n for n, item in table.items() if item.document in self.documents]
        if not self.strict:
            names += [
                self.unknown_member_name(u)
                for u in self.spec.unions.values()
                if u.document in self.documents and self._open_discriminated(u)
            ]
        order = list(self.spec.documents)
        return sorted(names, key=lambda n: (order.index(self._document_of(n)), n))

    def _document_of(self, name: str) -> str:
        union = self._unknown_members().get(name)
        return union.document if union is not None else self.spec.document_of(name)

    @staticmethod
    def unknown_member_name(union: m.UnionType) -> str:
        """The component standing for members of ``union`` no document defines."""
        return f"Unknown{union.name}"

    @staticmethod
    def _open_discriminated(union: m.UnionType) -> bool:
        return bool(union.discriminator and union.fallback)

    def _unknown_members(self) -> dict[str, m.UnionType]:
        return {
            self.unknown_member_name(u): u
            for u in self.spec.unions.values()
            if self._open_discriminated(u)
        }

    def components(self) -> dict[str, Schema]:
        return {name: self.component(name) for name in self.component_names()}

    def component(self, name: str) -> Schema:
        if name in self.spec.objects:
            return self.object_schema(self.spec.objects[name])
        if name in self.spec.enums:
            return self.enum_schema(self.spec.enums[name])
        if name in self.spec.unions:
            return self.union_schema(self.spec.unions[name])
        return self.unknown_member_schema(self._unknown_members()[name])

    def _meta(self, item, schema: Schema) -> Schema:
        doc = self.spec.documents[item.document]
        schema["x-cds-anchor"] = item.anchor
        schema["x-cds-document"] = item.document
        schema["externalDocs"] = {
            "url": doc.link(item.anchor),
            "description": f"{doc.code} {item.title}",
        }
        extensions = [a for d, a in getattr(item, "extensions", []) if d in self.documents]
        if extensions:
            schema["x-cds-extensions"] = extensions
        return schema

    def object_schema(self, obj: m.ObjectType) -> Schema:
        fields = [f for f in obj.fields.values() if f.document in self.documents]
        schema: Schema = {"title": obj.title, "description": obj.summary, "type": "object"}
        schema["properties"] = {f.name: self.field_schema(obj, f) for f in fields}
        required = [f.name for f in fields if f.required]
        if required:
            schema["required"] = required
        schema["additionalProperties"] = not self.strict and obj.extensible
        if obj.extra_fields_pattern:
            schema["patternProperties"] = {obj.extra_fields_pattern: {}}
        conditions = self._conditions(obj, fields)
        if conditions:
            schema["allOf"] = conditions
        if obj.base:
            schema["x-cds-base"] = obj.base
        if obj.kind != "data":
            schema["x-cds-kind"] = obj.kind
        if obj.origin:
            schema["x-cds-origin"] = obj.origin
        return self._meta(obj, schema)

    def field_schema(self, obj: m.ObjectType, f: m.Field) -> Schema:
        schema = self.type_schema(f.type, items_nullable=f.items_nullable)
        if f.has_const:
            schema = self._const(schema, f.const)
        if f.allowed_values:
            if self.strict:
                schema = {"enum": list(f.allowed_values)}
            else:
                schema["x-cds-allowed-values"] = list(f.allowed_values)
        if f.min_items is not None:
            schema["minItems"] = f.min_items
        if f.nullable:
            schema = self._nullable(schema)
        schema = {"description": f.summary, **schema}
        if f.has_default:
            schema["default"] = f.default
        if f.examples:
            schema["examples"] = list(f.examples)
        if f.read_only:
            schema["readOnly"] = True
        if f.origin:
            schema["x-cds-origin"] = f.origin
        if f.refers_to:
            schema["x-cds-refers-to"] = f.refers_to
        if f.document != obj.document or (f.anchor and f.anchor != obj.anchor):
            schema["x-cds-document"] = f.document
            if f.anchor:
                schema["x-cds-anchor"] = f.anchor
        for key, cond in (
            ("required_if", f.required_if),
            ("forbidden_if", f.forbidden_if),
            ("only_if", f.only_if),
        ):
            if cond is not None:
                schema[f"x-cds-{key.replace('_', '-')}"] = cond.describe()
        return schema

    def _const(self, schema: Schema, value: Any) -> Schema:
        """A fixed value. Arrays are said with ``items`` and a fixed length, which peer
        generators understand (an array-valued ``const`` makes openapi-python-client refuse
        the whole file); ``x-cds-const`` keeps the exact value."""
        if not isinstance(value, list):
            return {"const": value} if self._is_ref(schema) else {**schema, "const": value}
        fixed: Schema = {"type": "array", "minItems": len(value), "maxItems": len(value)}
        distinct = list(dict.fromkeys(value))
        item_type = schema.get("items", {}).get("type")
        if len(distinct) == 1:
            fixed["items"] = {"const": distinct[0]}
        elif distinct:
            fixed["items"] = {"enum": distinct}
        else:
            fixed["items"] = schema.get("items", {})
        if distinct and isinstance(item_type, str):
            fixed["items"] = {"type": item_type, **fixed["items"]}
        fixed["x-cds-const"] = list(value)
        return fixed

    def _conditions(self, obj: m.ObjectType, fields: list[m.Field]) -> list[Schema]:
        """Conditional requirements as JSON Schema if/then, so validators enforce them.

        Each ``then`` names the properties it requires and each array check its ``items``,
        so linters see every required property defined and every array typed."""
        out: list[Schema] = []
        by_name = {f.name: f for f in fields}
        for f in fields:
            if f.required_if and f.required_if.field in by_name:
                out.append(
                    {"if": self._when(f.required_if, by_name), "then": self._requires([f.name])}
                )
            if f.forbidden_if and f.forbidden_if.field in by_name:
                out.append(
                    {
                        "if": self._when(f.forbidden_if, by_name),
                        "then": {"not": self._requires([f.name])},
                    }
                )
            if f.only_if and f.only_if.field in by_name and self.strict:
                out.append(
                    {
                        "if": {"not": self._when(f.only_if, by_name)},
                        "then": {"not": self._requires([f.name])},
                    }
                )
        for rule in obj.rules:
            if rule.document not in self.documents and rule.document:
                continue
            then: Schema = {}
            if rule.require:
                then.update(self._requires(list(rule.require)))
            if rule.require_any:
                then["anyOf"] = [self._requires([n]) for n in rule.require_any]
            if rule.forbid:
                then["not"] = {"anyOf": [self._requires([n]) for n in rule.forbid]}
            out.append(
                {"if": self._when(rule.when, by_name), "then": then, "description": rule.summary}
            )
        return out

    @staticmethod
    def _requires(names: list[str]) -> Schema:
        """``required`` with the named properties declared (any value: the object's own
        ``properties`` say what each must be)."""
        return {"properties": {n: True for n in names}, "required": names, **_OPEN}

    def _when(self, cond: m.Condition, fields: dict[str, m.Field]) -> Schema:
        prop: Schema
        if cond.op == "equals":
            prop = {"const": cond.value}
        elif cond.op == "contains":
            prop = {"type": "array", "items": self._item_schema(fields, cond.field)}
            prop["contains"] = {"const": cond.value}
        elif cond.op == "in":
            prop = {"enum": list(cond.value)}
        elif cond.op == "not_empty":
            prop = {"type": "array", "items": self._item_schema(fields, cond.field)}
            prop["minItems"] = 1
        else:  # present
            prop = {"not": {"type": "null"}}
        return {"properties": {cond.field: prop}, "required": [cond.field], **_OPEN}

    def _item_schema(self, fields: dict[str, m.Field], name: str) -> Schema:
        """The item schema of an array field, for the array checks of conditionals."""
        f = fields.get(name)
        if f is not None and isinstance(f.type, ArrayOf):
            return self.type_schema(f.type.item)
        return {}

    def enum_schema(self, enum: m.EnumType) -> Schema:
        values = [v for v in enum.values.values() if v.document in self.documents]
        schema: Schema = {
            "title": enum.title,
            "description": enum.summary,
            "type": "string",
            "enum": [v.name for v in values],
            "x-cds-open": enum.open,
            "x-cds-values": {v.name: v.summary for v in values},
        }
        origins = {
            v.name: f"{v.document}#{v.anchor}" for v in values if v.document != enum.document
        }
        if origins:
            schema["x-cds-value-origins"] = origins
        return self._meta(enum, schema)

    def union_schema(self, union: m.UnionType) -> Schema:
        schema: Schema = {"title": union.title, "description": union.summary}
        if union.discriminator:
            known = [self._ref(n) for n in union.mapping.values()]
            mapping = {
                "propertyName": union.discriminator,
                "mapping": {v: self.ref_prefix + n for v, n in union.mapping.items()},
            }
            if self.strict or not union.fallback:
                schema["oneOf"] = known
                schema["discriminator"] = mapping
            else:
                schema["oneOf"] = [*known, self._ref(self.unknown_member_name(union))]
                schema["x-cds-discriminator"] = mapping
            if union.fallback:
                schema["x-cds-fallback"] = union.fallback
        else:
            schema["anyOf"] = [self.type_schema(t) for t in union.members]
            if union.fallback and not self.strict:
                schema["anyOf"].append(self.type_schema(parse_type(union.fallback)))
                schema["x-cds-fallback"] = union.fallback
            if union.selected_by:
                schema["x-cds-selected-by"] = {
                    "field": union.selected_by[0],
                    "discriminator": union.selected_by[1],
                    "mapping": {v: self.ref_prefix + n for v, n in union.mapping.items()},
                }
        return self._meta(union, schema)

    def unknown_member_schema(self, union: m.UnionType) -> Schema:
        """The union's fallback object, restricted to discriminator values no document
        defines, as a component of its own: exactly one member of the ``oneOf`` matches any
        value, and generators keep values of unknown types with all their fields."""
        known = sorted(union.mapping)
        schema: Schema = {
            "title": f"{union.title} of another type",
            "description": (
                f"A {union.title} whose `{union.discriminator}` no document defines (none of "
                f"{', '.join(known)}): kept with all its fields, which a Client may ignore."
            ),
            "type": "object",
            "allOf": [self._ref(union.fallback)],
            # said on the object, not on the property: linters that cannot reason about `not`
            # then leave the pair alone instead of calling the members overlapping
            "not": {"properties": {union.discriminator: {"enum": known}}, **_OPEN},
            "additionalProperties": True,
            "x-cds-unknown-member-of": union.name,
        }
        fallback = self.spec.objects[union.fallback]
        return self._meta(fallback, schema)

    # -- types ---------------------------------------------------------------------------------
    def _ref(self, name: str) -> Schema:
        return {"$ref": self.ref_prefix + name}

    @staticmethod
    def _is_ref(schema: Schema) -> bool:
        return "$ref" in schema

    def type_schema(self, t: TypeExpr, *, items_nullable: bool = False) -> Schema:
        if isinstance(t, Named):
            prim = self.spec.primitives.get(t.name)
            if prim is not None:
                return self._free_form(json_copy(prim.schema))
            enum = self.spec.enums.get(t.name)
            if enum is not None and enum.open and not self.strict:
                return {"anyOf": [self._ref(t.name), {"type": "string"}]}
            return self._ref(t.name)
        if isinstance(t, ArrayOf):
            inner = t.item
            items = self.type_schema(inner, items_nullable=items_nullable)
            if items_nullable and not isinstance(inner, ArrayOf):
                items = self._nullable(items)
            return {"type": "array", "items": items}
        if isinstance(t, MapOf):
            return {"type": "object", "additionalProperties": self.type_schema(t.value)}
        assert isinstance(t, AnyOf)
        return {"anyOf": [self.type_schema(o) for o in t.options]}

    @staticmethod
    def _free_form(schema: Schema) -> Schema:
        """An object schema that says nothing of its properties accepts any: said out loud
        (``additionalProperties: true``), since some generators read a bare ``type: object``
        as an object that holds nothing."""
        if schema.get("type") == "object" and "additionalProperties" not in schema:
            schema["additionalProperties"] = True
            for name in schema.get("required", []):
                schema.setdefault("properties", {}).setdefault(name, True)
        return schema

    @staticmethod
    def _nullable(schema: Schema) -> Schema:
        t = schema.get("type")
        if isinstance(t, str) and "$ref" not in schema and "anyOf" not in schema:
            return {**schema, "type": [t, "null"]}
        if "anyOf" in schema and len(schema) == 1:
            return {"anyOf": [*schema["anyOf"], {"type": "null"}]}
        return {"anyOf": [schema, {"type": "null"}]}
