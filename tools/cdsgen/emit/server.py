"""FastAPI server stubs (``cds_server``): one router per API group, an abstract backend.

The model's endpoints become plain data (:mod:`cdsgen.emit.operations`, shared with the
client emitter), grouped by API here; the Jinja2 templates under ``templates/server/`` turn
that data into Python, and ruff formats the
result; the modules that do not depend on the source (``errors``, ``runtime``, ``app``) are real
files under ``runtime/cds_server/``, copied as they are. Implementers subclass the generated
``cds_server.Backend`` in their own module, so regenerating never touches their code. Every
value that ends up in Python source passes through the ``py`` filter (a Python literal) or the
``docstring`` filter.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdsgen import model as m
from cdsgen.emit import TEMPLATES_DIR, runtime_sources
from cdsgen.emit.operations import CURSOR, OperationView, operation_view, snake
from cdsgen.emit.pysource import python_environment, ruff_format_package
from cdsgen.rules import Choices, Constraint

SERVER_DIR = "generated/python/cds_server"
TEMPLATES = TEMPLATES_DIR / "server"


@dataclass
class GroupView:
    name: str
    module: str
    operations: list[OperationView]

    @property
    def models(self) -> list[str]:
        names: set[str] = set()
        for op in self.operations:
            names.update(n for n in (op.request, op.body) if n)
        return sorted(names)


#: The Authorization Details Field by which a Customer picks what to share (CDS-WG1-02 §3.1).
SELECTION_FIELD = "authorization_form_selection_type"


@dataclass
class SelectionView:
    """The Selection choices (``authorization_form_selection_type``) a scope type's
    description must offer (``required``) and may offer (``allowed``, empty: any), and the
    fields each choice brings in."""

    required: list[str]
    allowed: list[str]
    fields: dict[str, list[str]]


def selection_view(scope: m.Scope) -> SelectionView:
    selection = scope.authorization_details_fields.of(SELECTION_FIELD).test("choices")
    choices = selection.inner if isinstance(selection, Choices) else Constraint()
    required = choices.listed("equals") or choices.listed("includes")
    allowed = choices.listed("equals") or choices.listed("subset_of")
    fields: dict[str, list[str]] = {}
    for rule in scope.rules:
        if rule.when.choice is not None and rule.when.choice[0] == SELECTION_FIELD:
            wanted = rule.requirements.of("authorization_details_types_supported")
            fields[rule.when.choice[1]] = wanted.listed("includes")
    return SelectionView(required, allowed, fields)


def server_views(spec: m.Spec) -> list[GroupView]:
    groups: dict[str, list[OperationView]] = {}
    for ep in spec.endpoints.values():
        groups.setdefault(ep.group, []).append(operation_view(spec, ep))
    return [GroupView(name, snake(name), ops) for name, ops in sorted(groups.items())]


# -- rendering ----------------------------------------------------------------------------------
def emit_server(spec: m.Spec) -> dict[str, str]:
    """``{path: text}`` of the ``cds_server`` package."""
    env = python_environment(TEMPLATES)
    groups = server_views(spec)
    operations = [op for g in groups for op in g.operations]
    scopes = sorted(spec.scopes.values(), key=lambda s: list(spec.documents).index(s.document))
    fields = sorted(
        spec.authorization_details_fields.values(),
        key=lambda f: list(spec.documents).index(f.document),
    )
    context = {
        "spec": spec,
        "documents": [spec.documents[d] for d in spec.documents],
        "groups": groups,
        "operations": operations,
        "scopes": [(sc, selection_view(sc)) for sc in scopes],
        "fields": fields,
        "references": spec.references(),
        "cursor": CURSOR,
    }
    files = {
        "__init__.py": "__init__.py.j2",
        "py.typed": None,
        "results.py": "results.py.j2",
        "context.py": "context.py.j2",
        "params.py": "params.py.j2",
        "documents.py": "documents.py.j2",
        "operations.py": "operations.py.j2",
        "scopes.py": "scopes.py.j2",
        "references.py": "references.py.j2",
        "backend.py": "backend.py.j2",
        "routers/__init__.py": "routers_init.py.j2",
    }
    sources = {
        path: env.get_template(template).render(**context) if template else ""
        for path, template in files.items()
    }
    sources.update(runtime_sources("cds_server"))
    router = env.get_template("router.py.j2")
    for group in groups:
        sources[f"routers/{group.module}.py"] = router.render(**context, group=group)
    formatted = ruff_format_package(
        "cds_server", {p: t for p, t in sources.items() if p.endswith(".py")}
    )
    return {f"{SERVER_DIR}/{p}": formatted.get(p, t) for p, t in sorted(sources.items())}
