"""The course site (`make site`) in headless Chromium: every page loads cleanly, offline.

Each page is served from a fresh build on 127.0.0.1 and must load with no console error,
no failed request and no request to any other host; its math must be typeset by MathJax
(no TeX left as `$...$`, no TeX error), its figures decoded, its navigation links must
lead to pages that exist, and its first animation must play, still offline. Screenshots go
to build/screenshots/.

Skipped where Chromium or Playwright is missing: Chromium is looked up as $CNN_CHROMIUM,
then `chromium` on PATH, then /usr/bin/chromium (`apt-get install chromium`).
Playwright drives that browser; `playwright install` (a browser download) is never needed.
"""
from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import nbformat
import pytest

from course import ROOT, site

CHROMIUM = os.environ.get("CNN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# Chromium's own background connections (updates, sync, safe browsing) off: the network is closed.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--no-default-browser-check"]
SCREENSHOTS = ROOT / "build" / "screenshots"
LOCAL_HOSTS = {"127.0.0.1", "localhost", ""}
PAGES = ["index"] + [p.parent.name for p in site.notebooks()]

# Waits until MathJax has started and typeset everything queued (two steps: a Queue call
# made inside the startup hook would never run).
MATHJAX_STARTED = """() => window.MathJax && MathJax.Hub
    ? new Promise(done => MathJax.Hub.Register.StartupHook('End', () => done(true))) : false"""
MATHJAX_IDLE = "() => new Promise(done => MathJax.Hub.Queue(() => done(true)))"

PAGE_FACTS = r"""() => {
  const textOutside = (el) => {            // text of el, leaving out code and rendered math
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    let text = "";
    while (walker.nextNode()) {
      const node = walker.currentNode;
      if (!node.parentElement.closest("code, pre, script, .MathJax, .MathJax_Display")) text += node.data;
    }
    return text;
  };
  const blocks = [...document.querySelectorAll(".jp-RenderedMarkdown :is(p, li, td, th)")];
  const frames = [...document.querySelectorAll("span.MathJax[id$='-Frame'], div.MathJax_Display span.MathJax")];
  return {
    tex: document.querySelectorAll("script[type^='math/tex']").length,
    rendered: document.querySelectorAll("span.MathJax[id$='-Frame']").length,
    texErrors: [...new Set(frames.filter(f => f.querySelector(".noError")
        || /<merror|mathcolor="red"/.test(f.dataset.mathml || "")).map(f => f.nextElementSibling?.textContent))],
    rawMath: blocks.map(textOutside).filter(t => /\$[^$\s][^$]*\$|\\\(|\\\[/.test(t)).slice(0, 3),
    images: [...document.images].map(img => ({complete: img.complete, width: img.naturalWidth,
                                              src: img.src.slice(0, 60)})),
    outputImages: document.querySelectorAll(".jp-OutputArea-output img").length,
    links: [...document.querySelectorAll("a[href]")].map(a => a.getAttribute("href")),
    nav: Object.fromEntries([...document.querySelectorAll("nav.course-nav a")].map(a => [a.className, a.getAttribute("href")])),
  };
}"""


def _skip_without_browser():
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CNN_CHROMIUM): "
                    "browser tests skipped")
    return pytest.importorskip("playwright.sync_api", reason="Playwright is not installed "
                               "(pip install -e '.[test]'): browser tests skipped")


# Module scope: tests/test_jupyterlab.py imports this fixture and gets its own browser, which
# starts once this module's has closed (two sync Playwrights cannot run at once).
@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium driven by Playwright, or skip."""
    sync_api = _skip_without_browser()
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory, browser):
    """A fresh build of the site from solutions/."""
    out = tmp_path_factory.mktemp("site")
    site.build(out)
    return out


@pytest.fixture(scope="module")
def site_url(site_dir):
    """The site served on a free local port."""
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def open_page(browser, url: str):
    """Open ``url`` in a new page, blocking every non-local request; return (page, problems)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = []

    def route(r):
        parts = urlsplit(r.request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOCAL_HOSTS:
            problems.append(f"request to another host: {r.request.url}")
            return r.abort()
        return r.continue_()

    page.route("**/*", route)
    page.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url} ({r.failure})"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
    page.goto(url, wait_until="load", timeout=30_000)
    if page.evaluate(MATHJAX_STARTED):
        page.evaluate(MATHJAX_IDLE)
    else:
        problems.append("MathJax did not load")
    return page, problems


