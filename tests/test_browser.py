"""The built site in a real headless Chromium (Debian's, installed by `make browser`).

Served on 127.0.0.1; every request that leaves the site is blocked and fails the test, as
does any console error. Screenshots are saved in the test's tmp dir.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("site")

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


#: Whether the element with the given id is (at least partly) in the viewport.
IN_VIEW = """id => {
    const el = document.getElementById(id);
    if (!el) return false;
    const r = el.getBoundingClientRect();
    return r.bottom > 0 && r.top >= 0 && r.top < window.innerHeight;
}"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


@pytest.fixture(scope="module")
def base_url(built_site: Path) -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium is missing: run `make browser`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield b
        finally:
            b.close()


class Watched:
    """A page whose console errors, page errors and requests outside the site are recorded."""

    def __init__(self, browser, base_url: str, shots: Path):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.base_url = base_url
        self.shots = shots
        self.errors: list[str] = []
        self.page.on(
            "console",
            lambda msg: msg.type == "error" and self.errors.append(f"console: {msg.text}"),
        )
        self.page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        self.page.on(
            "response",
            lambda r: r.status >= 400 and self.errors.append(f"HTTP {r.status}: {r.url}"),
        )
        self.page.on(
            "requestfailed",
            # a navigation cancels what the page was still loading (e.g. its favicon)
            lambda req: (
                req.failure != "net::ERR_ABORTED"
                and self.errors.append(f"request failed: {req.url}")
            ),
        )

        def only_local(route):
            if route.request.url.startswith(base_url):
                route.continue_()
            else:
                self.errors.append(f"request outside the site: {route.request.url}")
                route.abort()

        self.page.route("**/*", only_local)

    def goto(self, path: str) -> None:
        self.page.goto(self.base_url + path, wait_until="load")

    def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def in_view(self, element_id: str) -> bool:
        return self.page.evaluate(IN_VIEW, element_id)

    def wait_in_view(self, element_id: str) -> None:
        """Wait (up to Playwright's timeout) until the element is in the viewport."""
        self.page.wait_for_function(IN_VIEW, arg=element_id)


@pytest.fixture()
def watched(browser, base_url, tmp_path) -> Iterator[Watched]:
    w = Watched(browser, base_url, tmp_path)
    yield w
    w.context.close()
    assert w.errors == []


def test_published_anchors_scroll_into_view(watched):
    watched.goto("/spec/cds-wg3-01/#meter-device-format")
    watched.wait_in_view("meter-device-format")
    assert not watched.in_view("abstract")
    watched.shot("meter-device-format")

    # follow a type link of the field table to the enumeration it names
    row = watched.page.locator("#cdsgen-object-MeterDevice tr", has_text="meter_types")
    row.locator("a[href='#cdsgen-enum-MeterType']").click()
    watched.page.wait_for_function("() => location.hash === '#cdsgen-enum-MeterType'")
    watched.wait_in_view("cdsgen-enum-MeterType")
    assert not watched.in_view("meter-device-format")

    # a term, a reference and a deep section of another document
    for path, anchor in (
        ("/spec/cds-wg1-02/", "scopes-client-admin"),
        ("/spec/cds-wg1-01/", "ref-bcp14"),
        ("/spec/cds-wg3-01/", "auth-details-address-matching"),
    ):
        watched.goto(f"{path}#{anchor}")
        watched.wait_in_view(anchor)
        assert watched.page.evaluate("() => window.scrollY") > 0, anchor
    watched.shot("auth-details-address-matching")


def test_search_finds_field_names(watched):
    watched.goto("/spec/")
    watched.page.click("input.md-search__input")
    watched.page.keyboard.type("meter_types")
    results = watched.page.locator(".md-search-result__item")
    results.first.wait_for(state="visible", timeout=20_000)
    assert results.count() > 0
    assert "meter_types" in watched.page.locator(".md-search-result").inner_text()
    watched.shot("search-meter_types")


