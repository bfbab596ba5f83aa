"""The guard's operation table (cdsgen.server.routes): the exact-path look-up finds what
trying every pattern in order finds, for every documented path, method and HEAD."""

from __future__ import annotations

import pytest
from cdsgen.server import routes


def _by_patterns(method: str, path: str) -> routes.Route | None:
    method = "GET" if method == "HEAD" else method
    return next(
        (r for r in routes.ROUTES if r.operation.method == method and r.pattern.fullmatch(path)),
        None,
    )


def _paths() -> list[str]:
    """Every documented path with its parameters filled in, and a few that are not."""
    concrete = {r.pattern.pattern.replace("[^/]+", "x1").replace("\\", "") for r in routes.ROUTES}
    return sorted(concrete) + ["/", "/docs", "/cds-api/v1/clients/x1/nothing", "/oauth/tokens"]


@pytest.mark.parametrize("path", _paths())
def test_exact_paths_find_what_the_patterns_find(path):
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        assert routes.find(method, path) is _by_patterns(method, path), (method, path)


def test_most_documented_paths_are_found_by_one_look_up():
    exact = {path for _, path in routes._EXACT}
    assert "/.well-known/cds-server-metadata.json" in exact
    assert "/cds-customerdata-api/v1/usage-segments" in exact
    assert not any("{" in path or "[" in path for path in exact)
