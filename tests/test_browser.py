"""The demo, served by ``pserve development.ini`` in a subprocess and driven
in headless Chromium (Debian's package) with Playwright.

Without /usr/bin/chromium the tests are skipped, unless
``MONGOSESSION_REQUIRE_BROWSER`` is set (as .ci/run does): then they fail."""
import datetime
import os

import pytest

from . import ROOT
from .demo_server import DemoServer
from .extras import need_module

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = os.path.join(ROOT, "var", "screenshots")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        message = f"the browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("MONGOSESSION_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    need_module("playwright", "browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    server = DemoServer(tmp_path_factory.mktemp("demo")).start()
    yield server
    server.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 720})
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name):
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, name), full_page=True)


def cart(page):
    rows = page.locator("#cart tr[data-item]")
    return {
        rows.nth(i).get_attribute("data-item"): int(
            rows.nth(i).locator(".quantity").inner_text().rstrip("×")
        )
        for i in range(rows.count())
    }


def session_cookie(page):
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "session"]
    return cookie


def test_cart_survives_reload_and_restart_and_goes_with_sign_out(demo, page):
    page.goto(demo.url)
    page.fill("#name", "Alice")
    page.check("#remember")
    page.click("#sign-in")
    assert page.inner_text("#user") == "Alice"
    for item in ("teapot", "teapot", "mug"):
        page.click(f"#add-{item}")
    assert page.locator(".flash").inner_text() == "Added a mug to your cart."

    page.reload()
    assert cart(page) == {"teapot": 2, "mug": 1}
    screenshot(page, "shop.png")

    cookie = session_cookie(page)
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    remembered = datetime.datetime.now().timestamp() + 29 * 24 * 3600
    assert cookie["expires"] > remembered

    demo.restart()
    page.goto(demo.url)
    assert page.inner_text("#user") == "Alice"
    assert cart(page) == {"teapot": 2, "mug": 1}

    page.click("#sign-out")
    assert page.locator(".flash").inner_text() == "Signed out. Your cart went with your session."
    assert cart(page) == {}
    assert page.locator("#cart-empty").is_visible()
    assert page.locator("#sign-in").is_visible()
    screenshot(page, "signed-out.png")


def test_a_post_without_the_csrf_token_is_refused(demo, page):
    page.goto(demo.url)
    page.click("#add-kettle")
    assert cart(page) == {"kettle": 1}

    same_browser = page.request.post(demo.url + "cart/add", form={"item": "kettle"})
    assert same_browser.status == 400
    assert "without a valid CSRF token" in same_browser.text()

    page.set_content(
        f'<form method="post" action="{demo.url}cart/add">'
        '<input name="item" value="kettle"><button id="go">go</button></form>'
    )
    with page.expect_navigation():
        page.click("#go")
    assert page.locator("#refused").is_visible()
    screenshot(page, "refused.png")

    page.goto(demo.url)
    assert cart(page) == {"kettle": 1}


def test_your_session_page_shows_the_document_and_the_commands(demo, page):
    page.goto(demo.url + "session")
    assert page.locator("#nothing-stored").is_visible()

    page.goto(demo.url)
    page.click("#add-tea-tin")
    page.goto(demo.url + "session")

    assert page.locator("#keys").inner_text().split() == ["cart"]
    requests = page.locator("#requests > li")
    assert requests.nth(0).inner_text().startswith("This page, so far")
    shown = requests.all_inner_texts()
    add = next(text for text in shown if text.startswith("POST /cart/add"))
    assert "insert" in add
    screenshot(page, "your-session.png")


def test_where_youre_signed_in_signs_out_the_other_browser(demo, browser):
    laptop, phone = (
        browser.new_context(viewport={"width": 1100, "height": 720}, user_agent=agent).new_page()
        for agent in ("Mozilla/5.0 (X11; Linux x86_64) Laptop", "Mozilla/5.0 (iPhone) Phone")
    )
    for page in (laptop, phone):
        page.goto(demo.url)
        page.fill("#name", "Dana")
        page.click("#sign-in")

    laptop.goto(demo.url + "session")
    rows = laptop.locator("#devices tr:has(td)")
    assert rows.nth(0).inner_text().startswith("Mozilla/5.0 (X11; Linux x86_64) Laptop")
    assert "this device" in rows.nth(0).inner_text()
    assert rows.nth(1).inner_text().startswith("Mozilla/5.0 (iPhone) Phone")
    assert "127.0.0.1" in rows.nth(1).inner_text()
    screenshot(laptop, "where-signed-in.png")

    laptop.click("#devices .sign-out-device")

    assert laptop.locator(".flash").inner_text() == "Signed out that device."
    assert laptop.locator("#no-others").is_visible()
    phone.goto(demo.url)
    assert phone.locator("#sign-in").is_visible()
    for page in (laptop, phone):
        page.context.close()
