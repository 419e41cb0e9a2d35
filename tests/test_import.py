"""``mongosession.import_from``: switching from Pyramid's signed-cookie
sessions (or another store) signs no one out.  The old sessions are written
by Pyramid's own ``SignedCookieSessionFactory`` in a real application, and
taken in by this package's application over the wire server."""
import logging
import time

import pytest
import webtest
from pyramid.config import Configurator
from pyramid.session import PickleSerializer, SignedCookieSessionFactory
from webob import Request

from pyramid_mongosession.importers import PyramidCookieImporter

from .support import include_settings

OLD_SECRET = "the secret the cookie sessions were signed with"


def cart(request):
    return request.session.get("cart", {})


def add(request):
    request.session.setdefault("cart", {})[request.matchdict["item"]] = 1
    request.session.changed()
    return cart(request)


def token(request):
    return request.session.get_csrf_token()


def is_new(request):
    return request.session.new


def sign_out(request):
    request.session.invalidate()
    return "signed out"


def untouched(request):
    return "untouched"


VIEWS = {"cart": "/cart", "add": "/add/{item}", "token": "/token", "is_new": "/new",
         "sign_out": "/sign_out", "untouched": "/untouched"}


def application(session_factory=None, settings=None):
    config = Configurator(settings=settings)
    if session_factory is not None:
        config.set_session_factory(session_factory)
    else:
        config.include("pyramid_mongosession")
    for name, pattern in VIEWS.items():
        config.add_route(name, pattern)
        config.add_view(globals()[name], route_name=name, renderer="json")
    return webtest.TestApp(config.make_wsgi_app())


def old_app(**options):
    """The application as it was, on Pyramid's cookie sessions."""
    return application(SignedCookieSessionFactory(OLD_SECRET, **options))


class Counted:
    """An importer that counts its calls."""

    def __init__(self, importer):
        self.importer = importer
        self.calls = 0
        self.forget = getattr(importer, "forget", None)

    def __call__(self, request):
        self.calls += 1
        return self.importer(request)


def new_app(collection, importer, **more):
    settings = {"mongosession.import_from": importer}
    settings.update({"mongosession." + name: value for name, value in more.items()})
    return application(settings=include_settings(collection, settings))


def moved(old, new):
    """``new``, the application after the switch, in the browser of ``old``."""
    new.cookiejar = old.cookiejar
    return new


def test_a_visitor_of_the_cookie_sessions_keeps_the_cart_in_one_insert(collection, commands):
    old = old_app()
    old.get("/add/teapot")
    importer = Counted(PyramidCookieImporter(OLD_SECRET))
    browser = moved(old, new_app(collection, importer))
    commands.clear()

    assert browser.get("/cart").json == {"teapot": 1}
    assert commands.names == ["insert"]
    assert collection.find_one()["data"] == {"cart": {"teapot": 1}}
    commands.clear()
    assert browser.get("/add/mug").json == {"teapot": 1, "mug": 1}
    assert commands.names == ["find", "update"]  # as for any visitor of this package
    assert importer.calls == 1


def test_the_imported_session_is_new_and_keeps_its_csrf_token(collection):
    old = old_app()
    old_token = old.get("/token").json
    browser = moved(old, new_app(collection, PyramidCookieImporter(OLD_SECRET)))

    assert browser.get("/new").json is True
    assert browser.get("/new").json is False
    assert browser.get("/token").json == old_token  # a form open in another tab still posts


def test_visitors_with_the_new_cookie_cost_nothing_more(collection, commands):
    importer = Counted(PyramidCookieImporter(OLD_SECRET))
    with_import, without = new_app(collection, importer), new_app(collection, None)
    seen = []
    for browser in (with_import, without):
        browser.get("/add/teapot")  # a new visitor: the importer had nothing
        importer.calls = 0
        commands.clear()
        browser.get("/cart")
        browser.get("/add/mug")
        seen.append(commands.names)

    assert seen[0] == seen[1] == ["find", "find", "update"]
    assert importer.calls == 0


def test_a_visitor_whose_new_session_ended_is_not_imported_again(collection):
    old = old_app(cookie_name="shop_session")
    old.get("/add/teapot")
    old_cookie = old.cookies["shop_session"]
    importer = Counted(PyramidCookieImporter(OLD_SECRET, cookie_name="shop_session"))
    browser = moved(old, new_app(collection, importer))
    browser.get("/cart")
    browser.set_cookie("shop_session", old_cookie)  # say it came back
    collection.delete_many({})  # expired, revoked or reaped

    assert browser.get("/cart").json == {}
    assert importer.calls == 1


