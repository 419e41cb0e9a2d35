"""Cookies a request should not act on (contract §5): several cookies of
the session cookie's name (cookie tossing from a sibling subdomain), and
cookies naming a session that is gone (a stale tab, a revoked or expired
session).  A response never undoes a newer one."""
import pytest
import webtest

from .support import (
    Clock,
    app_with_factory,
    app_with_include,
    include_settings,
    session_cookie_headers,
)
from .test_cookies import signed


def visitor_with(app, key, value):
    """A new browser that stored ``key``; its signed cookie value."""
    browser = webtest.TestApp(app.app)
    browser.get(f"/set/{key}/{value}")
    return browser.cookies["session"]


def get(app, path, *cookies):
    header = "; ".join(f"session={cookie}" for cookie in cookies)
    return webtest.TestApp(app.app).get(path, headers={"Cookie": header})


# -- cookie tossing -------------------------------------------------------------


@pytest.mark.parametrize("junk", ["garbage", signed("not a session id"), ""])
def test_a_junk_cookie_after_the_victims_does_not_hide_or_delete_it(collection, junk):
    app = app_with_include(collection)
    victim = visitor_with(app, "owner", "victim")

    response = get(app, "/dump", victim, junk)

    assert response.json == {"owner": "victim"}
    assert session_cookie_headers(response) == []


def test_a_junk_cookie_before_the_victims_does_not_hide_it(collection):
    app = app_with_include(collection)
    victim = visitor_with(app, "owner", "victim")

    assert get(app, "/dump", "garbage", victim).json == {"owner": "victim"}


def test_an_attackers_signed_cookie_after_the_victims_is_ignored(collection):
    app = app_with_include(collection)
    victim = visitor_with(app, "owner", "victim")
    attacker = visitor_with(app, "owner", "attacker")

    assert get(app, "/dump", victim, attacker).json == {"owner": "victim"}
    response = get(app, "/set/card/4111", victim, attacker)

    assert session_cookie_headers(response) == []
    stored = {doc["data"]["owner"]: doc["data"] for doc in collection.find()}
    assert stored == {"victim": {"owner": "victim", "card": "4111"},
                      "attacker": {"owner": "attacker"}}


def test_a_first_cookie_naming_a_gone_session_is_used_and_left_alone(collection, commands):
    """The first cookie that verifies is the one used, even if its session
    is gone; the one after it is never acted on."""
    app = app_with_include(collection)
    gone = visitor_with(app, "owner", "gone")
    collection.delete_one({"data.owner": "gone"})
    other = visitor_with(app, "owner", "other")
    commands.clear()

    response = get(app, "/dump", gone, other)

    assert response.json == {}
    assert commands.names == ["find"]
    assert session_cookie_headers(response) == []


def test_a_host_prefixed_cookie_is_set_with_what_browsers_require(collection):
    from pyramid.config import Configurator

    config = Configurator(settings=include_settings(collection, {
        "mongosession.cookie_name": "__Host-sid", "mongosession.cookie_secure": "true"}))
    config.include("pyramid_mongosession")
    config.add_route("set", "/set")
    config.add_view(lambda request: request.session.update(a=1) or "ok", route_name="set",
                    renderer="json")
    response = webtest.TestApp(config.make_wsgi_app()).get("/set")

    header = response.headers["Set-Cookie"]
    assert header.startswith("__Host-sid=")
    assert "Path=/" in header and "secure" in header.lower() and "Domain" not in header


# -- a response never undoes a newer one ----------------------------------------


def test_a_slow_request_from_before_a_sign_in_does_not_sign_the_user_out(collection):
    app = app_with_include(collection)
    browser = webtest.TestApp(app.app)
    browser.get("/set/cart/tea")
    before_sign_in = browser.cookies["session"]
    browser.get("/regenerate")  # the sign-in, in another tab
    signed_in = browser.cookies["session"]

    late = get(app, "/get/cart", before_sign_in)  # finishes after the sign-in

    assert late.json is None
    assert session_cookie_headers(late) == []
    assert get(app, "/get/cart", signed_in).json == "tea"


@pytest.mark.parametrize("how", ["revoked", "expired", "deleted"])
def test_a_cookie_of_a_gone_session_is_neither_deleted_nor_set_by_a_read(collection, how):
    clock = Clock()
    app = app_with_factory(collection, clock=clock, timeout=600)
    cookie = visitor_with(app, "a", "1")
    if how == "expired":
        clock.advance(601)
    else:
        collection.delete_many({})

    response = get(app, "/get/a", cookie)

    assert response.json is None
    assert session_cookie_headers(response) == []


def test_a_cookie_of_a_gone_session_is_replaced_when_new_data_is_stored(collection):
    app = app_with_include(collection)
    cookie = visitor_with(app, "a", "1")
    collection.delete_many({})

    response = get(app, "/set/b/2", cookie)

    (header,) = session_cookie_headers(response)
    assert header.split(";")[0] != f"session={cookie}"
    assert [doc["data"] for doc in collection.find()] == [{"b": "2"}]


def test_a_signed_id_followed_by_a_newline_is_refused(collection, commands):
    app = app_with_factory(collection)  # signed() signs with the whole SECRET
    forged = signed("A" * 43 + "\n")

    assert get(app, "/get/a", forged).json is None
    assert commands.names == []
