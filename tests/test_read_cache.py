"""The reference Server's read cache (cdsgen.server.read_cache): an answer is reused only for
the same visibility object and the same query, whatever its cursor."""

from __future__ import annotations

from dataclasses import dataclass

from cdsgen.server.access import Visibility
from cdsgen.server.read_cache import ReadCache


@dataclass(frozen=True)
class Query:
    ids: list[str] | None = None
    cursor: str | None = None


def test_listing_is_built_once_per_visibility_and_query():
    cache, built = ReadCache(), []

    def build(tag: str):
        def make():
            built.append(tag)
            return [{"id": tag}]

        return make

    vis, other = Visibility(), Visibility()
    first = cache.listing(vis, "listX", Query(["a"]), build("1"))
    assert cache.listing(vis, "listX", Query(["a"], cursor="100"), build("2")) is first
    assert cache.listing(vis, "listX", Query(["b"]), build("3")).docs == [{"id": "3"}]
    assert cache.listing(other, "listX", Query(["a"]), build("4")).docs == [{"id": "4"}]
    assert cache.listing(vis, "listY", Query(["a"]), build("5")).docs == [{"id": "5"}]
    assert built == ["1", "3", "4", "5"]


def test_pages_are_kept_per_cursor_and_server_url():
    cache = ReadCache()
    listing = cache.listing(Visibility(), "listX", Query(), lambda: [])
    made = []

    def render(tag):
        def make():
            made.append(tag)
            return [tag], None, None

        return make

    assert cache.page(listing, None, "http://a", 100, render("a"))[0] == ["a"]
    assert cache.page(listing, None, "http://a", 100, render("again"))[0] == ["a"]
    assert cache.page(listing, "100", "http://a", 100, render("next"))[0] == ["next"]
    assert cache.page(listing, None, "http://b", 100, render("b"))[0] == ["b"]
    assert made == ["a", "next", "b"]


def test_failed_render_is_not_kept():
    cache = ReadCache()
    listing = cache.listing(Visibility(), "listX", Query(), lambda: [])

    def broken():
        raise ValueError("not a cursor")

    for _ in range(2):
        try:
            cache.page(listing, "x", "http://a", 100, broken)
        except ValueError:
            pass
    assert cache.page(listing, "x", "http://a", 100, lambda: ([1], None, None))[0] == [1]


def test_value_sets_are_read_once_and_bounded():
    cache, reads = ReadCache(values=3), []

    def load(ids):
        reads.append(list(ids))
        return {i: b'[[{"eu":%d}]]' % len(i) for i in ids}

    assert cache.values(["s1", "s2"], load) == {"s1": b'[[{"eu":2}]]', "s2": b'[[{"eu":2}]]'}
    assert cache.values(["s2", "s3"], load)["s3"] == b'[[{"eu":2}]]'
    assert reads == [["s1", "s2"], ["s3"]]
    cache.values(["s4"], load)  # beyond the bound: starts over
    cache.values(["s1"], load)
    assert reads[-1] == ["s1"]
