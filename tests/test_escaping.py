"""Free-text descriptions can hold anything; no emitter may break or be injected by them."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys

import yaml

NASTY = 'Say "hi" \\ {{ x }} {% raw %} """ \'\'\' <script>alert(1)</script> & #: -- key: value'


def test_descriptions_survive_every_emitter(root, tmp_path):
    shutil.copytree(root / "tests/fixtures/minispec", tmp_path / "spec")
    things = tmp_path / "spec/cds-test-01/things.yaml"
    text = things.read_text().replace(
        "summary: Identifier.}", "summary: " + json.dumps(NASTY) + "}", 1
    )
    text = text.replace("summary: A thing.", "summary: " + json.dumps(NASTY), 1)
    things.write_text(text)
    proc = subprocess.run(
        [sys.executable, "-m", "cdsgen", "generate"], cwd=tmp_path, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr

    api = json.loads((tmp_path / "generated/openapi/cds.openapi.json").read_text())
    assert api["components"]["schemas"]["Thing"]["description"] == NASTY
    assert api["components"]["schemas"]["Thing"]["properties"]["id"]["description"] == NASTY
    api_yaml = yaml.safe_load((tmp_path / "generated/openapi/cds.openapi.yaml").read_text())
    assert api_yaml == api

    module_path = tmp_path / "generated/python/cds_models/__init__.py"
    spec = importlib.util.spec_from_file_location("cds_models_escaping", module_path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves annotations through sys.modules
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    assert module.Thing.model_fields["id"].description == NASTY
    assert NASTY in module.Thing.__doc__


def test_descriptions_render_as_text_on_the_site(root, tmp_path):
    """The same text, through the site emitter and a real mkdocs build, shows as itself.

    Only the emitters the site needs run here (the site pages and the downloads it links),
    so the check does not depend on what other emitters require of the fixture."""
    from cdsgen.emit.jsonschema import emit_jsonschema
    from cdsgen.emit.openapi import emit_openapi
    from cdsgen.emit.site import emit_site
    from cdsgen.lint import lint
    from cdsgen.loader import meta_schema
    from conftest import build_site
    from test_site import Page

    shutil.copytree(root / "tests/fixtures/minispec", tmp_path / "spec")
    things = tmp_path / "spec/cds-test-01/things.yaml"
    text = things.read_text().replace(
        "summary: Identifier.}", "summary: " + json.dumps(NASTY) + "}", 1
    )
    text = text.replace(
        "summary: A thing.", "summary: " + json.dumps("`" + NASTY + "` and " + NASTY), 1
    )
    things.write_text(text)
    result = lint(tmp_path / "spec")
    assert result.ok, [str(d) for d in result.diagnostics.errors]
    outputs = {**emit_openapi(result.spec), **emit_jsonschema(result.spec, meta_schema())}
    outputs.update(emit_site(result.spec, list(outputs)))
    for path, content in outputs.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(content, encoding="utf-8")

    (tmp_path / "node_modules").symlink_to(root / "node_modules")
    config = tmp_path / "mkdocs.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "INHERIT": str(root / "mkdocs.yml"),
                "theme": {
                    "name": "material",
                    "custom_dir": str(root / "tools/cdsgen/templates/mkdocs"),
                },
                "hooks": [str(root / "tools/cdsgen/mkdocs_hooks.py")],
                "nav": ["spec/index.md", "spec/cds-test-01.md", "spec/errata.md", "spec/api.md"],
            }
        )
    )
    proc = build_site(config, tmp_path / "site_build")
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" not in proc.stderr, proc.stderr

    html = (tmp_path / "site_build/spec/cds-test-01/index.html").read_text(encoding="utf-8")
    assert "<script>alert" not in html
    page = Page(tmp_path / "site_build/spec/cds-test-01/index.html")
    text = page.all_text
    assert text.count(NASTY) >= 3  # the field's description, the object's (code and text)
    cells = re.findall(r"<td>(.*?)</td>", html, re.S)
    shown = [Page.text_of(c) for c in cells]
    assert NASTY in shown
