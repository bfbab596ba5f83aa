"""httpx client stubs (``cds_client``), synchronous and asynchronous.

Every operation of the documents becomes a typed method returning :mod:`cds_models` objects.
No path is fixed in the generated code except the well-known Server Metadata URL: each
operation's URL is read, at run time, from the field of the metadata (or of the object it
acts on) that the source names in ``advertised_by``:

* ``ServerMetadata.f`` / ``AuthorizationServerMetadata.f`` of an operation without
  authentication → the Server's public metadata, on :class:`CdsClient` (discovery);
* ``AuthorizationServerMetadata.f`` of an authenticated operation → the metadata of the
  session's Client Object, on :class:`CdsSession` (which may name another token endpoint
  and other customer-data URLs than the public metadata);
* ``Object.f`` otherwise → the object the method acts on (``get_client(client)`` reads
  ``client.cds_client_uri``), or that URL given as a string;
* no ``advertised_by`` → a ``url`` argument.

Request building lives once, in the generated ``operations.py`` (one function per operation
returning a ``Request``); ``client.py`` (httpx.Client) and ``aio.py`` (httpx.AsyncClient),
rendered from one template, only send those requests. Modules that do not depend on the
source are real files under ``tools/cdsgen/runtime/cds_client/``, copied as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cdsgen import model as m
from cdsgen.emit import TEMPLATES_DIR, runtime_sources
from cdsgen.emit.operations import CURSOR, OperationView, operation_view, snake
from cdsgen.emit.pysource import (
    python_environment,
    ruff_format_package,
)

CLIENT_DIR = "generated/python/cds_client"
PACKAGE = "cds_client"
TEMPLATES = TEMPLATES_DIR / "client"

#: The metadata objects whose fields locate operations (the rest are objects acted upon).
SERVER_METADATA = "ServerMetadata"
OAUTH_METADATA = "AuthorizationServerMetadata"

#: Models the hand-written parts of the client use, besides those of the operations.
BASE_MODELS = (
    "AuthorizationServerMetadata",
    "Client",
    "ClientRegistrationResponse",
    "ServerMetadata",
    "TokenRequest",
    "TokenResponse",
)
#: Client-side annotations of the server-side parameter types: values may also be given as
#: the strings the query carries.
_ANNOTATIONS = {
    "list[str]": "Sequence[str]",
    "datetime": "datetime | str",
    "date": "date | str",
    "Decimal": "Decimal | str",
}
#: Authorization request parameters the session fills in itself (RFC 6749 §4.1.1, RFC 7636).
AUTHORIZE_FILLED = ("response_type", "client_id", "code_challenge", "code_challenge_method")
#: Authorization request parameters given in a richer form: (annotation, conversion).
AUTHORIZE_RICHER = {
    "scope": ("str | Sequence[str]", None),
    "authorization_details": ("Sequence[Mapping[str, Any]] | str", "authorization_details_json"),
}


@dataclass
class Param:
    """A query parameter of a method: keyword-only, optional."""

    name: str
    attr: str
    annotation: str
    summary: str
    #: A function of ``cds_client.oauth`` that turns the argument into the query value.
    convert: str | None = None


@dataclass
class Iteration:
    """An iterator over every item of one list of a listing, across its pages."""

    name: str
    list: str
    item: str
    next: str


@dataclass
class ClientOperation:
    view: OperationView
    name: str
    #: ``discovery`` (no authentication, on CdsClient) or ``session`` (on CdsSession).
    home: str
    #: Where the URL comes from: ``well_known``, ``server_metadata``, ``oauth_metadata``
    #: (the public metadata), ``metadata`` (the session's), ``target`` (the object acted on)
    #: or ``url`` (an argument, when the source names no field that advertises it).
    source: str
    field: str | None
    target: str | None = None
    target_param: str | None = None
    params: list[Param] = field(default_factory=list)
    follow_redirects: bool = False
    iterations: list[Iteration] = field(default_factory=list)

    @property
    def ep(self) -> m.Endpoint:
        return self.view.ep

    @property
    def returns(self) -> str:
        """The return annotation of the method."""
        kind = self.view.kind
        if kind == "file":
            return "bytes"
        if kind == "empty":
            return "None"
        if kind == "redirect":
            return "str"
        assert self.view.body is not None
        return self.view.body

    @property
    def access(self) -> str:
        """How the method calls the operation, for its docstring."""
        ep = self.ep
        where = {
            "well_known": f"the well-known path ``{ep.path}`` of the base URL",
            "server_metadata": f"the ``{self.field}`` URL of the Server Metadata",
            "oauth_metadata": f"the ``{self.field}`` URL of the Authorization Server Metadata",
            "metadata": f"the ``{self.field}`` URL of this session's metadata",
            "target": f"the ``{self.field}`` URL of ``{self.target_param}``",
            "url": "``url`` (no metadata field advertises this operation)",
        }[self.source]
        if self.view.kind == "redirect":
            return f"The URL of a {ep.method} to {where}, for the Customer's browser."
        text = f"{ep.method} to {where}"
        if ep.auth == "bearer":
            text += ", with the session's Bearer token"
            if ep.scopes:
                text += " (scope type " + " or ".join(f"``{s}``" for s in ep.scopes) + ")"
        elif ep.auth == "client_basic":
            text += ", with HTTP Basic Client authentication"
        return text + "."


def _object_field(advertised_by: str, ep: m.Endpoint) -> tuple[str, str]:
    obj, dot, name = advertised_by.partition(".")
    if not dot:
        raise ValueError(
            f"{ep.operation_id}: `advertised_by` must be Object.field: {advertised_by}"
        )
    return obj, name


def _target_param(obj: str, ep: m.Endpoint) -> str:
    """The argument naming the object acted upon: the last path parameter without ``_id``
    when the object's name ends with it (``message_id`` of ``ClientMessage`` → ``message``),
    else the object's name (``server_metadata``)."""
    name = snake(obj)
    if ep.path_params:
        last = ep.path_params[-1].name.removesuffix("_id")
        if name == last or name.endswith("_" + last):
            return last
    return name


