"""Free-text descriptions can hold anything; no emitter may break or be injected by them."""

from __future__ import annotations

import importlib.util
import json
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
