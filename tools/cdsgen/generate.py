"""The generation pipeline: source → model → every emitter → ``{path: text}``.

Kept separate from the CLI so tests and benchmarks run exactly what ``cdsgen generate`` runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cdsgen import model as m
from cdsgen.diagnostics import Diagnostics
from cdsgen.emit.client import CLIENT_DIR, emit_client
from cdsgen.emit.jsonschema import JSONSCHEMA_DIR, emit_jsonschema
from cdsgen.emit.models import MODELS_DIR, PendingModels, start_models
from cdsgen.emit.openapi import OPENAPI_DIR, build_openapi, emit_openapi
from cdsgen.emit.packaging import emit_packaging
from cdsgen.emit.server import SERVER_DIR, emit_server
from cdsgen.emit.site import SITE_DIR, emit_site
from cdsgen.emit.versions import emit_versions
from cdsgen.lint import check_spec
from cdsgen.loader import load_spec, meta_schema

#: Folders owned entirely by the generator (each written atomically as one tree).
TREES = [OPENAPI_DIR, JSONSCHEMA_DIR, MODELS_DIR, SITE_DIR, SERVER_DIR, CLIENT_DIR]


def generate(root: Path) -> tuple[Diagnostics, dict[str, str] | None]:
    """Load and lint the source and run every emitter; ``None`` outputs when it has errors.

    datamodel-code-generator, the slowest step, starts as soon as the model is loaded, so it
    runs while the examples are validated and the other emitters work."""
    diags = Diagnostics()
    spec = load_spec(root, diags)
    if diags.errors:
        return diags, None
    combined = build_openapi(spec, None)
    models = start_models(combined)
    check_spec(spec, diags, root)
    if diags.errors:
        models.cancel()
        return diags, None
    return diags, build_outputs(spec, combined, models)


def build_outputs(
    spec: m.Spec, combined: dict[str, Any] | None = None, models: PendingModels | None = None
) -> dict[str, str]:
    """Every output of a loaded, linted model (``combined``/``models`` if already started)."""
    outputs: dict[str, str] = {}
    combined = combined if combined is not None else build_openapi(spec, None)
    models = models if models is not None else start_models(combined)
    outputs.update(emit_openapi(spec, combined))
    outputs.update(emit_jsonschema(spec, meta_schema()))
    outputs.update(emit_server(spec))
    outputs.update(emit_client(spec))
    outputs.update(emit_versions(spec))
    outputs.update(emit_packaging(spec))
    downloads = [p for p in outputs if p.startswith((OPENAPI_DIR + "/", JSONSCHEMA_DIR + "/"))]
    outputs.update(emit_site(spec, downloads))
    outputs.update(models.result())
    return dict(sorted(outputs.items()))


def project_root(spec_dir: Path) -> Path:
    """Outputs live beside the source folder (``spec/`` → the project root)."""
    return spec_dir.resolve().parent
