"""Free-text descriptions can hold anything; no emitter may break or be injected by them."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

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
    outputs.update(emit_site(result.spec, list(outputs), result.example_problems))
    for path, content in outputs.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(content, encoding="utf-8")

    config = _site_config(
        root, tmp_path, ["spec/index.md", "spec/cds-test-01.md", "spec/errata.md", "spec/api.md"]
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


# -- every artefact from a source full of hostile strings ------------------------------------

#: Every C0 control but the line breaks, DEL and every C1 control.
CONTROLS = "".join(chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)] if c not in (10, 13))
#: Text that ends strings, templates, scripts and markup early, reorders what a reader sees,
#: and ends with a backslash.
HOSTILE = (
    'He said "hi" """ \'\'\' {{ x }} {% raw %} {% endraw %} {# c #} '
    "</script><script>alert(1)</script> <!-- c --> ]]> `tick` *em* _u_ | pipe | "
    "[x](javascript:alert(1)) \u202eevil\u202c \u2066iso\u2069 \u200fmark " + CONTROLS + " end\\"
)
#: A summary of 1 MB.
HUGE = "Lorem ipsum dolor sit amet. " * 38000


def _hostile_source(root: Path, target: Path) -> tuple[str, str]:
    """The real source with every free text of CDS-WG1-01 (summaries and titles of objects,
    fields, enums, values, endpoints, filters, parameters, responses, the document) replaced
    by :data:`HOSTILE` and one field's by :data:`HUGE`, written back as YAML (which escapes
    what YAML cannot hold raw). Returns an object of the document and one of its fields."""
    shutil.copytree(root / "spec", target)
    first: tuple[str, str] | None = None
    for path in sorted((target / "cds-wg1-01").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if "document" in data:
            data["document"]["summary"] = HOSTILE
        for table in ("objects", "enums", "endpoints"):
            for name, item in (data.get(table) or {}).items():
                item["summary"] = HOSTILE
                if "title" in item:
                    item["title"] = HOSTILE
                for key in ("fields", "filters", "query_params", "path_params", "responses"):
                    for sub_name, sub in (item.get(key) or {}).items():
                        sub["summary"] = HOSTILE
                        if table == "objects" and first is None:
                            first = (name, sub_name)
                            sub["summary"] = HUGE
                for value, vd in (item.get("values") or {}).items():
                    if isinstance(vd, dict):
                        vd["summary"] = HOSTILE
                    else:
                        item["values"][value] = HOSTILE
        path.write_text(yaml.safe_dump(data, allow_unicode=False, width=10**9, sort_keys=False))
    assert first is not None
    return first


_IMPORT_ALL = """
import importlib, json, pkgutil, sys
hostile = json.load(open(sys.argv[1]))
for name in ("cds_models", "cds_server", "cds_client"):
    package = importlib.import_module(name)
    for info in pkgutil.walk_packages(package.__path__, name + "."):
        importlib.import_module(info.name)
import cds_models
model = getattr(cds_models, sys.argv[2])
assert model.model_fields[sys.argv[3]].description.startswith("Lorem ipsum"), "huge description"
assert hostile.split("{{")[0] in model.__doc__, "docstring"
print("imported")
"""

#: Characters no generated text file may hold raw: controls other than tab and line feed,
#: and the bidi overrides and isolates that make code read differently than it runs.
_RAW_FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def test_hostile_strings_survive_every_artefact(root, tmp_path):
    obj, field_name = _hostile_source(root, tmp_path / "spec")
    proc = subprocess.run(
        [sys.executable, "-m", "cdsgen", "generate"], cwd=tmp_path, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]

    for path in sorted((tmp_path / "generated").rglob("*")) + sorted(
        (tmp_path / "site/spec").rglob("*")
    ):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            found = _RAW_FORBIDDEN.search(text)
            assert found is None, f"{path.relative_to(tmp_path)}: raw {found.group()!r}"

    api = json.loads((tmp_path / "generated/openapi/cds.openapi.json").read_text())
    schema = api["components"]["schemas"][obj]
    assert schema["description"] == HOSTILE
    assert schema["properties"][field_name]["description"] == HUGE
    api_yaml = yaml.safe_load((tmp_path / "generated/openapi/cds.openapi.yaml").read_text())
    assert api_yaml == api
    for schema in (tmp_path / "generated/jsonschema").glob("*.json"):
        json.loads(schema.read_text())

    (tmp_path / "hostile.json").write_text(json.dumps(HOSTILE))
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "generated/python")}
    imported = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL, str(tmp_path / "hostile.json"), obj, field_name],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert imported.returncode == 0, imported.stderr[-3000:]
    assert "imported" in imported.stdout

    config = _site_config(
        root,
        tmp_path,
        sorted(str(p.relative_to(tmp_path / "site")) for p in (tmp_path / "site").rglob("*.md")),
    )
    from conftest import build_site

    built = build_site(config, tmp_path / "site_build")
    assert built.returncode == 0, built.stderr[-3000:]
    assert "WARNING" not in built.stderr, built.stderr[-3000:]
    for page in (tmp_path / "site_build/spec").rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert "<script>alert" not in html, page
        assert _RAW_FORBIDDEN.search(html) is None, page
    from test_site import Page

    text = Page(tmp_path / "site_build/spec/cds-wg1-01/index.html").all_text
    for part in ('"""', "{{ x }}", "{% raw %}", "</script><script>alert(1)</script>", "end\\"):
        assert part in text, part


def _site_config(root: Path, tmp_path: Path, nav: list[str]) -> Path:
    """An mkdocs.yml in ``tmp_path`` building its ``site/`` pages with the project's theme,
    hooks and assets, as ``make site`` builds the real ones."""
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
                "nav": nav,
            }
        )
    )
    return config
