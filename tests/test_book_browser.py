"""The book as a reader sees it: headless Chromium opens every built page of a small book; every figure loads, no local link is broken; screenshots go to artifacts/."""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from visreps.cli import main
from test_reproduce import small_book

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
ARTIFACTS = ROOT / "artifacts" / "book_browser"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--window-size=1280,1600"]


def ensure_chromium():
    "Debian's chromium and chromium-driver, installed with apt-get when missing (the test setup)."
    if CHROMIUM.exists() and DRIVER.exists(): return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "chromium", "chromium-driver"], env=env, capture_output=True, timeout=900)
    if not (CHROMIUM.exists() and DRIVER.exists()):
        pytest.fail("headless Chromium is needed: `apt-get update && apt-get install -y chromium chromium-driver` (as root)")


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    book, plan = small_book(tmp)
    cwd = os.getcwd()
    os.chdir(tmp)
    try: assert main(["reproduce", f"plan={plan}", f"book={book}", f"results_root={tmp / 'results'}"]) == 0
    finally: os.chdir(cwd)
    return book / "_build" / "html"


@pytest.fixture(scope="module")
def browser():
    ensure_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(prefix="visreps-chromium-")
    for f in FLAGS + [f"--user-data-dir={profile}"]: opts.add_argument(f)
    drv = webdriver.Chrome(service=Service(str(DRIVER)), options=opts)
    drv.set_page_load_timeout(60)
    yield drv
    drv.quit()
    shutil.rmtree(profile, ignore_errors=True)


def open_page(browser, path: Path):
    "Open a built page and wait until it has loaded; index.html is Jupyter Book's redirect to the root page, so wait for that too."
    browser.get(path.resolve().as_uri())
    ready = "return document.readyState === 'complete' && document.body !== null;"
    redirect = path.name == "index.html" and path.parent.name == "html"
    WebDriverWait(browser, 30).until(lambda b: (not redirect or b.current_url.endswith("/intro.html")) and b.execute_script(ready))


def test_every_page_renders_with_its_figures_and_links(built_book, browser):
    pages = sorted(p for p in built_book.rglob("*.html") if not p.name.startswith(("search", "genindex")) and "_static" not in p.parts)
    assert {"index.html", "world.html", "first_rsa.html", "labels.html", "reproduce.html"} <= {p.name for p in pages}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    n_figures = {}
    for page in pages:
        open_page(browser, page)
        title = browser.title
        assert title and "404" not in title, page
        imgs = browser.execute_script(
            "return Array.from(document.images).map(i => [i.currentSrc || i.src, i.complete, i.naturalWidth, i.naturalHeight]);")
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
    assert n_figures["world.html"] >= 1 and n_figures["first_rsa.html"] >= 1
    open_page(browser, built_book / "generated" / "first_rsa.html")
    body = browser.execute_script("return document.body.innerText;")
    assert "Seed 0" in body and "visreps run experiments/first_rsa.ipynb" in body
    open_page(browser, built_book / "index.html")  # the redirect to the root page
    assert "synthetic world" in browser.execute_script("return document.body.innerText;")
    assert (ARTIFACTS / "generated__first_rsa.png").stat().st_size > 10_000