def _params(view: OperationView, authorize: bool) -> list[Param]:
    out = []
    for p in view.query:
        if p.name == CURSOR or (authorize and p.name in AUTHORIZE_FILLED):
            continue
        annotation, convert = _ANNOTATIONS.get(p.py_type, p.py_type), None
        if authorize and p.name in AUTHORIZE_RICHER:
            annotation, convert = AUTHORIZE_RICHER[p.name]
        out.append(Param(p.name, p.attr, annotation, p.summary, convert))
    return out


def _iterations(view: OperationView, name: str) -> list[Iteration]:
    if view.kind != "listing":
        return []
    if not name.startswith("list_"):
        raise ValueError(f"{view.ep.operation_id}: listing operations are named list…")
    rest = name.removeprefix("list_")
    if len(view.lists) == 1:
        only = view.lists[0]
        return [Iteration(f"iter_{rest}", only.name, only.item, only.next)]
    return [
        Iteration(f"iter_{lst.name}_{rest}", lst.name, lst.item, lst.next) for lst in view.lists
    ]


def client_operation(spec: m.Spec, ep: m.Endpoint) -> ClientOperation:
    view = operation_view(spec, ep)
    redirect = view.kind == "redirect"
    home = "discovery" if ep.auth == "none" and not redirect else "session"
    name = "authorization_url" if redirect else view.func
    op = ClientOperation(view=view, name=name, home=home, source="", field=None)
    if ep.well_known:
        if home != "discovery":
            raise ValueError(f"{ep.operation_id}: well-known operations need no authentication")
        op.source = "well_known"
    elif not ep.advertised_by:
        op.source = "url"  # nothing locates it: the caller gives its URL
    else:
        obj, field_name = _object_field(ep.advertised_by, ep)
        op.field = field_name
        if home == "discovery":
            sources = {SERVER_METADATA: "server_metadata", OAUTH_METADATA: "oauth_metadata"}
            if obj not in sources:
                raise ValueError(
                    f"{ep.operation_id}: unauthenticated operations are located by metadata"
                )
            op.source = sources[obj]
        elif obj == OAUTH_METADATA:
            op.source = "metadata"
        else:
            if obj not in spec.objects:
                raise ValueError(f"{ep.operation_id}: `advertised_by` names no object: {obj}")
            op.source = "target"
            op.target = obj
            op.target_param = _target_param(obj, ep)
    op.params = _params(view, redirect)
    op.follow_redirects = not redirect and any(
        300 <= r.status < 400 and r.status != 304 for r in ep.responses
    )
    op.iterations = _iterations(view, name)
    if op.iterations and ep.auth == "client_basic":
        raise ValueError(f"{ep.operation_id}: pages are followed with a Bearer token or none")
    return op


def client_operations(spec: m.Spec) -> list[ClientOperation]:
    """Every operation, grouped as the server stubs group them (by API, alphabetically)."""
    ops = [client_operation(spec, ep) for ep in spec.endpoints.values()]
    return sorted(ops, key=lambda op: op.ep.group)


def emit_client(spec: m.Spec) -> dict[str, str]:
    """``{path: text}`` of the ``cds_client`` package."""
    env = python_environment(TEMPLATES)
    ops = client_operations(spec)
    models = set(BASE_MODELS)
    for op in ops:
        models.update(n for n in (op.view.request, op.view.body, op.target) if n)
        models.update(it.item for it in op.iterations)
    context = {
        "models": sorted(models),
        "documents": [spec.documents[d] for d in spec.documents],
        "discovery": [op for op in ops if op.home == "discovery"],
        "session": [op for op in ops if op.home == "session"],
    }
    sources = {
        "__init__.py": env.get_template("__init__.py.j2").render(**context),
        "py.typed": "",
        **runtime_sources(PACKAGE),
    }
    sources["operations.py"] = env.get_template("operations.py.j2").render(
        **context, operations=ops
    )
    client = env.get_template("client.py.j2")
    sources["client.py"] = client.render(**context, aio=False)
    sources["aio.py"] = client.render(**context, aio=True)
    formatted = ruff_format_package(
        PACKAGE, {p: t for p, t in sources.items() if p.endswith(".py")}
    )
    return {f"{CLIENT_DIR}/{p}": formatted.get(p, t) for p, t in sorted(sources.items())}