def _expected(name: str) -> dict:
    """What the page must show: whether it has math, its figures, its neighbours."""
    paths = site.notebooks()
    if name == "index":
        nbs = [nbformat.read(p, as_version=4) for p in paths]
        return {"math": any("$" in site.title_and_goals(nb)[1] for nb in nbs), "figures": 0,
                "nav": {"home": "index.html", "next": f"{paths[0].parent.name}/index.html"}}
    i = [p.parent.name for p in paths].index(name)
    nb = nbformat.read(paths[i], as_version=4)
    nav = {"home": "../index.html"}
    if i > 0:
        nav["prev"] = f"../{paths[i - 1].parent.name}/index.html"
    if i + 1 < len(paths):
        nav["next"] = f"../{paths[i + 1].parent.name}/index.html"
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    return {"math": any("$" in c.source for c in nb.cells if c.cell_type == "markdown"),
            "figures": sum("image/png" in o.get("data", {}) for o in outputs)
                       + sum(ANIMATION in o.get("data", {}).get("text/html", "") for o in outputs),
            "nav": nav}


ANIMATION = '<img id="_anim_img'  # matplotlib's JavaScript player (cnnlib.animate.html)


@functools.cache
def _pages_with_animations():
    return [p.parent.name for p in site.notebooks()
            if any(ANIMATION in o.get("data", {}).get("text/html", "")
                   for c in nbformat.read(p, as_version=4).cells if c.cell_type == "code" for o in c.outputs)]


def test_the_site_has_animations():
    assert _pages_with_animations(), "no page of the site has an animation (cnnlib.animate): test_site_page plays them"


def _play_first_animation(page):
    """Press Play on the page's first animation and wait until it shows another frame."""
    image = page.locator('img[id^="_anim_img"]').first
    image.scroll_into_view_if_needed()
    first = image.get_attribute("src")
    page.locator('button[title="Play"]').first.click()
    page.wait_for_function("src => document.querySelector('img[id^=\"_anim_img\"]').src !== src",
                           arg=first, timeout=10_000)


@pytest.mark.parametrize("name", PAGES)
def test_site_page(browser, site_dir, site_url, name):
    url = urljoin(site_url, "index.html" if name == "index" else f"{name}/index.html")
    page, problems = open_page(browser, url)
    try:
        facts = page.evaluate(PAGE_FACTS)
        expected = _expected(name)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"{name}.png")
        if facts["outputImages"]:
            page.locator(".jp-OutputArea-output img").first.scroll_into_view_if_needed()
            page.screenshot(path=SCREENSHOTS / f"{name}-figure.png")

        assert not problems, f"{name}: " + "\n".join(problems)
        if expected["math"]:
            assert facts["tex"] > 0, f"{name}: MathJax found no math"
            assert facts["rendered"] == facts["tex"], f"{name}: {facts['tex']} formulas, {facts['rendered']} typeset"
        assert not facts["texErrors"], f"{name}: TeX errors in {facts['texErrors']}"
        assert not facts["rawMath"], f"{name}: math left untypeset in {facts['rawMath']}"
        undecoded = [i["src"] for i in facts["images"] if not (i["complete"] and i["width"] > 0)]
        assert not undecoded, f"{name}: images not decoded: {undecoded}"
        assert facts["outputImages"] == expected["figures"], f"{name}: figures shown != figures in the notebook"
        nav = {k.split()[0]: v for k, v in facts["nav"].items()}
        assert nav == expected["nav"], f"{name}: navigation {nav}, expected {expected['nav']}"
        for href in {h for h in facts["links"] if not urlsplit(h).scheme and not h.startswith("#")}:
            target = site_dir / urlsplit(urljoin(url, href)).path.lstrip("/")
            assert target.is_file(), f"{name}: link {href} leads nowhere"
        # Play works, and fetches nothing (matplotlib's player would load Font Awesome from a CDN).
        if name in _pages_with_animations():
            _play_first_animation(page)
            assert not problems, f"{name}, playing its animation: " + "\n".join(problems)
    finally:
        page.close()


def test_site_opens_from_the_file_system(browser, site_dir):
    """`build/site/index.html` opened directly (file://), as the README says, works the same."""
    for rel in ("index.html", f"{PAGES[1]}/index.html"):
        page, problems = open_page(browser, (site_dir / rel).as_uri())
        try:
            facts = page.evaluate(PAGE_FACTS)
            assert not problems, "\n".join(problems)
            assert facts["rendered"] == facts["tex"] and not facts["rawMath"] and not facts["texErrors"]
            assert all(i["complete"] and i["width"] > 0 for i in facts["images"])
        finally:
            page.close()
