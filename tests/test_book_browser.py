"""The book as a reader sees it: headless Chromium opens every built page of the small book (the session's
`small_reproduce`, shared with test_reproduce): every image loads and no local link is broken; every citation leads to
its entry in the bibliography; every figure has a number and a caption; every CSV link downloads the run's table;
the API pages load.
Screenshots go to artifacts/book_browser/.

Chromium and its driver come from the set-up step (`apt-get install -y chromium chromium-driver`, as root), never from
this test."""
import shutil
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
ARTIFACTS = ROOT / "artifacts" / "book_browser"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1600",
]


@pytest.fixture(scope="module")
def built_book(small_reproduce):
    return small_reproduce.html


@pytest.fixture(scope="module")
def downloads():
    d = Path(tempfile.mkdtemp(prefix="visreps-downloads-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def browser(downloads):
    if not (CHROMIUM.exists() and DRIVER.exists()):
        pytest.fail(f"headless Chromium is needed ({CHROMIUM}, {DRIVER}): install it in the set-up step, "
                    "`apt-get update && apt-get install -y chromium chromium-driver` (as root)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(prefix="visreps-chromium-")
    for f in FLAGS + [f"--user-data-dir={profile}"]: opts.add_argument(f)
    opts.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    drv = webdriver.Chrome(service=Service(str(DRIVER)), options=opts)
    drv.set_page_load_timeout(60)
    drv.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    yield drv
    drv.quit()
    shutil.rmtree(profile, ignore_errors=True)


def open_page(browser, path: Path):
    ("Open a built page and wait until it has loaded; index.html is "
     "Jupyter Book's redirect to the root page, so wait for that too.")
    browser.get(path.resolve().as_uri())
    ready = "return document.readyState === 'complete' && document.body !== null;"
    redirect = path.name == "index.html" and path.parent.name == "html"
    WebDriverWait(browser, 30).until(
        lambda b: (not redirect or b.current_url.endswith("/intro.html")) and b.execute_script(ready)
    )


def built_pages(html: Path) -> list[Path]:
    return sorted(
        p for p in html.rglob("*.html") if not p.name.startswith(("search", "genindex")) and "_static" not in p.parts
    )


def test_every_page_renders_with_its_figures_and_links(built_book, browser):
    pages = built_pages(built_book)
    assert {
        "index.html",
        "world.html",
        "first_rsa.html",
        "summary.html",
        "labels.html",
        "reproduce.html",
        "bibliography.html",
        "metrics_rsa.html",
    } <= {p.name for p in pages}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    n_figures = {}
    for page in pages:
        open_page(browser, page)
        title = browser.title
        assert title and "404" not in title, page
        imgs = browser.execute_script(
            "return Array.from(document.images).map(i => [i.currentSrc "
            "|| i.src, i.complete, i.naturalWidth, i.naturalHeight]);")
        broken = [src for src, complete, w, h in imgs if not (complete and w > 0 and h > 0)]
        assert not broken, f"{page.name}: images that did not load: {broken}"
        hrefs = browser.execute_script("return Array.from(document.querySelectorAll('a[href]')).map(a => a.href);")
        for h in hrefs:
            u = urlparse(h)
            if u.scheme != "file": continue
            target = Path(unquote(u.path))
            assert target.exists(), f"{page.name}: broken link to {target}"
        n_figures[page.name] = sum(1 for src, *_ in imgs if "/_images/" in src or src.startswith("data:image/png"))
        rel = page.relative_to(built_book).with_suffix(".png").as_posix().replace("/", "__")
        browser.save_screenshot(str(ARTIFACTS / rel))
    # the experiment pages carry their figures: the world's images and the RSA bars
    assert n_figures["world.html"] >= 3 and n_figures["first_rsa.html"] >= 1
    open_page(browser, built_book / "generated" / "first_rsa.html")
    body = browser.execute_script("return document.body.innerText;")
    assert "Seed 1" in body and "visreps run experiments/first_rsa.ipynb" in body and "How this page was made" in body
    open_page(browser, built_book / "index.html")  # the redirect to the root page
    body = browser.execute_script("return document.body.innerText;")
    assert "synthetic world" in body and "Abstract" in body
    assert (ARTIFACTS / "generated__first_rsa.png").stat().st_size > 10_000


def test_every_citation_resolves_to_the_bibliography(built_book, browser):
    cited = {}
    for page in built_pages(built_book):
        open_page(browser, page)
        for href in browser.execute_script(
                "return Array.from(document.querySelectorAll('.bibtex-citation a[href]')).map(a => a.href);"):
            cited.setdefault(href, page.name)
    assert len(cited) >= 15, f"only {len(cited)} distinct citations in the book"
    open_page(browser, built_book / "bibliography.html")
    entries = browser.execute_script(
        "return Array.from(document.querySelectorAll('[id]')).filter(e "
        "=> e.closest('.bibtex, dl.citation, div.citation, "
        ".citation')).map(e => [e.id, e.innerText]);")
    ids = {i: text for i, text in entries}
    for href, page in cited.items():
        u = urlparse(href)
        assert Path(unquote(u.path)).name == "bibliography.html", (
            f"{page}: citation {href} does not point at the bibliography"
        )
        assert u.fragment in ids, f"{page}: citation {href} has no entry in the bibliography"
    texts = " ".join(ids.values())
    for needle in ("Mehta", "Elmoznino", "A massive 7T fMRI dataset", "Matching categorical object representations"):
        assert needle in texts
    browser.save_screenshot(str(ARTIFACTS / "bibliography.png"))


def test_every_figure_has_a_number_and_a_caption(built_book, browser):
    n = 0
    numbers = []
    for page in built_pages(built_book):
        open_page(browser, page)
        figs = browser.execute_script("""return Array.from(document.querySelectorAll('figure')).map(f => {
            const num = f.querySelector('figcaption .caption-number'),
                  cap = f.querySelector('figcaption .caption-text');
            const img = f.querySelector('img');
            return [f.id, num ? num.innerText : null, cap ? cap.innerText : null, img ? img.naturalWidth : 0];});""")
        for fid, num, cap, width in figs:
            assert fid, f"{page.name}: a figure without a label"
            assert num and num.strip().startswith("Figure "), f"{page.name}: figure {fid} has no number"
            assert cap and len(cap.split()) >= 8, f"{page.name}: figure {fid} has no caption"
            assert width > 0, f"{page.name}: figure {fid} has no image"
            numbers.append(int(num.split()[1]))
        n += len(figs)
        if page.parent.name == "generated":  # every result image of a page is a numbered figure
            loose = browser.execute_script(
                "return Array.from(document.querySelectorAll('.cell_output "
                "img')).filter(i => !i.closest('figure')).length;")
            assert loose == 0, f"{page.name}: {loose} figure(s) without number and caption"
        # every cross-reference to a figure resolves (a numref to a missing label would not be a link)
        for text, href in browser.execute_script(
                "return Array.from(document.querySelectorAll('a.reference.internal span.std-numref')).map(s => "
                "[s.innerText, s.closest('a').href]);"):
            assert text.startswith("Figure ") and "#" in href, (page.name, text, href)
    assert n >= 4 and sorted(numbers) == list(range(1, n + 1)), numbers  # numbered once, 1..n across the book


def test_every_csv_link_downloads_the_runs_table(built_book, browser, downloads, small_reproduce):
    from visreps.app.sweep import find_runs
    clicked = 0
    for page in built_pages(built_book):
        if page.parent.name != "generated": continue
        open_page(browser, page)
        links = browser.find_elements(By.CSS_SELECTOR, "a.download[href$='.csv']")
        run = find_runs(page.stem, small_reproduce.results)[-1]
        assert {l.text for l in links} >= {p.name for p in run.glob("*.csv")}, (
            f"{page.name}: a table of the run has no link"
        )
        for link in links:
            name = link.text.strip()
            browser.execute_script("arguments[0].scrollIntoView(); arguments[0].click();", link)
            target = downloads / name
            t0 = time.time()
            while not (target.exists() and target.stat().st_size > 0) and time.time() - t0 < 20: time.sleep(0.2)
            assert target.exists(), f"{page.name}: {name} did not download"
            time.sleep(0.3)
            assert target.read_bytes() == (run / name).read_bytes(), f"{page.name}: {name} is not the run's table"
            target.unlink()
            clicked += 1
    assert clicked >= 4  # first_rsa_scores, world_design, world_checks, summary_numbers


def test_api_pages_load(built_book, browser):
    open_page(browser, built_book / "api" / "index.html")
    links = browser.execute_script(
        "return Array.from(document.querySelectorAll('article a.reference.internal[href]')).map(a => a.href)"
        ".filter(h => h.includes('/api/') && !h.includes('#'));")
    assert len(set(links)) >= 20, links
    for href in sorted(set(links)):
        browser.get(href)
        WebDriverWait(browser, 30).until(lambda b: b.execute_script("return document.readyState === 'complete';"))
        body = browser.execute_script("return document.body.innerText;")
        assert ("Module visreps." in body or "Module visreps\n" in body or href.endswith("/api/visreps.html")) and (
            "def " in body or "class " in body
        ), href
        code = browser.execute_script("return document.querySelectorAll('div.cell div.highlight').length;")
        assert code >= 1, f"{href}: no source shown"
    open_page(browser, built_book / "api" / "metrics_rsa.html")
    browser.save_screenshot(str(ARTIFACTS / "api__rsa.png"))
