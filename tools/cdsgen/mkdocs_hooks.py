"""mkdocs hooks of the cdsgen site (``hooks:`` in mkdocs.yml).

The site serves everything itself, so it works without network access:

* the generated OpenAPI and JSON Schema files (``generated/openapi``, ``generated/jsonschema``)
  become downloads under ``downloads/openapi/`` and ``downloads/jsonschema/``;
* mermaid (diagrams) and Swagger UI (API reference) come from ``node_modules``, installed
  from ``package-lock.json`` by ``make assets``, and are served under ``assets/vendor/``.

Files are added to the build as they are; nothing is copied into ``site/``.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

#: Generated trees offered for download: source folder → site folder.
DOWNLOADS = {
    "generated/openapi": "downloads/openapi",
    "generated/jsonschema": "downloads/jsonschema",
}
#: The draft version's downloads, present when documents have drafts (spec/<id>/dev/).
DRAFT_DOWNLOADS = {
    "generated/dev/openapi": "downloads/dev/openapi",
    "generated/dev/jsonschema": "downloads/dev/jsonschema",
}

#: Vendored front-end files: site path → path under node_modules.
VENDOR = {
    "assets/vendor/mermaid/mermaid.min.js": "mermaid/dist/mermaid.min.js",
    "assets/vendor/mermaid/LICENSE": "mermaid/LICENSE",
    "assets/vendor/swagger-ui/swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
    "assets/vendor/swagger-ui/swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
    "assets/vendor/swagger-ui/LICENSE": "swagger-ui-dist/LICENSE",
}


def on_files(files: Files, config: MkDocsConfig) -> Files:
    root = Path(config.config_file_path).resolve().parent
    drafts = {s: t for s, t in DRAFT_DOWNLOADS.items() if (root / s).is_dir()}
    for source, target in {**DOWNLOADS, **drafts}.items():
        folder = root / source
        if not folder.is_dir():
            raise PluginError(f"{folder} is missing: run `cdsgen generate` first")
        for path in sorted(p for p in folder.iterdir() if p.is_file()):
            files.append(File.generated(config, f"{target}/{path.name}", abs_src_path=str(path)))
    modules = root / "node_modules"
    for target, source in VENDOR.items():
        path = modules / source
        if not path.is_file():
            raise PluginError(
                f"{path} is missing: run `make assets` (npm ci from package-lock.json)"
            )
        files.append(File.generated(config, target, abs_src_path=str(path)))
    return files
