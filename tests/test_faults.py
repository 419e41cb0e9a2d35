"""Faults: contract §7, provoked with failCommand or by stopping the server."""
import logging
import re
import time

import pytest
import webtest
from pymongo.errors import PyMongoError
from pyramid.config import Configurator

from pyramid_mongosession import (
    MongoSessionFactory,
    SessionStoreError,
    SessionTooLargeError,
)

from .support import SECRET, app_on_url, app_with_factory, app_with_include


def test_failing_find_raises_session_store_error_carrying_the_pymongo_error(
    collection, fail_command
):
    seen = []

    def view(request):
        try:
            request.session.get("a")
        except SessionStoreError as error:
            seen.append(error)
            raise
        return "ok"

    config = Configurator(session_factory=MongoSessionFactory(collection, secret=SECRET))
    config.add_route("v", "/")
    config.add_view(view, route_name="v", renderer="json")
    config.add_view(lambda e, r: "unavailable", context=SessionStoreError, renderer="json")
    app = webtest.TestApp(config.make_wsgi_app())
    app.set_cookie("session", app_with_factory(collection).get("/set/a/1").headers[
        "Set-Cookie"].split(";")[0].split("=", 1)[1])
    fail_command(["find"], errorCode=1)
    assert app.get("/").json == "unavailable"
    (error,) = seen
    assert isinstance(error.error, PyMongoError)
    assert "cannot load the session" in str(error)


def test_failing_find_through_include_answers_503(collection, fail_command):
    app = app_with_include(collection)
    app.get("/set/a/1")
    fail_command(["find"], errorCode=1)
    assert app.get("/get/a", status=503).json == "session storage unavailable"
    assert app.get("/get/a").json == "1"  # the next request works again


def test_failed_write_without_include_never_gives_a_success_response(
    collection, fail_command
):
    app = app_with_factory(collection)
    app.get("/set/a/1")
    fail_command(["update"], errorCode=1)
    with pytest.raises(SessionStoreError) as error:
        app.get("/set/a/2")
    assert isinstance(error.value.error, PyMongoError)
    assert collection.find_one()["data"] == {"a": "1"}


def test_one_dropped_connection_on_write_is_absorbed_by_retryable_writes(
    collection, fail_command
):
    app = app_with_include(collection)
    app.get("/set/a/1")
    fail_command(["update"], closeConnection=True)
    assert app.get("/set/a/2").json == "ok"
    assert collection.find_one()["data"] == {"a": "2"}


def test_invalidate_that_cannot_delete_raises(collection, fail_command):
    app = app_with_include(collection)
    app.get("/set/a/1")
    fail_command(["delete"], errorCode=1)
    app.get("/invalidate", status=503)
    assert app.get("/get/a").json == "1"


def app_on_server(server):
    # pymongo bounds server selection by the operation's time limit too.
    return app_on_url(server.uri, **{
        "mongosession.server_selection_timeout": "0.5",
        "mongosession.operation_timeout": "0.5",
        "mongosession.reaper": "off",
    })


def test_database_down_gives_503_quickly_and_the_process_recovers(private_server):
    app = app_on_server(private_server)
    app.get("/set/a/1")
    private_server.stop()
    started = time.monotonic()
    assert app.get("/get/a", status=503).json == "session storage unavailable"
    app.get("/set/b/2", status=503)
    assert time.monotonic() - started < 5  # bounded by operation_timeout
    private_server.start()  # same port, empty storage
    assert app.get("/get/a").json is None
    app.get("/set/a/again")
    assert app.get("/get/a").json == "again"


def test_session_too_large_for_one_document_fails_clearly(collection):
    def huge(request):
        request.session["blob"] = "x" * (17 * 1024 * 1024)
        return "ok"

    config = Configurator(session_factory=MongoSessionFactory(
        collection, secret=SECRET, max_size=16 * 1024 * 1024))
    config.add_route("huge", "/huge")
    config.add_view(huge, route_name="huge", renderer="json")
    app = webtest.TestApp(config.make_wsgi_app())
    with pytest.raises(SessionTooLargeError) as error:
        app.get("/huge")
    assert "the session is too large to store" in str(error.value)
    written = re.search(r"it would be ([\d,]+) bytes", str(error.value))
    blob = 17 * 1024 * 1024
    assert blob < int(written.group(1).replace(",", "")) < blob + 200  # blob + document
    assert "16,777,216" in str(error.value)
    assert collection.count_documents({}) == 0


def test_session_growing_past_the_document_limit_fails_clearly(collection):
    def grow(request):
        request.session[request.matchdict["key"]] = "x" * (9 * 1024 * 1024)
        return "ok"

    config = Configurator(session_factory=MongoSessionFactory(
        collection, secret=SECRET, max_size=16 * 1024 * 1024))
    config.add_route("grow", "/grow/{key}")
    config.add_view(grow, route_name="grow", renderer="json")
    app = webtest.TestApp(config.make_wsgi_app())
    app.get("/grow/one")
    with pytest.raises(SessionTooLargeError, match="too large to store"):
        app.get("/grow/two")
    assert set(collection.find_one()["data"]) == {"one"}


def test_undecodable_stored_data_gives_a_fresh_session_and_a_warning(collection, caplog):
    app = app_with_factory(collection)
    app.get("/set/a/1")
    collection.update_one({}, {"$set": {"data": "not a document"}})
    with caplog.at_level(logging.WARNING, "pyramid_mongosession"):
        assert app.get("/get/a").json is None
    assert "session data cannot be decoded" in caplog.text
    app.get("/set/a/fresh")
    assert app.get("/get/a").json == "fresh"


def test_changed_serializer_gives_a_fresh_session_and_a_warning(collection, caplog):
    app = app_with_factory(collection)  # bson
    app.get("/set/a/1")
    collection.update_one({}, {"$set": {"data.a": "{not json"}})
    cookie = app.cookies["session"]
    json_app = app_with_factory(collection, serializer="json")
    json_app.set_cookie("session", cookie)
    with caplog.at_level(logging.WARNING, "pyramid_mongosession"):
        assert json_app.get("/get/a").json is None
    assert "with the 'json' serializer" in caplog.text


@pytest.mark.parametrize("field, value", [("created", "yesterday"), ("timeout", "long"),
                                          ("expires", 5), ("created", None), ("data", None)])
def test_malformed_fields_give_a_fresh_session_and_a_warning(collection, caplog, field, value):
    app = app_with_factory(collection, timeout=None)
    app.get("/set/a/1")
    if value is None:  # the field is missing
        collection.update_one({}, {"$unset": {field: ""}})
    else:
        collection.update_one({}, {"$set": {field: value}})
    with caplog.at_level(logging.WARNING, "pyramid_mongosession"):
        assert app.get("/get/a").json is None
    assert "cannot be decoded" in caplog.text