def test_api_reference_renders_operations(watched):
    watched.goto("/spec/api/")
    operation = watched.page.locator(
        ".opblock-summary-path", has_text="/cds-customerdata-api/v1/meter-devices"
    )
    operation.first.wait_for(state="visible", timeout=30_000)
    operation.first.click()
    watched.page.locator(".opblock-body .parameters").first.wait_for(state="visible")
    assert "cds_meterdevice_ids" in watched.page.locator(".opblock.is-open").first.inner_text()
    watched.shot("api-reference")


def test_relationship_diagram_renders_offline(watched):
    watched.goto("/spec/relationships/")
    diagram = watched.page.locator("div.mermaid")
    diagram.wait_for(state="visible", timeout=30_000)
    box = diagram.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 150
    watched.shot("relationships")


def test_dark_mode_and_code_copy(watched):
    watched.goto("/spec/cds-wg1-01/#examples")
    assert watched.page.locator("body").get_attribute("data-md-color-scheme") == "default"
    watched.page.locator("label[for='__palette_1']").first.click()
    watched.page.wait_for_function(
        "() => document.body.getAttribute('data-md-color-scheme') === 'slate'"
    )
    assert watched.page.locator(".highlight button[data-md-type='copy']").count() > 0
    assert watched.page.locator(".cds-badge").count() > 0
    watched.shot("dark-examples")


def test_version_selector_switches_between_release_and_draft(watched):
    """A released page offers its draft counterpart and back, keeping the document."""
    watched.goto("/spec/cds-wg1-02/#auth-details-field-choice-format")
    selector = watched.page.locator("#cds-version-select")
    assert selector.input_value() == "./"
    assert "1.0.0-draft" in watched.page.locator(".cds-version").first.inner_text()
    published = watched.page.locator(".cds-version a", has_text="published text").first
    assert published.get_attribute("href").endswith("/specs/cds-wg1-02/latest")
    with watched.page.expect_navigation():
        selector.select_option(label="dev — editor's drafts")
    assert watched.page.url.endswith("/spec/dev/cds-wg1-02/")
    assert "1.1.0-dev" in watched.page.locator(".cds-version").first.inner_text()
    assert watched.page.locator("#choice-format").count() == 1
    assert watched.page.locator("#auth-details-field-choice-format").count() == 0
    published = watched.page.locator(".cds-version a", has_text="published text").first
    assert published.get_attribute("href").endswith("/specs/cds-wg1-02/dev")
    assert watched.page.locator("form.cds-version-selector[data-cds-version='dev']").count()
    watched.shot("wg1-02-draft")
    with watched.page.expect_navigation():
        watched.page.locator("#cds-version-select").select_option(label="latest — released texts")
    assert watched.page.url.endswith("/spec/cds-wg1-02/")


def test_changes_page_lists_breaking_changes_and_resolved_errata(watched):
    watched.goto("/spec/dev/changes/")
    text = watched.page.locator("article").inner_text()
    assert "CoverageEntry.entity_number" in text
    assert "object renamed from AuthorizationDetailsFieldChoice" in text
    assert "wg1-01-iso3166-reference-title" in text and "Resolved" in text
    link = watched.page.locator("a", has_text="wg1-01-iso3166-reference-title").first
    with watched.page.expect_navigation():
        link.click()
    assert watched.page.url.endswith("/spec/errata/#wg1-01-iso3166-reference-title")


def test_field_tables_give_descriptions_room_at_1400px(browser, base_url, tmp_path):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        page.goto(base_url + "/spec/cds-wg1-01/#coverage-entry-format", wait_until="load")
        table = page.locator("#cdsgen-object-CoverageEntry table").first
        sizes = table.evaluate(
            """t => {
                const head = [...t.querySelectorAll('thead th')].map(th => th.textContent.trim());
                const cells = [...t.querySelectorAll('tbody tr')[0].children];
                const box = t.closest('.md-typeset__table') || t.parentElement;
                return {
                    head,
                    widths: cells.map(c => c.getBoundingClientRect().width),
                    overflow: box.scrollWidth - box.clientWidth,
                };
            }"""
        )
        description = sizes["widths"][sizes["head"].index("Description")]
        assert description >= 240, sizes
        assert sizes["overflow"] <= 1, sizes  # "Defined in" is not behind a scroll bar
        page.screenshot(path=str(tmp_path / "coverage-entry-1400.png"))
    finally:
        context.close()
