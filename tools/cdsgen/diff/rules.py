"""The kinds of change ``cdsgen diff`` reports: one id per rule, with what it detects.

Every change the diff emits names one of these ids (:class:`cdsgen.diff.Change.kind`), so a
CI gate or a changelog can filter on them, and an id the code uses without listing it here is
a programming error. Whether a change breaks Clients or Servers is decided where it is found,
from the direction the payload flows (request or response); ``cdsgen diff --list-rules``
prints this table.
"""

from __future__ import annotations

#: Kinds of rule whose changes are reported as tightened, loosened or changed.
_RULED = {
    "scope": "a scope type",
    "authorization-details-field": "an authorization details field",
}

DIFF_RULES: dict[str, str] = {
    # documents and their outline
    "document-added": "a document appears",
    "document-removed": "a document disappears",
    "document-version": "a document's version changes",
    "document-status": "a document's publication status changes",
    "document-wire-version": "a document's wire version changes",
    "document-published-url": "a document's published URL changes",
    "section-added": "a section of the published outline appears",
    "section-removed": "a section of the published outline disappears",
    "section-renamed": "a section keeps its place under a new anchor",
    "section-renumbered": "a section keeps its anchor under a new number",
    "section-retitled": "a section keeps its anchor under a new title",
    # primitive types
    "primitive-added": "a primitive type appears",
    "primitive-changed": "a primitive type's JSON Schema changes",
    "primitive-removed": "a primitive type disappears",
    # objects and their fields
    "object-added": "an object appears",
    "object-removed": "an object disappears",
    "object-renamed": "an object reappears under another name with the same structure",
    "object-kind": "an object's kind (data, listing, request, …) changes",
    "object-base": "the object a variant is built on changes",
    "object-opened": "an object starts accepting extra fields",
    "object-closed": "an object stops accepting extra fields",
    "object-rule-added": "a rule across an object's fields appears",
    "object-rule-removed": "a rule across an object's fields disappears",
    "field-added": "a field appears (REQUIRED or OPTIONAL)",
    "field-removed": "a field disappears",
    "field-renamed": "a field reappears under another name with the same type",
    "field-defined-elsewhere": "a field is now defined by another section or document",
    "field-required": "an OPTIONAL field becomes REQUIRED",
    "field-optional": "a REQUIRED field becomes OPTIONAL",
    "field-nullable-widened": "a field (or its items) may now be null",
    "field-nullable-narrowed": "a field (or its items) may no longer be null",
    "field-type": "a field's type becomes wider, narrower or different",
    "field-const": "a field's fixed value appears, disappears or changes",
    "field-allowed-values": "the enumerated values allowed in a field change",
    "field-min-items": "a list field's minimum length changes",
    "field-default": "a field's default value changes",
    "field-read-only": "a field becomes or stops being set by the Server only",
    "field-condition-added": "a field gains a required/forbidden/allowed-only condition",
    "field-condition-removed": "a field loses such a condition",
    "field-condition-changed": "such a condition of a field changes",
    # enumerations
    "enum-added": "an enumeration appears",
    "enum-removed": "an enumeration disappears",
    "enum-opened": "an enumeration starts admitting values it does not list",
    "enum-closed": "an enumeration stops admitting values it does not list",
    "enum-value-added": "an enumerated value appears",
    "enum-value-removed": "an enumerated value disappears",
    "enum-value-renamed": "an enumerated value keeps its place under a new spelling",
    "enum-value-moved": "an enumerated value is now defined by another document",
    "enum-value-deprecated": "an enumerated value becomes or stops being deprecated",
    # unions
    "union-added": "a union appears",
    "union-removed": "a union disappears",
    "union-discriminator": "the field that selects a union's member changes",
    "union-member-added": "a union gains a member",
    "union-member-removed": "a union loses a member",
    "union-member-changed": "the member a discriminator value selects changes",
    "union-fallback-added": "a union gains a member for values no document defines",
    "union-fallback-removed": "a union loses that member",
    # endpoints
    "endpoint-added": "an operation appears",
    "endpoint-removed": "an operation disappears",
    "endpoint-method": "an operation's HTTP method changes",
    "endpoint-path": "an operation's conventional path changes",
    "endpoint-advertised-by": "the metadata field that advertises an operation changes",
    "endpoint-auth": "an operation's authentication changes",
    "endpoint-scope-added": "an operation accepts one more scope type",
    "endpoint-scope-removed": "an operation stops accepting a scope type",
    "endpoint-ordering": "the order of a listing changes",
    "parameter-added": "an operation gains a parameter",
    "parameter-removed": "an operation loses a parameter",
    "parameter-required": "a parameter becomes required",
    "parameter-optional": "a parameter becomes optional",
    "parameter-type": "a parameter's type changes",
    "filter-added": "a listing gains a filter",
    "filter-removed": "a listing loses a filter",
    "filter-changed": "a filter's syntax or matched field changes",
    "filter-fields-added": "a search filter looks in more fields",
    "filter-fields-removed": "a search filter looks in fewer fields",
    "request-body": "an operation's request body appears, disappears or changes type",
    "request-content-type": "an operation's request media type changes",
    "response-added": "an operation gains a response status",
    "response-removed": "an operation loses a response status",
    "response-type": "the body of a response status changes type",
    "response-content-type": "a response's media type changes",
    # scopes and authorization details fields (tightened: Servers must do more; loosened:
    # Clients can rely on less)
    "scope-added": "a scope type appears",
    "scope-removed": "a scope type disappears",
    "authorization-details-field-added": "an authorization details field appears",
    "authorization-details-field-removed": "an authorization details field disappears",
    "authorization-details-field-value-type": "the type of value a Client submits changes",
    **{f"{kind}-category": f"{what}'s category changes" for kind, what in _RULED.items()},
    **{f"{kind}-tightened": f"a rule of {what} asks more" for kind, what in _RULED.items()},
    **{f"{kind}-loosened": f"a rule of {what} asks less" for kind, what in _RULED.items()},
    **{f"{kind}-changed": f"a rule of {what} asks otherwise" for kind, what in _RULED.items()},
    **{
        f"{kind}-rule-added": f"a conditional rule of {what} appears"
        for kind, what in _RULED.items()
    },
    **{
        f"{kind}-rule-removed": f"a conditional rule of {what} disappears"
        for kind, what in _RULED.items()
    },
    # errata and examples (informational)
    "erratum-added": "an erratum is recorded",
    "erratum-changed": "an erratum's problem, reading or resolution changes",
    "erratum-resolved": "the newer text fixes what an erratum recorded",
    "example-added": "a published example appears",
    "example-changed": "a published example's text changes",
    "example-removed": "a published example disappears",
}
