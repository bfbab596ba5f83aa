"""The generation pipeline: source → model → every emitter → ``{path: text}``.

Kept separate from the CLI so tests and benchmarks run exactly what ``cdsgen generate`` runs.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from cdsgen import model as m
from cdsgen.diagnostics import Diagnostics
from cdsgen.drafts import DRAFT_GENERATED_DIR, build_draft
from cdsgen.emit.client import CLIENT_DIR, emit_client
from cdsgen.emit.codegen import PendingCodegen
from cdsgen.emit.jsonschema import JSONSCHEMA_DIR, emit_jsonschema
from cdsgen.emit.models import MODELS_DIR, PendingModels, emit_versions, start_models
from cdsgen.emit.openapi import OPENAPI_DIR, build_openapi, emit_openapi
from cdsgen.emit.packaging import emit_packaging
from cdsgen.emit.server import SERVER_DIR, emit_server
from cdsgen.emit.site import SITE_DIR, emit_site
from cdsgen.lint import check_spec
from cdsgen.loader import draft_documents, load_spec, meta_schema
from cdsgen.worker import ForkedCall

#: Folders owned entirely by the generator (each written atomically as one tree); the draft
#: version's site pages are inside SITE_DIR (``site/spec/dev``).
TREES = [
    OPENAPI_DIR,
    JSONSCHEMA_DIR,
    MODELS_DIR,
    SITE_DIR,
    SERVER_DIR,
    CLIENT_DIR,
    DRAFT_GENERATED_DIR,
]


def generate(
    root: Path, codegen: PendingCodegen | None = None
) -> tuple[Diagnostics, dict[str, str] | None]:
    """Load and lint the source and run every emitter; ``None`` outputs when it has errors.

    datamodel-code-generator, the slowest step, starts first (``codegen``, if the caller
    started it even earlier): its process imports the generator while the source loads,
    gets the OpenAPI as soon as the model is loaded, and runs while the examples are
    validated and the other emitters work. The draft version (when the source has drafts)
    is built meanwhile in a forked process (:mod:`cdsgen.worker`) from the loaded releases."""
    codegen = codegen or PendingCodegen()
    diags = Diagnostics()
    try:
        spec = load_spec(root, diags)
    except BaseException:
        codegen.cancel()
        raise
    if diags.errors:
        codegen.cancel()
        return diags, None
    draft = ForkedCall(partial(_draft_version, root, spec)) if draft_documents(root) else None
    try:
        combined = build_openapi(spec, None)
        models = start_models(combined, codegen)
        verdicts = check_spec(spec, diags, root)
        if diags.errors:
            return diags, None
        outputs = build_outputs(spec, verdicts, combined, models)
        if draft is None:  # no drafts: the draft version is the release (and its verdicts)
            _, drafts = build_draft(root, spec, diags, verdicts)
        else:
            draft_diags, drafts = draft.result()
            draft = None
            diags.merge(draft_diags)
        if diags.errors:
            return diags, None
        return diags, {**outputs, **drafts}
    finally:
        if draft is not None:
            draft.cancel()
        codegen.cancel()  # a no-op once its result was taken


def _draft_version(root: Path, released: m.Spec) -> tuple[Diagnostics, dict[str, str]]:
    """The draft version's diagnostics and outputs (run in the worker process)."""
    diags = Diagnostics()
    _, outputs = build_draft(root, released, diags, {})
    return diags, outputs


def build_outputs(
    spec: m.Spec,
    verdicts: dict[str, list[str]],
    combined: dict[str, Any] | None = None,
    models: PendingModels | None = None,
) -> dict[str, str]:
    """Every output of a loaded model and what lint found in its examples (``verdicts``;
    ``combined``/``models`` if already started). The site's pages, a third of the work, are
    rendered in a worker process meanwhile (:mod:`cdsgen.worker`)."""
    outputs: dict[str, str] = {}
    combined = combined if combined is not None else build_openapi(spec, None)
    models = models if models is not None else start_models(combined)
    outputs.update(emit_openapi(spec, combined))
    outputs.update(emit_jsonschema(spec, meta_schema()))
    downloads = [p for p in outputs if p.startswith((OPENAPI_DIR + "/", JSONSCHEMA_DIR + "/"))]
    site = ForkedCall(partial(emit_site, spec, downloads, verdicts))
    try:
        outputs.update(emit_server(spec))
        outputs.update(emit_client(spec))
        outputs.update(emit_versions(spec))
        outputs.update(emit_packaging(spec))
        outputs.update(models.result())
        outputs.update(site.result())
    finally:
        site.cancel()
    return dict(sorted(outputs.items()))


def project_root(spec_dir: Path) -> Path:
    """Outputs live beside the source folder (``spec/`` → the project root)."""
    return spec_dir.resolve().parent
