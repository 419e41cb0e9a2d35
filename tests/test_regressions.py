"""Regressions found in review; each test failed before its fix."""
import logging
import time

import pytest
import webtest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError

from pyramid_mongosession import MongoSessionFactory, SessionStoreError, session_factory_from_settings

from .support import SECRET, Clock, app_with_factory, app_with_include, include_settings
from .test_session import app_running


def test_session_with_a_shorter_own_timeout_is_renewed_in_time(collection):
    clock = Clock()
    app = app_with_factory(collection, timeout=86400, clock=clock)
    app.get("/set/a/1")
    app.get("/adjust/600")
    for _ in range(4):
        clock.advance(300)
        assert app.get("/get/a").json == "1"


def test_own_timeout_without_a_global_one_is_not_renewed_on_every_read(collection, commands):
    clock = Clock()
    app = app_with_factory(collection, timeout=None, clock=clock)
    app.get("/set/a/1")
    app.get("/adjust/600")
    clock.advance(10)
    commands.clear()
    app.get("/get/a")
    assert commands.names == ["find"]


def test_regenerate_whose_insert_fails_keeps_the_old_session(collection, fail_command):
    app = app_with_factory(collection)
    app.get("/set/a/1")
    fail_command(["insert"], errorCode=1)
    with pytest.raises(SessionStoreError):
        app.get("/regenerate")
    assert app.get("/get/a").json == "1"


def test_ttl_index_is_ensured_without_include_after_the_first_write(collection):
    app = app_with_factory(collection)
    app.get("/set/a/1")
    deadline = time.monotonic() + 10
    while "expires_1" not in collection.index_information():
        assert time.monotonic() < deadline, "no TTL index"
        time.sleep(0.05)
    assert collection.index_information()["expires_1"]["expireAfterSeconds"] == 0


def test_changing_the_session_after_it_was_written_is_refused(collection):
    config = Configurator(settings=include_settings(collection))
    config.include("pyramid_mongosession")

    def view(request):
        request.session["a"] = 1
        request.add_response_callback(lambda req, resp: req.session.__setitem__("late", 2))
        return request.response

    config.add_route("v", "/")
    config.add_view(view, route_name="v")
    app = webtest.TestApp(config.make_wsgi_app())
    with pytest.raises(RuntimeError, match="already saved for this response"):
        app.get("/")
    assert collection.find_one()["data"] == {"a": 1}


def test_changed_after_an_assignment_writes_only_that_key(collection, commands):
    app = app_with_factory(collection)
    app.post_json("/set_json", {"a": 1, "b": 2})

    def assign_then_changed(request):
        request.session["a"] = 10
        request.session.changed()
        return "ok"

    other = app_running(collection, assign_then_changed)
    other.set_cookie("session", app.cookies["session"])
    commands.clear()
    other.get("/")
    (update,) = commands.documents("update")
    assert update["updates"][0]["u"] == {"$set": {"data.a": 10}}


def test_deleting_a_secure_cookie_keeps_its_attributes(collection):
    app = app_with_factory(collection, cookie_name="__Host-sid", cookie_secure=True,
                           cookie_samesite="Strict")
    app.get("/set/a/1", extra_environ={"wsgi.url_scheme": "https"})
    response = app.get("/invalidate", extra_environ={"wsgi.url_scheme": "https"})
    cookie = response.headers["Set-Cookie"]
    assert "Max-Age=0" in cookie and "secure" in cookie.lower()
    assert "SameSite=Strict" in cookie and "HttpOnly" in cookie
    assert len(response.headers.getall("Set-Cookie")) == 1


@pytest.mark.parametrize("field, value", [("created", "yesterday"), ("timeout", "long"),
                                          ("expires", 5)])
def test_malformed_fields_give_a_fresh_session_and_a_warning(collection, caplog, field, value):
    app = app_with_factory(collection, timeout=None)
    app.get("/set/a/1")
    collection.update_one({}, {"$set": {field: value}})
    with caplog.at_level(logging.WARNING, "pyramid_mongosession"):
        assert app.get("/get/a").json is None
    assert "cannot be decoded" in caplog.text


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"mongosession.url": "mongodb://bob:hunter2@localhost:notaport/"},
         "mongosession.url is not a usable MongoDB URL"),
        ({"mongosession.database": "my db"}, "mongosession.database is not a valid database name"),
        ({"mongosession.collection": "a$b"},
         "mongosession.collection is not a valid collection name"),
    ],
)
def test_unusable_connection_settings_are_configuration_errors(settings, message):
    with pytest.raises(ConfigurationError, match=message) as error:
        session_factory_from_settings(dict(settings, **{"mongosession.secret": SECRET}))
    assert "hunter2" not in str(error.value)


def test_factory_from_options_shares_the_parsed_options(collection):
    factory = MongoSessionFactory(collection, secret=SECRET, timeout=60)
    again = MongoSessionFactory.from_options(collection, factory.options)
    assert again.options is factory.options
