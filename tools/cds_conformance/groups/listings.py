"""Every advertised data API of CDS-WG3-01: strictly valid pages, value-set invariants,
``next``/``previous`` paging, the published order, filters, and access control.

Check ids are ``wg3-01.<section anchor>.<aspect>``, one set per listing endpoint the model
defines; which ones run depends on what the Server advertises."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cdsgen import model as m

from cds_conformance.model import Check
from cds_conformance.runner import CheckContext, Run, Unavailable, bearer

DOC = "cds-wg3-01"
ASPECTS = {
    "strict": ("MUST", "every page and every object in it is valid"),
    "invariants": ("MUST", "value sets agree with their formats and the segment's interval"),
    "pagination": ("MUST", "`next` visits every object exactly once, `previous` walks back"),
    "order": ("MUST", "objects come in the published order"),
    "filters": ("MUST", "every filter returns exactly the objects it names"),
    "malformed-filter": ("MUST", "a malformed filter value is a 400 naming the parameter"),
    "unauthenticated": ("MUST", "no token or a bad token is a 401 with WWW-Authenticate"),
    "wrong-scope": ("MUST", "a token of a scope without access is a 403"),
}


def data_endpoints(run: Run) -> list[m.Endpoint]:
    return [
        ep
        for ep in run.rules.spec.endpoints.values()
        if ep.document == DOC
        and ep.method == "GET"
        and ep.is_listing
        and (ep.advertised_by or "").startswith("AuthorizationServerMetadata.")
    ]


def checks_for(run: Run, ep: m.Endpoint) -> dict[str, Check]:
    out = {}
    key = run.rules.listing_key(ep)
    for aspect, (level, title) in ASPECTS.items():
        if aspect == "invariants" and not (key and run.rules.has_positional_values(key[1])):
            continue
        if aspect == "order" and not ep.ordering:
            continue
        if aspect == "filters" and not ep.filters:
            continue
        if aspect == "malformed-filter" and not _malformable(ep):
            continue
        if aspect == "wrong-scope" and not ep.scopes:
            continue  # any customer-data token may list it
        out[aspect] = Check(
            f"wg3-01.{ep.anchor}.{aspect}", "listings", DOC, ep.anchor, level, f"{ep.path}: {title}"
        )
    return out


def all_checks(run: Run) -> list[Check]:
    return [c for ep in data_endpoints(run) for c in checks_for(run, ep).values()]


def _malformable(ep: m.Endpoint) -> m.Filter | None:
    return next((f for f in ep.filters if f.syntax in ("date", "datetime")), None)


def run(run: Run) -> None:
    for ep in data_endpoints(run):
        checks = checks_for(run, ep)
        if not any(run.options.selects(c) for c in checks.values()):
            continue
        field = (ep.advertised_by or "").split(".", 1)[1]
        try:
            advertised = bool(run.oauth.get(field))
        except Unavailable as exc:
            for c in checks.values():
                run.skip(c, f"cannot run: {exc}")
            continue
        if not advertised:
            for c in checks.values():
                run.skip(c, f"the Server does not advertise {field}")
            continue
        Listing(run, ep, field, checks).run()


class Listing:
    def __init__(self, run: Run, ep: m.Endpoint, field: str, checks: dict[str, Check]):
        self.r = run
        self.ep = ep
        self.field = field
        self.checks = checks
        key = run.rules.listing_key(ep)
        self.key, self.item_type = key if key else ("", "")
        self.listing_type = str(ep.success().type)  # type: ignore[union-attr]
        self.id_field = run.rules.id_field(self.item_type) or ""
        self.items: list[dict[str, Any]] | None = None

    def token(self) -> tuple[str, dict[str, Any]]:
        return self.r.data_token(self.ep.scopes, prefer_field=f"include_{self.key}")

    def url(self) -> str:
        _, token = self.token()
        url = token["oauth"].get(self.field)
        if not url:
            raise Unavailable(f"the Client Object's metadata names no {self.field}")
        return str(url)

    def walk(self, c: CheckContext, params: dict[str, Any] | None = None) -> list[list[dict]]:
        """Every page of the listing (following ``next``), each judged strictly."""
        _, token = self.token()
        pages: list[list[dict]] = []
        r = self.r.http.get(self.url(), headers=bearer(token["access_token"]), params=params)
        for _ in range(self.r.options.max_pages):
            c.status(r, 200, what=f"{self.ep.operation_id} page {len(pages) + 1}")
            body = c.json(r)
            invariants = c.strict(self.listing_type, body, what=f"page {len(pages) + 1}")
            self._invariants += invariants
            pages.append(list(body.get(self.key) or []))
            if not body.get("next"):
                return pages
            r = self.r.http.get(body["next"], headers=bearer(token["access_token"]))
        c.fail(f"more than {self.r.options.max_pages} pages")
        return pages

    def run(self) -> None:
        self._invariants: list[str] = []
        for aspect, check in self.checks.items():
            with self.r.checking(check) as c:
                if c:
                    getattr(self, "check_" + aspect.replace("-", "_"))(c)

    def all_items(self, c: CheckContext) -> list[dict[str, Any]]:
        if self.items is None:
            self.items = [i for p in self.walk(c) for i in p]
        return self.items

    # -- aspects -------------------------------------------------------------------------------
    def check_strict(self, c: CheckContext) -> None:
        self.items = [i for p in self.walk(c) for i in p]

    def check_invariants(self, c: CheckContext) -> None:
        if self.items is None:
            self._invariants = []
            self.all_items(c)
        c.expect(not self._invariants, "; ".join(self._invariants[:8]))

    def check_pagination(self, c: CheckContext) -> None:
        _, token = self.token()
        auth = bearer(token["access_token"])
        forward: list[list[str]] = []
        urls: list[str] = []
        r = self.r.http.get(self.url(), headers=auth)
        for _ in range(self.r.options.max_pages):
            c.status(r, 200, what="listing page")
            body = c.json(r)
            urls.append(str(r.request.url))
            forward.append([str(i.get(self.id_field)) for i in body.get(self.key) or []])
            if not body.get("next"):
                break
            r = self.r.http.get(body["next"], headers=auth)
        ids = [i for p in forward for i in p]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        c.expect(not repeated, f"objects listed more than once across pages: {repeated[:5]}")
        if len(forward) < 2:
            c.note("one page only: `previous` not exercised")
            return
        backward: list[list[str]] = []
        prev = body.get("previous")
        c.expect(prev, "the last page has no `previous` link")
        while prev and len(backward) < len(forward) + 1:
            r = self.r.http.get(prev, headers=auth)
            c.status(r, 200, what="previous page")
            body = c.json(r)
            backward.append([str(i.get(self.id_field)) for i in body.get(self.key) or []])
            prev = body.get("previous")
        c.expect(
            list(reversed(backward)) == forward[:-1],
            "walking `previous` back from the last page does not give the pages `next` gave",
        )

    def check_order(self, c: CheckContext) -> None:
        items = self.all_items(c)
        _, token = self.token()
        tables = {k: self._related(k, token) for k in self.ep.ordering if k.through}
        decided = 0
        for a, b in zip(items, items[1:], strict=False):
            for k in self.ep.ordering:
                va, vb = _order_value(a, k, tables.get(k)), _order_value(b, k, tables.get(k))
                if va is None and vb is None:
                    continue  # both lack the key: tied on it
                if va is None or vb is None:
                    break  # the documents say nothing on where a missing key sorts
                decided += 1
                if va == vb:
                    continue
                right = va < vb if k.direction == "ascending" else va > vb
                c.expect(
                    right,
                    f"{a.get(self.id_field)} ({k.by}={va}) comes before "
                    f"{b.get(self.id_field)} ({k.by}={vb}) but the order is {k.describe()}",
                )
                break
        if len(items) > 1 and not decided:
            c.note("no two neighbours carry the order's first key: the order is not observable")

    def _related(self, key: m.OrderKey, token: dict[str, Any]) -> dict[str, dict] | None:
        """The related objects an order key goes through, by id: listed with this token,
        else with a token of a scope that may list them."""
        for ep in data_endpoints(self.r):
            lk = self.r.rules.listing_key(ep)
            if not lk or lk[1] != key.object:
                continue
            field = (ep.advertised_by or "").split(".", 1)[1]
            id_field = self.r.rules.id_field(lk[1]) or ""
            candidates = [token]
            try:
                candidates.append(self.r.data_token(ep.scopes)[1])
            except Unavailable:
                pass
            for t in candidates:
                url = t["oauth"].get(field)
                if not url:
                    continue
                try:
                    items = self.r.all_items(url, lk[0], t["access_token"])
                except Unavailable:
                    continue
                return {str(i.get(id_field)): i for i in items}
        return None

    def check_filters(self, c: CheckContext) -> None:
        items = self.all_items(c)
        if not items:
            c.skip("the listing is empty for this token: filters cannot be exercised")
        for f in self.ep.filters:
            self._check_filter(c, f, items)

    def _check_filter(self, c: CheckContext, f: m.Filter, items: list[dict]) -> None:
        ids_all = {str(i.get(self.id_field)) for i in items}
        if f.syntax == "search":
            term, source = _search_term(items, f.fields, self.id_field)
            if term is None:
                c.note(f"{f.name}: no searchable value in the data")
                return
            got = self._filtered(c, {f.name: term})
            c.expect(source in got, f"{f.name}={term!r} misses {source}, which holds it")
            for item_id, item in got.items():
                c.expect(
                    any(term.lower() in v.lower() for v in _strings(item, f.fields)),
                    f"{f.name}={term!r} returned {item_id}, which does not hold it",
                )
            return
        if not f.matches:
            self._check_related_filter(c, f, items, ids_all)
            return
        value = _pick(items, f)
        if value is None:
            c.note(f"{f.name}: no object has `{f.matches}`")
            return
        expected = {
            str(i.get(self.id_field)) for i in items if _matches(i.get(f.matches), f, value)
        }
        got = self._filtered(c, {f.name: value})
        c.expect(
            set(got) == expected,
            f"{f.name}={value} returned {len(got)} object(s) "
            f"({sorted(set(got) - expected)[:3]} extra, {sorted(expected - set(got))[:3]} "
            f"missing); {len(expected)} of {len(items)} match",
        )

    def _check_related_filter(
        self, c: CheckContext, f: m.Filter, items: list[dict], ids_all: set[str]
    ) -> None:
        """A filter on a field of related objects (e.g. ``account_numbers`` of the Accounts a
        Usage Segment refers to): the link and the field come from the model."""
        link = _link_for(self.r, self.item_type, f.name)
        table = None
        if link is not None:
            _, token = self.token()
            table = self._related(
                m.OrderKey(by=link[2], direction="ascending", through=link[0], object=link[1]),
                token,
            )
        pairs = [
            (str(i.get(self.id_field)), str(table[r][link[2]]))
            for i in items
            for r in i.get(link[0]) or []
            if table and link and r in table and table[r].get(link[2]) is not None
        ]
        if not pairs:
            got = self._filtered(c, {f.name: "cds-conformance-none"})
            c.expect(set(got) <= ids_all, f"{f.name} returned objects the listing does not")
            c.note(f"{f.name}: no listed object shows a related object with it; checked to narrow")
            return
        value = pairs[-1][1]
        expected = {item_id for item_id, v in pairs if v == value}
        got = self._filtered(c, {f.name: value})
        c.expect(
            set(got) == expected,
            f"{f.name}={value} returned {len(got)} object(s), {len(expected)} relate to it "
            f"({sorted(set(got) - expected)[:3]} extra, {sorted(expected - set(got))[:3]} missing)",
        )

    def _filtered(self, c: CheckContext, params: dict[str, Any]) -> dict[str, dict]:
        pages = self.walk(c, params)
        return {str(i.get(self.id_field)): i for p in pages for i in p}

    def check_malformed_filter(self, c: CheckContext) -> None:
        f = _malformable(self.ep)
        assert f is not None
        _, token = self.token()
        r = self.r.http.get(
            self.url(),
            headers=bearer(token["access_token"]),
            params={f.name: "not-a-date"},
        )
        c.status(r, 400, what=f"{f.name}=not-a-date")
        body = c.json(r)
        c.strict("OAuthError", body, what="error")
        text = f"{body.get('error_description', '')} {body.get('error', '')}"
        c.expect(f.name in text, f"the error does not name `{f.name}`: {text.strip()!r}")

    def check_unauthenticated(self, c: CheckContext) -> None:
        url = self.url()
        for label, headers in (
            ("no token", {}),
            ("a bad token", bearer("cds-conformance-not-a-token")),
        ):
            r = self.r.http.get(url, headers=headers)
            c.expect(r.status_code == 401, f"{label}: {r.status_code} instead of 401")
            c.expect(r.headers.get("www-authenticate"), f"{label}: 401 without WWW-Authenticate")

    def check_wrong_scope(self, c: CheckContext) -> None:
        r = self.r.http.get(self.url(), headers=bearer(self.r.admin_token))
        c.expect(
            r.status_code == 403,
            f"a Client Admin token got {r.status_code} instead of 403",
        )


# -- helpers ---------------------------------------------------------------------------------
def _norm(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    if len(text) >= 20 and text[10:11] == "T":
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()
        except ValueError:
            return text
    return text


def _order_value(item: dict, key: m.OrderKey, table: dict[str, dict] | None) -> str | None:
    if not key.through:
        return _norm(item.get(key.by))
    if table is None:
        return None
    found = [
        _norm(table[i][key.by])
        for i in item.get(key.through) or []
        if i in table and table[i].get(key.by) is not None
    ]
    return min(found) if found else None  # type: ignore[type-var]


def _pick(items: list[dict], f: m.Filter) -> str | None:
    values = []
    for i in items:
        v = i.get(f.matches or "")
        if isinstance(v, list):
            values += [x for x in v if isinstance(x, str | int)]
        elif v is not None:
            values.append(v)
    if not values:
        return None
    if f.syntax in ("date", "datetime"):
        # a bound that keeps about a fifth of the objects: narrowing shows, few pages to walk
        ordered = sorted({_norm(v) or "" for v in values})
        at = len(ordered) * 4 // 5 if f.compare == "on_or_after" else len(ordered) // 5
        return next(str(v) for v in values if _norm(v) == ordered[at])
    return str(values[-1])


def _link_for(run: Run, object_name: str, filter_name: str) -> tuple[str, str, str] | None:
    """(link field, related object, its field) a plural filter name matches through, e.g.
    ``account_numbers`` → (``related_accounts``, Account, ``account_number``)."""
    obj = run.rules.spec.objects.get(object_name)
    wanted = filter_name[:-1] if filter_name.endswith("s") else filter_name
    for field in obj.fields.values() if obj else []:
        target = run.rules.spec.objects.get(field.refers_to or "")
        if target is not None and wanted in target.fields:
            return field.name, target.name, wanted
    return None


def _matches(field_value: Any, f: m.Filter, wanted: str) -> bool:
    if f.syntax in ("date", "datetime"):
        if field_value is None:
            return False
        a, b = _norm(field_value) or "", _norm(wanted) or ""
        return a >= b if f.compare == "on_or_after" else a <= b
    if isinstance(field_value, list):
        return wanted in [str(x) for x in field_value]
    return field_value is not None and str(field_value) == wanted


def _strings(item: Any, paths: list[str]) -> list[str]:
    out: list[str] = []
    for path in paths:
        values = [item]
        for part in path.split("."):
            nxt = []
            for v in values:
                v = v.get(part) if isinstance(v, dict) else None
                nxt += v if isinstance(v, list) else [v]
            values = nxt
        out += [v for v in values if isinstance(v, str)]
    return out


def _search_term(
    items: list[dict], paths: list[str], id_field: str
) -> tuple[str | None, str | None]:
    for item in items:
        for value in _strings(item, paths[:1]) or _strings(item, paths):
            if len(value) >= 3:
                return value, str(item.get(id_field))
    return None, None
