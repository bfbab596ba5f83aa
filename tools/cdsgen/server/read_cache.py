"""The customer-data read path, computed once per visibility instead of once per request.

The sandbox's customer data (accounts … usage segments and their value sets) is written once,
when the database is seeded, and never changed while the Server runs. What a token sees of it
depends only on its :class:`~cdsgen.server.access.Visibility` (built from the current state
of its Grants, see ``ReferenceBackend._visibility``) and on the query. So the work between
them — presenting every object through the Grant's bounds, filtering, ordering, reading the
value sets, validating and encoding each item as its ``cds_models`` class — gives the same
answer for every page request of a listing, and is kept here:

* the ordered, filtered listing, per visibility and query (the cursor aside);
* each page of it as items validated and encoded as JSON, per cursor and Server URL;
* the stored value sets (JSON) of each usage segment.

A visibility is replaced, not changed, when a Grant changes, so an entry found for it is
still right; an entry remembers the visibility object it was built for, so a recycled
``id()`` never finds another's entry. Every table is bounded: at its limit it starts over.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any

from cdsgen.server import access

Page = tuple[list[Any], str | None, str | None]


class _Listing:
    """One ordered listing and the pages rendered from it so far."""

    __slots__ = ("docs", "pages", "visibility")

    def __init__(self, visibility: access.Visibility, docs: list[dict[str, Any]]):
        self.visibility = visibility
        self.docs = docs
        self.pages: dict[tuple[str | None, str, int], Page] = {}


class ReadCache:
    """Listings, pages and value sets of the immutable sandbox data (thread-safe)."""

    def __init__(self, listings: int = 256, pages_per_listing: int = 64, values: int = 8192):
        self._listings: dict[tuple, _Listing] = {}
        self._values: dict[str, bytes] = {}
        self._limits = (listings, pages_per_listing, values)
        self._lock = threading.Lock()

    def listing(
        self,
        vis: access.Visibility,
        operation_id: str,
        query: Any,
        build: Callable[[], list[dict[str, Any]]],
    ) -> _Listing:
        """The listing of ``operation_id`` for ``query`` (its cursor aside) as ``vis`` sees
        it, from ``build()`` the first time."""
        key = (id(vis), operation_id, _query_key(query))
        with self._lock:
            found = self._listings.get(key)
        if found is not None and found.visibility is vis:
            return found
        made = _Listing(vis, build())
        with self._lock:
            if len(self._listings) >= self._limits[0]:
                self._listings.clear()
            self._listings[key] = made
        return made

    def page(
        self,
        listing: _Listing,
        cursor: str | None,
        base_url: str,
        page_size: int,
        render: Callable[[], Page],
    ) -> Page:
        """One rendered page of ``listing``, from ``render()`` the first time."""
        key = (cursor, base_url, page_size)
        with self._lock:
            found = listing.pages.get(key)
        if found is not None:
            return found
        made = render()
        with self._lock:
            if len(listing.pages) >= self._limits[1]:
                listing.pages.clear()
            listing.pages[key] = made
        return made

    def values(
        self, ids: list[str], load: Callable[[list[str]], dict[str, bytes]]
    ) -> dict[str, bytes]:
        """The stored value sets of the segments ``ids``; ``load`` reads the missing."""
        with self._lock:
            known = {i: self._values[i] for i in ids if i in self._values}
        missing = [i for i in ids if i not in known]
        if missing:
            loaded = load(missing)
            with self._lock:
                if len(self._values) + len(loaded) > self._limits[2]:
                    self._values.clear()
                self._values.update(loaded)
            known.update(loaded)
        return known


def _query_key(query: Any) -> str:
    """The query without its cursor, as text (its list-valued fields are not hashable)."""
    if dataclasses.is_dataclass(query) and not isinstance(query, type):
        fields = (f.name for f in dataclasses.fields(query) if f.name != "cursor")
        return repr([(name, getattr(query, name)) for name in fields])
    return repr(query)
