"""Packaging of the generated Python packages: each one is a project that builds on its own.

An implementer who only needs the models installs ``cds-models`` (pydantic and nothing else);
the client and the server stubs are ``cds-client`` and ``cds-server``. Each package folder
(``generated/python/cds_models`` …) gets a generated ``pyproject.toml`` and ``README.md``, so
the folder keeps its import layout — ``generated/python`` on ``sys.path`` imports all three,
as the tests and the reference server expect — and is at the same time a buildable project.

The build backend is hatchling, not setuptools: it maps the folder onto the import name
(``sources``), and it builds outside the source folder. setuptools would leave ``build/`` and
``*.egg-info`` inside a tree the generator owns, which ``cdsgen generate --check`` would then
report as files that are not generated.

The three distributions share one version, derived from the documents' versions by
:func:`package_version`; they pin each other to exactly that version because they are
generated together from one source.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import jinja2
from markupsafe import Markup

from cdsgen import model as m
from cdsgen.emit import TEMPLATES_DIR
from cdsgen.emit.client import CLIENT_DIR
from cdsgen.emit.models import MODELS_DIR
from cdsgen.emit.server import SERVER_DIR
from cdsgen.view import DocumentVersion, document_versions

TEMPLATES = TEMPLATES_DIR / "packaging"

#: Lowest versions of the third-party dependencies the generated code works with. pydantic
#: 2.12 brought ``url_preserve_empty_path``, which the models' base class sets (URLs kept as
#: written); tests/test_server_stubs.py and tests/test_client.py passed with fastapi 0.115.0
#: (starlette 0.38.6) and httpx 0.27.0.
PYDANTIC = "pydantic>=2.12,<3"
HTTPX = "httpx>=0.27,<1"
FASTAPI = "fastapi>=0.115"

#: A semantic document version with the pre-release labels the source allows
#: (``tools/cdsgen/schema/source.schema.yaml`` has the same pattern).
SEMVER = re.compile(
    r"^(?P<release>[0-9]+\.[0-9]+\.[0-9]+)"
    r"(?:-(?P<label>draft|dev|alpha|beta|rc)(?:[.-]?(?P<number>[0-9]+))?)?$"
)
#: Pre-release label → PEP 440 pre-release segment; a draft is a development release.
PEP440_LABELS = {"draft": ".dev", "dev": ".dev", "alpha": "a", "beta": "b", "rc": "rc"}
#: Order of the labels within one release (a release without label comes last).
_LABEL_ORDER = {"draft": 0, "dev": 0, "alpha": 1, "beta": 2, "rc": 3, None: 4}


@dataclass(frozen=True)
class Distribution:
    """One generated package as a distribution."""

    name: str
    package: str
    folder: str
    summary: str
    #: Third-party requirements (the generated siblings are added, pinned, by the emitter).
    requires: tuple[str, ...]
    siblings: tuple[str, ...]
    #: A short example for the README (markdown).
    usage: str


DISTRIBUTIONS = (
    Distribution(
        name="cds-models",
        package="cds_models",
        folder=MODELS_DIR,
        summary="Pydantic models of the LF Energy Connected Data Specifications (CDS)",
        requires=(PYDANTIC,),
        siblings=(),
        usage=(
            "```python\n"
            "import cds_models\n\n"
            "meta = cds_models.ServerMetadata.model_validate_json(raw)  # unknown fields are kept\n"
            "print(meta.name, meta.capabilities)\n"
            "```"
        ),
    ),
    Distribution(
        name="cds-client",
        package="cds_client",
        folder=CLIENT_DIR,
        summary="httpx client (sync and async) for Servers of the LF Energy Connected Data "
        "Specifications (CDS)",
        requires=(HTTPX,),
        siblings=("cds-models",),
        usage=(
            "```python\n"
            "from cds_client import CdsClient  # AsyncCdsClient: the same with async/await\n\n"
            'with CdsClient("https://cds.example.com") as cds:\n'
            "    print(cds.server_metadata().name)\n"
            "```"
        ),
    ),
    Distribution(
        name="cds-server",
        package="cds_server",
        folder=SERVER_DIR,
        summary="FastAPI server stubs for the LF Energy Connected Data Specifications (CDS)",
        requires=(FASTAPI,),
        siblings=("cds-models",),
        usage=(
            "```python\n"
            "import cds_server\n\n\n"
            "class MyBackend(cds_server.Backend):  # one typed method per operation\n"
            "    ...\n\n\n"
            "app = cds_server.create_app(MyBackend())  # any ASGI server, e.g. uvicorn\n"
            "```"
        ),
    ),
)


def _parse(version: str) -> tuple[str, str | None, int]:
    """``(release, pre-release label, its number)`` of a document version."""
    match = SEMVER.match(version)
    if match is None:
        raise ValueError(f"document version {version!r} is not MAJOR.MINOR.PATCH[-label[.N]]")
    return match["release"], match["label"], int(match["number"] or 0)


def pep440(version: str) -> str:
    """The PEP 440 form of a document version: ``1.0.0-draft`` → ``1.0.0.dev0``,
    ``1.1.0-rc.2`` → ``1.1.0rc2``; ``ValueError`` for a form the source does not allow."""
    release, label, number = _parse(version)
    return release if label is None else f"{release}{PEP440_LABELS[label]}{number}"


def _order(version: str) -> tuple[tuple[int, ...], int, int]:
    release, label, number = _parse(version)
    return tuple(int(p) for p in release.split(".")), _LABEL_ORDER[label], number


def package_version(spec: m.Spec) -> str:
    """The version of the generated distributions: the PEP 440 form of the documents'
    shared version, or of the highest one when they differ (the generated README and
    ``cds_models.CDS_DOCUMENTS`` still name each document's own version)."""
    versions = [d.version for d in spec.documents.values()]
    return pep440(max(versions, key=_order))


def toml_string(value: str) -> Markup:
    """A TOML basic string: JSON's escapes are a subset of TOML's."""
    return Markup(json.dumps(str(value), ensure_ascii=False))


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def md_plain(value: object) -> Markup:
    """Text in a markdown table cell that renders as itself (and still reads as plain text)."""
    if isinstance(value, Markup):
        return value
    return Markup(_MD_SPECIAL.sub(r"\\\1", " ".join(str(value).split())))


def md_link(label: str, url: str) -> Markup:
    """A markdown link whose label renders as plain text."""
    if re.search(r"[\s<>()]", url):
        raise ValueError(f"unexpected character in link target {url!r}")
    return Markup(f"[{md_plain(label)}]({url})")


def _environment(*, markdown: bool) -> jinja2.Environment:
    """Templates of project files; in markdown every ``{{ value }}`` is escaped as text."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        finalize=md_plain if markdown else None,
    )
    env.filters["toml"] = toml_string
    env.globals["link"] = md_link
    return env


def requirements(dist: Distribution, version: str) -> list[str]:
    """Third-party lower bounds, then the generated siblings pinned to ``version``."""
    return [*dist.requires, *(f"{s}=={version}" for s in dist.siblings)]


def emit_packaging(spec: m.Spec) -> dict[str, str]:
    """``pyproject.toml`` and ``README.md`` of each generated package folder."""
    version = package_version(spec)
    documents: list[DocumentVersion] = document_versions(spec)
    pyproject = _environment(markdown=False).get_template("pyproject.toml.j2")
    readme = _environment(markdown=True).get_template("README.md.j2")
    outputs: dict[str, str] = {}
    for dist in DISTRIBUTIONS:
        outputs[f"{dist.folder}/pyproject.toml"] = pyproject.render(
            dist=dist, version=version, requirements=requirements(dist, version)
        )
        outputs[f"{dist.folder}/README.md"] = readme.render(
            dist=_readme_fields(dist),
            version=version,
            documents=documents,
        )
    return outputs


def _readme_fields(dist: Distribution) -> dict[str, object]:
    """The distribution's fields for the README; its usage example is markdown already."""
    return {
        "name": dist.name,
        "package": dist.package,
        "summary": dist.summary,
        "usage": Markup(dist.usage),
    }
