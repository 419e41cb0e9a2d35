"""``mongosession.import_from`` beside pyramid_retry, pyramid_tm and an
error view: an import is stored, and the old cookie deleted, only by the
response that is sent for an attempt that counts; otherwise the old
cookie stays, so the visitor loses nothing."""
import webtest
from pyramid.config import Configurator
from pyramid.response import Response
from pyramid_retry import RetryableException

from pyramid_mongosession.importers import PyramidCookieImporter

from .support import include_settings
from .test_import import OLD_SECRET, old_app
from .test_tm import Ledger

OLD_COOKIE = "shop_session"


def old_browser():
    """A visitor of the application on Pyramid's cookie sessions, with a
    teapot in the cart, under a cookie name other than the new one's."""
    old = old_app(cookie_name=OLD_COOKIE)
    old.get("/add/teapot")
    return old


def new_app(collection, view, includes=(), settings=None, error_view=False):
    importer = PyramidCookieImporter(OLD_SECRET, cookie_name=OLD_COOKIE)
    config = Configurator(settings=include_settings(
        collection, dict(settings or {}, **{"mongosession.import_from": importer})))
    for name in includes:
        config.include(name)
    config.include("pyramid_mongosession")
    config.add_route("view", "/view")
    config.add_view(view, route_name="view", renderer="json")
    config.add_route("cart", "/cart")
    config.add_view(lambda request: request.session.get("cart"), route_name="cart",
                    renderer="json")
    if error_view:
        config.add_exception_view(lambda exc, request: Response("sorry", status=500),
                                  context=Exception)
    return webtest.TestApp(config.make_wsgi_app())


def moved(old, new):
    new.cookiejar = old.cookiejar
    return new


def test_an_import_in_retried_attempts_is_stored_once_by_the_attempt_that_counts(
    collection, commands
):
    def fails_twice(request):
        cart = request.session["cart"]
        if request.environ["retry.attempt"] < 2:
            raise RetryableException("try again")
        return cart

    browser = moved(old_browser(), new_app(
        collection, fails_twice, includes=["pyramid_retry"], settings={"retry.attempts": "3"}))
    commands.clear()

    response = browser.get("/view")

    assert response.json == {"teapot": 1}
    assert commands.names == ["insert"]
    assert OLD_COOKIE not in browser.cookies
    assert browser.get("/cart").json == {"teapot": 1}


def test_an_error_response_without_cookie_on_exception_keeps_the_old_cookie(collection):
    def fails(request):
        request.session["cart"]
        raise ValueError("the view failed")

    browser = moved(old_browser(), new_app(
        collection, fails, settings={"mongosession.cookie_on_exception": "false"},
        error_view=True))

    assert browser.get("/view", status=500).text == "sorry"

    assert collection.count_documents({}) == 0
    assert OLD_COOKIE in browser.cookies and "session" not in browser.cookies
    assert browser.get("/cart").json == {"teapot": 1}  # imported by the next request
    assert collection.count_documents({}) == 1


def test_a_transaction_that_fails_to_commit_keeps_the_old_cookie(collection, commands):
    ledger = Ledger(commands)

    def in_a_transaction(request):
        ledger.join(request)
        return request.session["cart"]

    browser = moved(old_browser(), new_app(
        collection, in_a_transaction, includes=["pyramid_tm"], error_view=True))
    ledger.conflicts = 1

    browser.get("/view", status=500)

    assert collection.count_documents({}) == 0
    assert OLD_COOKIE in browser.cookies
    assert browser.get("/view").json == {"teapot": 1}
    assert collection.find_one()["data"] == {"cart": {"teapot": 1}}
    assert OLD_COOKIE not in browser.cookies


def test_two_tabs_importing_at_once_each_keep_the_cart(collection):
    old = old_browser()
    tabs = [moved(old, new_app(collection, lambda request: request.session["cart"]))
            for _ in range(2)]
    cookie_header = {"Cookie": f"{OLD_COOKIE}={old.cookies[OLD_COOKIE]}"}
    first, second = (tab.get("/view", headers=cookie_header) for tab in tabs)

    assert first.json == second.json == {"teapot": 1}
    # Whichever new cookie the browser keeps names a session with the cart.
    for response in (first, second):
        tab = webtest.TestApp(tabs[0].app)
        (ours,) = [header for header in response.headers.getall("Set-Cookie")
                   if header.startswith("session=")]
        tab.set_cookie("session", ours.split(";")[0].split("=", 1)[1])
        assert tab.get("/cart").json == {"teapot": 1}
