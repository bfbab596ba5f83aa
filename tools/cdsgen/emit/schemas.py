"""JSON Schema (2020-12) for every object, enum and union of the model.

Shared by the OpenAPI emitter, the per-type JSON Schema emitter and the linter's example
validation, so all three agree by construction. Two flavours:

* **published** (``strict=False``): what Clients receive. Open enums accept unknown strings,
  objects accept unknown fields, a discriminated union falls back to its generic member for
  unknown discriminator values — the forward compatibility the documents require.
* **strict** (``strict=True``): what a Server must emit and what published examples must
  satisfy: known enum values only, no undeclared fields, known union members only.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from cdsgen import model as m
from cdsgen.types import AnyOf, ArrayOf, MapOf, Named, TypeExpr, parse_type

Schema = dict[str, Any]


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
        order = list(self.spec.documents)
        return sorted(names, key=lambda n: (order.index(self.spec.document_of(n)), n))

    def components(self) -> dict[str, Schema]:
        return {name: self.component(name) for name in self.component_names()}

    def component(self, name: str) -> Schema:
        if name in self.spec.objects:
            return self.object_schema(self.spec.objects[name])
        if name in self.spec.enums:
            return self.enum_schema(self.spec.enums[name])
        return self.union_schema(self.spec.unions[name])

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
        if obj.kind != "data":
            schema["x-cds-kind"] = obj.kind
        if obj.origin:
            schema["x-cds-origin"] = obj.origin
        return self._meta(obj, schema)

    def field_schema(self, obj: m.ObjectType, f: m.Field) -> Schema:
        schema = self.type_schema(f.type, items_nullable=f.items_nullable)
        if f.has_const:
            schema = {"const": f.const} if self._is_ref(schema) else {**schema, "const": f.const}
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

    def _conditions(self, obj: m.ObjectType, fields: list[m.Field]) -> list[Schema]:
        """Conditional requirements as JSON Schema if/then, so validators enforce them."""
        out: list[Schema] = []
        names = {f.name for f in fields}
        for f in fields:
            if f.required_if and f.required_if.field in names:
                out.append({"if": self._when(f.required_if), "then": {"required": [f.name]}})
            if f.forbidden_if and f.forbidden_if.field in names:
                out.append(
                    {"if": self._when(f.forbidden_if), "then": {"not": {"required": [f.name]}}}
                )
            if f.only_if and f.only_if.field in names and self.strict:
                out.append(
                    {"if": {"not": self._when(f.only_if)}, "then": {"not": {"required": [f.name]}}}
                )
        for rule in obj.rules:
            if rule.document not in self.documents and rule.document:
                continue
            then: Schema = {}
            if rule.require:
                then["required"] = list(rule.require)
            if rule.require_any:
                then["anyOf"] = [{"required": [n]} for n in rule.require_any]
            if rule.forbid:
                then["not"] = {"anyOf": [{"required": [n]} for n in rule.forbid]}
            out.append({"if": self._when(rule.when), "then": then, "description": rule.summary})
        return out

    @staticmethod
    def _when(cond: m.Condition) -> Schema:
        prop: Schema
        if cond.op == "equals":
            prop = {"const": cond.value}
        elif cond.op == "contains":
            prop = {"type": "array", "contains": {"const": cond.value}}
        elif cond.op == "in":
            prop = {"enum": list(cond.value)}
        elif cond.op == "not_empty":
            prop = {"type": "array", "minItems": 1}
        else:  # present
            prop = {"not": {"type": "null"}}
        return {"properties": {cond.field: prop}, "required": [cond.field]}

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
            members = (
                known if self.strict or not union.fallback else known + [self._fallback(union)]
            )
            schema["oneOf"] = members
            schema["discriminator"] = {
                "propertyName": union.discriminator,
                "mapping": {v: self.ref_prefix + n for v, n in union.mapping.items()},
            }
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

    def _fallback(self, union: m.UnionType) -> Schema:
        """The fallback member, restricted to discriminator values nobody defined, so that
        exactly one member of the ``oneOf`` matches any value."""
        return {
            "allOf": [
                self._ref(union.fallback),
                {"properties": {union.discriminator: {"not": {"enum": sorted(union.mapping)}}}},
            ]
        }

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
                return copy.deepcopy(prim.schema)
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
    def _nullable(schema: Schema) -> Schema:
        t = schema.get("type")
        if isinstance(t, str) and "$ref" not in schema and "anyOf" not in schema:
            return {**schema, "type": [t, "null"]}
        if "anyOf" in schema and len(schema) == 1:
            return {"anyOf": [*schema["anyOf"], {"type": "null"}]}
        return {"anyOf": [schema, {"type": "null"}]}
