"""pyramid_mongosession beside pyramid_debugtoolbar: the toolbar's Session
panel, active or not, neither changes what is stored nor adds commands."""
import re

import pytest
import webtest
from pyramid.config import Configurator
from pyramid.response import Response

from .support import configure_views, include_settings

ORDERS = {
    "toolbar_first": ("pyramid_debugtoolbar", "pyramid_mongosession"),
    "session_first": ("pyramid_mongosession", "pyramid_debugtoolbar"),
}
# How the Session panel is made active for a request: not at all (the
# default), by the toolbar's ``pdtb_active`` cookie, or by the setting.
PANEL = ("inactive", "cookie", "setting")


def html_page(request):
    """Sets ``key`` to ``value`` when given; HTML, so the toolbar injects itself."""
    if "key" in request.matchdict:
        request.session[request.matchdict["key"]] = request.matchdict["value"]
    return Response("<html><body>page</body></html>", content_type="text/html")


def make_app(collection, order="toolbar_first", panel="inactive"):
    settings = {"debugtoolbar.hosts": "127.0.0.1"}
    if panel == "setting":
        settings["debugtoolbar.active_panels"] = "session"
    config = Configurator(settings=include_settings(collection, settings))
    for name in ORDERS[order]:
        config.include(name)
    configure_views(config)
    config.add_route("html", "/html")
    config.add_route("html_set", "/html/{key}/{value}")
    config.add_view(html_page, route_name="html")
    config.add_view(html_page, route_name="html_set")
    app = webtest.TestApp(config.make_wsgi_app(), extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    if panel == "cookie":
        app.set_cookie("pdtb_active", "session")
    return app


def toolbar_page(app, response):
    """The toolbar's page for the request ``response`` answered, found
    through the link the toolbar injected into it."""
    assert 'id="pDebug"' in response.text, "the toolbar did not inject itself"
    url = re.search(r'href="(http://localhost/_debug_toolbar/[0-9a-f]+)"', response.text)
    assert url, response.text
    return app.get(url.group(1), status=200)


def session_panel(page):
    """The Session panel's part of a toolbar page, and its Session Data
    table as {key: (changed mark, ingress, egress)}."""
    start = page.text.index('id="pDebugPanel-session-content"')
    text = page.text[start:page.text.index('<div class="tab-pane"', start)]
    rows = re.findall(
        r"<th>(.*?)</th>\s*<td>(.*?)</td>\s*<td>(.*?)</td>", text, re.DOTALL
    )
    table = {}
    for head, *cells in rows:
        key = head.rsplit("&nbsp;", 1)[-1].strip()
        values = [re.sub(r"^\s*<code>|</code>\s*$", "", c.strip()) or None for c in cells]
        table[key] = ("value set or changed" in head, *values)
    return text, table


def updates(commands):
    return [d["updates"][0]["u"] for d in commands.documents("update")]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("panel", PANEL)
def test_session_changes_are_stored_exactly_beside_the_toolbar(
    collection, commands, order, panel
):
    app = make_app(collection, order, panel)
    app.get("/set/a/1")
    app.get("/set/b/2")
    app.post_json("/set_json", {"cart": ["apple"], "profile": {"name": "ann"}})
    assert collection.find_one()["data"] == {
        "a": "1", "b": "2", "cart": ["apple"], "profile": {"name": "ann"},
    }
    commands.clear()
    app.get("/delete/a")
    assert commands.names == ["find", "update"]
    assert updates(commands) == [{"$unset": {"data.a": ""}}]
    commands.clear()
    assert app.get("/append/cart/pear").json == ["apple", "pear"]
    assert updates(commands) == [{"$set": {"data.cart": ["apple", "pear"]}}]
    assert collection.find_one()["data"] == {
        "b": "2", "cart": ["apple", "pear"], "profile": {"name": "ann"},
    }
    assert collection.count_documents({}) == 1
    assert app.get("/dump").json == collection.find_one()["data"]
    assert app.get("/get/b").json == "2"


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("panel", PANEL)
def test_session_panel_page_shows_the_session(collection, order, panel):
    app = make_app(collection, order, panel)
    app.get("/set/colour/blue")
    text, table = session_panel(toolbar_page(app, app.get("/html/size/large")))
    assert ("was active" if panel != "inactive" else "was not active") in text
    assert "was accessed during the main" in text
    assert "pyramid_mongosession.factory.MongoSessionFactory" in text
    assert table == {
        "colour": (False, "'blue'", "'blue'"),
        "size": (True, None, "'large'"),
    }
    assert collection.find_one()["data"] == {"colour": "blue", "size": "large"}


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("panel", PANEL)
def test_session_panel_page_for_a_page_that_does_not_touch_the_session(
    collection, order, panel
):
    app = make_app(collection, order, panel)
    app.get("/set/colour/blue")
    text, table = session_panel(toolbar_page(app, app.get("/html")))
    assert "was not accessed during the main" in text
    if panel == "inactive":
        assert "was not active" in text
        assert table == {}
    else:
        assert "was active" in text
        assert table == {"colour": (False, "'blue'", "'blue'")}
    assert collection.find_one()["data"] == {"colour": "blue"}


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("path", ["/untouched", "/html"])
def test_untouched_view_sends_no_command_with_the_panel_inactive(
    collection, commands, order, path
):
    app = make_app(collection, order)
    app.get("/set/a/1")
    assert "session" in app.cookies
    commands.clear()
    response = app.get(path)
    assert commands.names == []
    assert "Set-Cookie" not in response.headers
    assert collection.find_one()["data"] == {"a": "1"}


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("panel", ["cookie", "setting"])
def test_untouched_view_with_the_panel_active_only_reads(collection, commands, order, panel):
    """The active panel reads the session before the view runs (the
    toolbar's doing); that read must not turn into a write."""
    app = make_app(collection, order, panel)
    app.get("/set/a/1")
    commands.clear()
    response = app.get("/untouched")
    assert commands.names == ["find"]
    assert "Set-Cookie" not in response.headers
    assert collection.find_one()["data"] == {"a": "1"}


def failing_beside_the_toolbar(collection, failing):
    settings = include_settings(collection, {"debugtoolbar.hosts": "127.0.0.1"})
    config = Configurator(settings=settings)
    config.include("pyramid_debugtoolbar")
    config.include("pyramid_mongosession")
    config.add_route("failing", "/")
    config.add_view(failing, route_name="failing")
    return webtest.TestApp(config.make_wsgi_app(), extra_environ={"REMOTE_ADDR": "127.0.0.1"})


def test_a_change_before_an_error_the_toolbar_answers_is_stored(collection):
    """An error no exception view answers leaves the package's tween; the
    toolbar, above it, makes the 500 page, and the response callbacks run:
    the change is stored, as ``cookie_on_exception`` (true) says."""
    def failing(request):
        request.session["before_failure"] = "written"
        raise RuntimeError("no exception view answers this")

    app = failing_beside_the_toolbar(collection, failing)

    app.get("/", status=500)

    assert collection.find_one()["data"] == {"before_failure": "written"}


@pytest.mark.parametrize("session", ["untouched", "only looked at"])
def test_an_error_the_toolbar_answers_stores_nothing_for_an_unchanged_session(
    collection, commands, session
):
    def failing(request):
        if session == "only looked at":
            request.session  # the toolbar's Session panel reads it  # noqa: B018
        raise RuntimeError("no exception view answers this")

    app = failing_beside_the_toolbar(collection, failing)

    response = app.get("/", status=500)

    assert commands.names == []
    assert "session=" not in response.headers.get("Set-Cookie", "")