def test_the_same_cookie_name_is_replaced_by_the_new_cookie(collection):
    old = old_app()
    old.get("/add/teapot")
    browser = moved(old, new_app(collection, PyramidCookieImporter(OLD_SECRET)))

    response = browser.get("/cart")

    set_cookies = response.headers.getall("Set-Cookie")
    assert len(set_cookies) == 1 and set_cookies[0].startswith("session=")
    assert "Max-Age=0" not in set_cookies[0]


def test_an_old_cookie_of_another_name_is_deleted(collection):
    old = old_app(cookie_name="shop_session", path="/")
    old.get("/add/teapot")
    importer = PyramidCookieImporter(OLD_SECRET, cookie_name="shop_session")
    browser = moved(old, new_app(collection, importer))

    response = browser.get("/cart")

    assert response.json == {"teapot": 1}
    set_cookies = sorted(response.headers.getall("Set-Cookie"))
    assert set_cookies[0].startswith("session=")
    assert set_cookies[1].startswith("shop_session=;") and "Max-Age=0" in set_cookies[1]
    assert "shop_session" not in browser.cookies
    assert browser.get("/cart").json == {"teapot": 1}


def test_a_forged_or_expired_old_cookie_imports_nothing(collection):
    forged = old_app()
    forged.get("/add/teapot")
    value = forged.cookies["session"]
    forged.cookiejar.clear()
    forged.set_cookie("session", value[:10] + ("A" if value[10] != "A" else "B") + value[11:])
    expired = old_app()
    expired.get("/add/teapot")
    importer = Counted(PyramidCookieImporter(OLD_SECRET, clock=lambda: time.time() + 1201))

    for old, name in ((forged, PyramidCookieImporter(OLD_SECRET)), (expired, importer)):
        browser = moved(old, new_app(collection, name))
        response = browser.get("/cart")
        assert response.json == {}
        assert "Set-Cookie" not in response.headers
    assert importer.calls == 1
    assert collection.count_documents({}) == 0


def test_pyramid_1_pickled_cookies_import_with_the_pickle_serializer(collection):
    old = old_app(serializer=PickleSerializer())
    old.get("/add/teapot")
    importer = PyramidCookieImporter(OLD_SECRET, serializer=PickleSerializer())
    browser = moved(old, new_app(collection, importer))

    assert browser.get("/cart").json == {"teapot": 1}


def test_signing_out_in_the_first_request_deletes_the_old_cookie_too(collection):
    old = old_app()
    old.get("/add/teapot")
    browser = moved(old, new_app(collection, PyramidCookieImporter(OLD_SECRET)))

    response = browser.get("/sign_out")

    assert [c.split(";")[0] for c in response.headers.getall("Set-Cookie")] == ["session="]
    assert browser.get("/cart").json == {}
    assert collection.count_documents({}) == 0


def test_the_importer_runs_only_when_the_session_is_used(collection):
    old = old_app()
    old.get("/add/teapot")
    importer = Counted(PyramidCookieImporter(OLD_SECRET))
    browser = moved(old, new_app(collection, importer))

    response = browser.get("/untouched")

    assert importer.calls == 0 and "Set-Cookie" not in response.headers
    assert browser.get("/cart").json == {"teapot": 1}


def test_data_that_cannot_be_stored_is_left_in_the_old_cookie(collection, caplog):
    def importer(request):
        return {"cart": {"teapot": 1}, "when": object()}

    browser = new_app(collection, importer)

    with caplog.at_level(logging.WARNING, "pyramid_mongosession"):
        response = browser.get("/cart")

    assert response.json == {}
    assert "Set-Cookie" not in response.headers
    assert collection.count_documents({}) == 0
    assert "not importing a session of the old store: session key 'when'" in caplog.text


@pytest.mark.parametrize("returned", [None, {}])
def test_an_importer_with_nothing_to_give_stores_nothing(collection, commands, returned):
    browser = new_app(collection, lambda request: returned)
    commands.clear()

    response = browser.get("/cart")

    assert response.json == {} and "Set-Cookie" not in response.headers
    assert commands.names == []


def test_the_setting_takes_a_dotted_name(collection):
    old = old_app()
    old.get("/add/teapot")
    browser = moved(old, new_app(collection, "tests.test_import:old_sessions"))

    assert browser.get("/cart").json == {"teapot": 1}


old_sessions = PyramidCookieImporter(OLD_SECRET)


def test_an_old_cookie_in_double_quotes_is_read():
    old = old_app()
    cart = {}
    for item in ("teapot", "mug", "kettle", "saucer", "spoon"):
        old.get(f"/add/{item}")
        cart[item] = 1
        value = old.cookies["session"]
        if len(value) % 4:  # unpadded base64, whose padding quotes would break
            break
    request = Request.blank("/", headers={"Cookie": f'session="{value}"'})

    assert PyramidCookieImporter(OLD_SECRET)(request) == {"cart": cart}
