"""The generated FastAPI stubs (``cds_server``): code as the model says, formatted, typed, safe
against any description, and behaving as documented with a toy backend."""

from __future__ import annotations

import ast
import inspect
import json
import shutil
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import cds_server
import httpx
import pytest
from cds_harness import serve_app
from cds_server import FIRST_PAGE, Accepted, AccessToken, Backend, Encoded, Page
from cds_server.errors import InvalidRequest
from cds_server.params import AuthorizeQuery, ListGrantsQuery, ListUsageSegmentsQuery
from cdsgen.diagnostics import Diagnostics
from cdsgen.emit.operations import snake
from cdsgen.emit.pysource import RUFF_COMMON
from cdsgen.emit.server import SERVER_DIR, emit_server
from cdsgen.loader import load_spec
from starlette.datastructures import QueryParams

PACKAGE = Path(cds_server.__file__).parent
RUFF = str(Path(sys.executable).parent / "ruff")
RUFF_SETTINGS = RUFF_COMMON  # what the generator formats the packages with


def test_generated_package_is_ruff_formatted_and_lint_clean():
    fmt = subprocess.run(
        [RUFF, "format", "--check", *RUFF_SETTINGS, str(PACKAGE)], capture_output=True, text=True
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    lint = subprocess.run(
        [
            RUFF,
            "check",
            *RUFF_SETTINGS,
            "--select",
            "E,F,W,I,UP,B",
            "--ignore",
            "E501",
            str(PACKAGE),
        ],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_one_router_per_group_and_one_route_per_operation(spec):
    groups = {ep.group for ep in spec.endpoints.values()}
    assert set(cds_server.ROUTERS) == groups
    assert {p.stem for p in (PACKAGE / "routers").glob("*.py")} - {"__init__"} == {
        snake(g) for g in groups
    }
    backend = _toy_backend()()
    routes = {
        (r.operation_id, next(iter(r.methods)), r.path)
        for build in cds_server.ROUTERS.values()
        for r in build(backend, "").routes
    }
    assert routes == {(ep.operation_id, ep.method, ep.path) for ep in spec.endpoints.values()}
    for op_id, ep in spec.endpoints.items():
        op = cds_server.OPERATIONS[op_id]
        assert (op.auth, op.scope_types, op.group) == (ep.auth, frozenset(ep.scopes), ep.group)
        assert [f.name for f in op.filters] == [f.name for f in ep.filters]
        assert op.url == spec.documents[ep.document].link(ep.anchor)


def test_backend_has_one_typed_documented_method_per_operation(spec):
    abstract = set(Backend.__abstractmethods__)
    assert abstract == {snake(op) for op in spec.endpoints} | {
        "scope_type",
        "authenticate_token",
        "authenticate_client",
    }
    for op_id, ep in spec.endpoints.items():
        method = getattr(Backend, snake(op_id))
        signature = inspect.signature(method)
        params = list(signature.parameters)
        assert params[:2] == ["self", "ctx"]
        assert params[2 : 2 + len(ep.path_params)] == [p.name for p in ep.path_params]
        if ep.request_type is not None:
            assert params[-1] == "body" and str(ep.request_type) in str(
                signature.parameters["body"].annotation
            )
        assert signature.return_annotation != inspect.Signature.empty
        doc = method.__doc__ or ""
        assert spec.documents[ep.document].link(ep.anchor) in doc.replace("\n        ", ""), op_id


def test_query_parameters_are_parsed_and_named_when_bad():
    q = ListUsageSegmentsQuery.from_params(
        QueryParams(
            "before=2025-01-01T00:00:00Z&cds_account_ids=a%20%20b&after=2025-02-01T01:00:00%2B01:00"
        )
    )
    assert q.before == datetime(2025, 1, 1, tzinfo=UTC) and q.cds_account_ids == ["a", "b"]
    assert q.after is not None and q.after.utcoffset().total_seconds() == 3600
    assert (
        ListUsageSegmentsQuery.from_params(QueryParams("cds_account_ids=")).cds_account_ids is None
    )
    for query, name in (
        ("before=2025-01-01T00:00:00", "before"),  # no offset
        ("before=2025-01-01", "before"),
        ("after=2025-13-01T00:00:00Z", "after"),
        ("cds_account_ids=a&cds_account_ids=b", "cds_account_ids"),
    ):
        with pytest.raises(InvalidRequest) as err:
            ListUsageSegmentsQuery.from_params(QueryParams(query))
        assert f"`{name}`" in err.value.description
    with pytest.raises(InvalidRequest, match="`client_id`: missing"):
        AuthorizeQuery.from_params(QueryParams("response_type=code"))
    assert ListGrantsQuery.from_params(QueryParams("statuses=active%20closed")).statuses == [
        "active",
        "closed",
    ]


def _toy_backend() -> type[Backend]:
    """A Backend whose every operation raises, except the few the tests below define."""

    def unimplemented(name: str):
        def method(self, *args, **kwargs):
            raise NotImplementedError(name)

        return method

    members = {name: unimplemented(name) for name in Backend.__abstractmethods__}
    members.update(
        scope_type=lambda self, scope_id: {
            "my_usage": "cds_usage",
            "my_admin": "cds_client_admin",
        }.get(scope_id),
        authenticate_token=lambda self, ctx, token: (
            AccessToken(token, "c1", frozenset({token})) if token.startswith("my_") else None
        ),
        authenticate_client=lambda self, ctx, credentials: credentials.client_secret == "s3cret",
    )
    return type("ToyBackend", (Backend,), members)


@pytest.fixture()
def toy():
    import cds_models as m

    calls: list = []
    client_doc = json.loads(
        (Path(__file__).parent / "fixtures" / "server" / "client.json").read_text()
    )

    class Toy(_toy_backend()):
        def list_usage_segments(self, ctx, query):
            calls.append(query)
            return Page(items=[], next="p2", previous=FIRST_PAGE)

        def modify_client(self, ctx, client_id, body):
            calls.append(body)
            return Accepted(m.Client.model_validate(client_doc))

        def list_coverage(self, ctx, query):
            return Page(items=[])

    with serve_app(cds_server.create_app(Toy())) as url:
        yield httpx.Client(base_url=url), calls


def test_stubs_authenticate_check_scope_types_and_page(toy):
    client, calls = toy
    url = "/cds-customerdata-api/v1/usage-segments"
    missing = client.get(url)
    assert (
        missing.status_code == 401 and missing.headers["www-authenticate"] == 'Bearer realm="cds"'
    )
    assert missing.json()["error"] == "invalid_token"
    unknown = client.get(url, headers={"Authorization": "Bearer nope"})
    assert (
        unknown.status_code == 401
        and 'error="invalid_token"' in unknown.headers["www-authenticate"]
    )
    # the token's scope *id* maps to a scope *type*; only types the operation lists pass
    admin = client.get(url, headers={"Authorization": "Bearer my_admin"})
    assert admin.status_code == 403 and admin.json()["error"] == "insufficient_scope"
    page = client.get(
        url + "?cds_account_ids=a%20b&cursor=p1", headers={"Authorization": "Bearer my_usage"}
    )
    assert page.status_code == 200
    here = f"{client.base_url}/cds-customerdata-api/v1/usage-segments?cds_account_ids=a%20b"
    assert page.json() == {"usage_segments": [], "next": f"{here}&cursor=p2", "previous": here}
    assert calls[-1].cds_account_ids == ["a", "b"] and calls[-1].cursor == "p1"
    bad = client.get(url + "?after=soon", headers={"Authorization": "Bearer my_usage"})
    assert bad.status_code == 400 and bad.json() == {
        "error": "invalid_request",
        "error_description": bad.json()["error_description"],
    }
    assert "`after`" in bad.json()["error_description"]


def test_stubs_answer_accepted_changes_conditional_gets_and_failures(toy):
    client, calls = toy
    headers = {"Authorization": "Bearer my_admin"}
    accepted = client.put("/cds-api/v1/clients/c1", json={"client_name": "New"}, headers=headers)
    assert accepted.status_code == 202 and accepted.json()["client_id"]
    assert calls[-1].client_name == "New"
    not_json = client.put("/cds-api/v1/clients/c1", content=b"[1, 2]", headers=headers)
    assert not_json.status_code == 400 and not_json.json()["error"] == "invalid_request"
    wrong_type = client.put(
        "/cds-api/v1/clients/c1", json={"redirect_uris": "https://x"}, headers=headers
    )
    assert (
        wrong_type.status_code == 400
        and "`redirect_uris`" in wrong_type.json()["error_description"]
    )
    first = client.get("/cds-coverage.json")
    assert (
        client.get(
            "/cds-coverage.json", headers={"If-None-Match": first.headers["etag"]}
        ).status_code
        == 304
    )
    basic_fail = client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=("c1", "wrong")
    )
    assert (
        basic_fail.status_code == 401
        and basic_fail.headers["www-authenticate"] == 'Basic realm="cds"'
    )
    failed = client.get(
        "/.well-known/cds-server-metadata.json"
    )  # the toy raises NotImplementedError
    assert failed.status_code == 500 and failed.json()["error"] == "server_error"


def test_stubs_answer_encoded_objects_and_call_inline_operations_on_the_loop():
    import cds_models as m
    from cdsgen.server.seed import sample_data

    threads: dict[str, str] = {}
    segment = {**sample_data()["usage_segments"][0], "extra": "kept"}

    class Quick(_toy_backend()):
        inline_operations = frozenset({"getServerMetadata", "listUsageSegments"})

        def get_server_metadata(self, ctx):
            threads["getServerMetadata"] = threading.current_thread().name
            return Encoded(b'{"cds_metadata_version":"1.0","name":"x"}')

        def list_usage_segments(self, ctx, query):
            threads["listUsageSegments"] = threading.current_thread().name
            if query.cursor == "bad":
                raise InvalidRequest("not a cursor")
            return Page(
                items=[Encoded(json.dumps(segment).encode()), m.UsageSegment(**segment)],
                next="p2",
            )

        def list_coverage(self, ctx, query):
            threads["listCoverage"] = threading.current_thread().name
            return Page(items=[])

    with serve_app(cds_server.create_app(Quick())) as url, httpx.Client(base_url=url) as client:
        meta = client.get("/.well-known/cds-server-metadata.json")
        assert meta.content == b'{"cds_metadata_version":"1.0","name":"x"}'
        etag = meta.headers["etag"]
        again = client.get("/.well-known/cds-server-metadata.json", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.headers["etag"] == etag
        usage = client.get(
            "/cds-customerdata-api/v1/usage-segments", headers={"Authorization": "Bearer my_usage"}
        )
        assert usage.status_code == 200
        assert usage.json() == {
            "usage_segments": [segment, segment],
            "next": f"{url}/cds-customerdata-api/v1/usage-segments?cursor=p2",
            "previous": None,
        }
        bad = client.get(
            "/cds-customerdata-api/v1/usage-segments?cursor=bad",
            headers={"Authorization": "Bearer my_usage"},
        )
        assert bad.status_code == 400 and bad.json()["error_description"] == "not a cursor"
        assert client.get("/cds-coverage.json").status_code == 200
    assert threads["listCoverage"] == "AnyIO worker thread"  # not named: in a worker thread
    assert "AnyIO worker thread" not in (threads["getServerMetadata"], threads["listUsageSegments"])


NASTY = 'Say "hi" \\ {{ x }} {% raw %} """ \'\'\' <script>alert(1)</script> & #: -- key: value'


def test_descriptions_cannot_break_or_inject_into_the_stubs(root, tmp_path):
    shutil.copytree(root / "tests/fixtures/minispec", tmp_path / "spec")
    things = tmp_path / "spec/cds-test-01/things.yaml"
    text = things.read_text()
    text = text.replace("summary: List things.", "summary: " + json.dumps(NASTY), 1)
    text = text.replace("summary: Only these.}", "summary: " + json.dumps(NASTY) + "}", 1)
    things.write_text(text)
    diags = Diagnostics()
    spec = load_spec(tmp_path / "spec", diags)
    assert not diags.errors, [str(d) for d in diags.errors]
    files = emit_server(spec)
    for path, source in files.items():
        if path.endswith(".py"):
            tree = ast.parse(source, filename=path)  # valid Python whatever the descriptions
            docstrings = [
                ast.get_docstring(n) or ""
                for n in ast.walk(tree)
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            ]
            if path.endswith("routers/default.py") or path.endswith("backend.py"):
                assert any(NASTY in " ".join(d.split()) for d in docstrings), path
    params = files[f"{SERVER_DIR}/params.py"]
    assert "alert(1)" in params and "{{ x }}" in params  # kept as text, not interpreted
