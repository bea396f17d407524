"""Pages in a real browser: Playwright driving Debian's Chromium against `sinergi serve`.

Screenshots go to tests/screenshots/. Without /usr/bin/chromium the tests are skipped, unless
SINERGI_REQUIRE_BROWSER=1 (as in .ci/run), where they fail instead.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.request import urlopen

import pytest
from conftest import PASSWORD, copy_instance

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).parent / "screenshots"

if not Path(CHROMIUM).exists():
    if os.environ.get("SINERGI_REQUIRE_BROWSER") == "1":
        raise RuntimeError("Chromium is required for the browser tests (apt-get install chromium)")
    pytest.skip("Chromium not installed", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(corpus_home, tmp_path_factory):
    home = tmp_path_factory.mktemp("browser") / "inst"
    copy_instance(corpus_home, home)
    env = {**os.environ, "SINERGI_HOME": str(home)}
    cli = [sys.executable, "-m", "webapp.cli"]
    add = subprocess.run(cli + ["user", "add", "peneliti", "--role", "editor", "--password", PASSWORD], env=env,
                         capture_output=True, text=True)
    assert add.returncode == 0, add.stderr
    port = _free_port()
    log = (home.parent / "serve.log").open("w")
    proc = subprocess.Popen(cli + ["serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://localhost:{port}"
    for _ in range(150):
        try:
            urlopen(base + "/", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        log.close()
        pytest.fail("server did not start: " + (home.parent / "serve.log").read_text())
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=30)  # a graceful stop can take a while on a loaded machine
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


@pytest.fixture(scope="module")
def browser():
    SHOTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    yield pg
    ctx.close()


def test_search_and_facet_clicks(server, page):
    page.goto(server + "/")
    page.fill("#q", "pengelolaan sampah")
    page.click("form.searchbox button")
    page.wait_for_selector(".hit")
    total = int(page.inner_text(".toolbar strong"))
    assert total > 5
    page.click(".facets a[href*='island=jawa']")
    page.wait_for_selector(".chips")
    filtered = int(page.inner_text(".toolbar strong"))
    assert 0 < filtered < total and "island=jawa" in page.url
    page.screenshot(path=str(SHOTS / "search.png"), full_page=False)
    page.click(".chips a")  # remove the filter again
    assert int(page.inner_text(".toolbar strong")) == total
    page.click(".hit h3 a >> nth=0")
    page.wait_for_selector("article.case h1")
    assert page.is_visible("text=Sumber")
    page.screenshot(path=str(SHOTS / "case.png"), full_page=False)


def test_proposal_flow(server, page):
    page.goto(server + "/usulan")
    page.fill("#description", "Kota kami dan dua kabupaten tetangga ingin membangun TPA regional bersama karena "
                              "lahan TPA kota hampir penuh dan warga sekitar menolak perluasan.")
    page.fill("#region", "Kota Pekanbaru")
    page.click("form.proposal button")
    page.wait_for_selector("text=Daerah tujuan studi banding")
    assert page.locator(".reco-list li").count() >= 3
    assert page.is_visible("text=Calon mitra kerja sama")
    page.screenshot(path=str(SHOTS / "proposal.png"), full_page=True)
    with page.expect_download() as dl:
        page.click("text=Unduh daftar studi banding (CSV)")
    assert dl.value.suggested_filename.endswith(".csv")


def test_add_case_with_a_validation_error(server, page):
    page.goto(server + "/kurasi/masuk")
    page.fill("#username", "peneliti")
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_selector("text=Masuk sebagai")
    page.goto(server + "/kurasi/baru")
    page.fill("#title", "Kerja sama uji peramban")
    page.fill("#summary", "Dua kabupaten berbagi armada pengangkut sampah untuk uji peramban.")
    page.fill("#regions", "Slemann")
    page.click("form.case-form button[type=submit]")
    page.wait_for_selector(".errors")
    assert "Kabupaten Sleman" in page.inner_text(".errors")
    page.screenshot(path=str(SHOTS / "add-case-error.png"), full_page=False)
    page.fill("#regions", "Kabupaten Sleman\nKabupaten Bantul")
    page.check("input[value=persampahan]")
    page.click("form.case-form button[type=submit]")
    page.wait_for_selector("article.case h1")
    assert page.inner_text("article.case h1") == "Kerja sama uji peramban"
    page.goto(server + "/cari?q=uji+peramban")
    assert "Kerja sama uji peramban" in page.inner_text(".results")


def test_language_switch(server, page):
    page.goto(server + "/cari?q=air+minum")
    assert page.is_visible("text=Unduh hasil (CSV)")
    page.click(".lang a:has-text('EN')")
    page.wait_for_selector("text=Download results (CSV)")
    assert "q=air" in page.url
    page.screenshot(path=str(SHOTS / "english.png"), full_page=False)
    page.goto(server + "/statistik")
    assert page.is_visible("text=Network of cooperating regions")
    page.screenshot(path=str(SHOTS / "stats.png"), full_page=True)


def test_phone_shows_results_first_with_the_filters_folded_away(server, browser):
    """At 390×844 the first result is on the first screen and the facets are folded into
    "Saring hasil"; one tap opens them. On a wide screen they are open without a tap."""
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    pg = ctx.new_page()
    try:
        pg.goto(server + "/cari?q=sampah&island=jawa")
        first = pg.locator(".hit").first.bounding_box()
        assert first is not None and first["y"] + 40 < 844, first
        facet_link = pg.locator(".facets a[href*='sector=']").first
        assert not facet_link.is_visible()
        summary = pg.locator("details.filters > summary")
        assert summary.is_visible() and "(1)" in summary.inner_text()  # one active filter
        pg.screenshot(path=str(SHOTS / "phone-search.png"), full_page=False)
        summary.click()
        assert facet_link.is_visible()
        pg.screenshot(path=str(SHOTS / "phone-search-filters.png"), full_page=False)
    finally:
        ctx.close()
    wide = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = wide.new_page()
    try:
        pg.goto(server + "/cari?q=sampah")
        assert pg.locator(".facets a[href*='sector=']").first.is_visible()
        assert not pg.locator("details.filters > summary").is_visible()
    finally:
        wide.close()


@pytest.mark.parametrize("lang", ["id", "en"])
def test_screenshots_of_every_page_in_both_languages(server, browser, lang):
    """Screenshots for a person to look at (tests/screenshots/<lang>-*.png); the page speaks
    the chosen language (its <html lang>) and shows no server error."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    try:
        pg.goto(server + f"/lang/{lang}")
        pages = {"home": "/", "search": "/cari?q=sampah&island=jawa", "case": "/kasus/tpa-sarimukti",
                 "proposal": "/usulan?description=Kota+kami+ingin+membangun+TPA+regional+bersama+karena+lahan+"
                             "TPA+hampir+penuh&region=Kota+Yogyakarta&sectors=persampahan",
                 "region": "/daerah/34.04", "statistics": "/statistik", "map": "/peta?q=sampah",
                 "not-found": "/kasus/tidak-ada"}
        for name, url in pages.items():
            r = pg.goto(server + url)
            assert r.status == (404 if name == "not-found" else 200), name
            assert pg.get_attribute("html", "lang") == lang
            pg.screenshot(path=str(SHOTS / f"{lang}-{name}.png"), full_page=True)
    finally:
        ctx.close()


def test_agreements_page_filters_by_region_and_state(server, page):
    page.goto(server + "/")
    page.click("header nav a:has-text('Perjanjian')")
    page.wait_for_selector("h1:has-text('Perjanjian kerja sama')")
    total = int(page.inner_text(".toolbar strong"))
    assert total > 0
    page.fill("#region", "Daerah Istimewa Yogyakarta")
    page.check("input[name=state][value=open_ended]")
    page.click("form.agreement-filters button[type=submit]")
    page.wait_for_url("**/perjanjian?region=*")
    assert "state=open_ended" in page.url
    shown = int(page.inner_text(".toolbar strong"))
    rows = page.locator("tr.agreement")
    assert 0 < shown < total and rows.count() == shown
    assert page.locator("tr.agreement.open_ended").count() == shown
    assert page.input_value("#region") == "Daerah Istimewa Yogyakarta"
    page.screenshot(path=str(SHOTS / "agreements.png"), full_page=False)
    with page.expect_download() as dl:
        page.click("text=Unduh (CSV)")
    assert dl.value.suggested_filename.startswith("sinergi-perjanjian-")


WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def _axe_violations(page) -> list[str]:
    """axe-core (shipped by axe-playwright-python) on the page as shown: WCAG 2.1 A/AA rules."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_AA}, "resultTypes": ["violations"]})
    return [f"{v['id']} ({len(v['nodes'])} nodes): {v['help']}; first: {v['nodes'][0]['target']}"
            for v in results.response["violations"]]


@pytest.mark.parametrize("path", ["/", "/cari?q=sampah&island=jawa", "/kasus/kartamantul-sekretariat-bersama",
                                  "/peta", "/peta?q=sampah", "/peta?province=32", "/peta?island=sulawesi",
                                  "/daerah/53.71", "/daerah/32", "/daerah", "/statistik", "/usulan"])
def test_pages_pass_an_automated_wcag_aa_check(server, page, path):
    page.goto(server + path)
    assert _axe_violations(page) == []


def test_proposal_results_pass_an_automated_wcag_aa_check(server, page):
    page.goto(server + "/usulan")
    page.fill("#description", "Kota kami dan kabupaten tetangga ingin membangun TPA regional bersama karena lahan "
                              "TPA kota hampir penuh.")
    page.fill("#region", "Kota Kupang")
    page.click("form.proposal button")
    page.wait_for_selector("text=Calon mitra kerja sama")
    assert _axe_violations(page) == []


def test_map_shapes_are_links_with_tooltips_and_zoom(server, page):
    page.goto(server + "/peta")
    jabar = page.locator('svg.map a[href="/daerah/32"]')
    assert jabar.get_attribute("aria-label").startswith("Jawa Barat: ")
    assert jabar.locator("title").text_content().startswith("Jawa Barat: ")
    page.screenshot(path=str(SHOTS / "map.png"), full_page=True)
    page.click("nav.zoom a:text('Jawa')")
    page.click("nav.zoom a:text('Jawa Barat')")
    assert "province=32" in page.url
    bandung = page.locator('svg.map a[href="/daerah/32.73"]:has(path)')  # Kota Bandung, drawn and linked
    assert bandung.count() == 1
    page.screenshot(path=str(SHOTS / "map-province.png"), full_page=True)
    bandung.click()
    page.wait_for_selector("h1:text('Kota Bandung')")
    for name in ("Kabupaten Bandung", "Kabupaten Bandung Barat", "Kota Cimahi"):
        assert page.locator(f"ul.neighbours a:text-is('{name}')").count() == 1, name
    page.screenshot(path=str(SHOTS / "region.png"), full_page=True)


def test_study_visit_plan_from_the_shortlist_prints_on_a4(server, page):
    """The planner narrows the shortlist on the cards, opens the printable plan: only the
    chosen stops, in route order, no navigation, and the browser prints it on A4."""
    page.goto(server + "/usulan?description=Kota+kami+dan+dua+kabupaten+tetangga+ingin+membangun+TPA+regional+"
                       "bersama+karena+lahan+TPA+kota+hampir+penuh&region=Kota+Pekanbaru")
    page.wait_for_selector("article.visit")
    boxes = page.locator("input[name=peer]:checked")
    assert boxes.count() >= 2
    for i in range(boxes.count() - 1, -1, -1):
        boxes.nth(i).uncheck()
    page.locator("article.visit >> nth=0").locator("input[name=peer] >> nth=0").check()
    page.locator("article.visit >> nth=1").locator("input[name=peer] >> nth=0").check()
    page.click("text=Rencana kunjungan untuk dicetak")
    page.wait_for_selector("h1:has-text('Rencana kunjungan studi banding')")
    assert page.locator("table tbody tr").count() == 2
    assert page.locator("text=Kota Pekanbaru").count() >= 2  # the proposer, and the first leg's start
    assert page.locator("nav").count() == 0
    page.screenshot(path=str(SHOTS / "visit-plan.png"), full_page=True)
    page.emulate_media(media="print")
    assert not page.is_visible(".noprint")
    pdf = page.pdf(prefer_css_page_size=True)
    box = re.search(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
    assert box and round(float(box.group(1))) == 595 and round(float(box.group(2))) == 842  # A4 in points
