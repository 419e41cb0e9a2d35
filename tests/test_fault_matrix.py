"""Injected faults on every command a request sends: each request either
succeeds with its change stored or answers 503 (SessionStoreError) with
nothing half-done, and the next request works again, without a restart.
Slowness is bounded by ``timeoutMS`` in the URL."""
import time

import pytest
import webtest

from .support import app_on_url, url_of

FAULTS = {
    "dropped connection": {"closeConnection": True},
    "NotWritablePrimary": {"errorCode": 10107},
    "network timeout": {"errorCode": 89},
    "interrupted": {"errorCode": 11601},
    "exceeded time limit": {"errorCode": 262},
}


def app_on(mongodb_uri, collection, url_options=""):
    # A short heartbeat, so that after a "not primary" error the driver finds
    # the primary again in half a second rather than at its next 10 s check.
    options = f"heartbeatFrequencyMS=500&serverSelectionTimeoutMS=3000{url_options}"
    return app_on_url(url_of(mongodb_uri, collection, options), collection)


# For each command: how to provoke it, and whether it took effect (the session read,
# the change stored).
def provoke_find(app, collection):
    response = app.get("/get/a", expect_errors=True)
    return response, lambda: response.status_int == 200 and response.json == "1"


def provoke_update(app, collection):
    response = app.get("/set/b/2", expect_errors=True)
    return response, lambda: collection.find_one({"data.a": "1"})["data"].get("b") == "2"


def provoke_insert(app, collection):
    newcomer = webtest.TestApp(app.app)
    response = newcomer.get("/set/new/1", expect_errors=True)
    return response, lambda: collection.count_documents({"data.new": "1"}) >= 1


def provoke_delete(app, collection):
    (stored,) = [d["_id"] for d in collection.find({"data.a": "1"})]
    response = app.get("/invalidate", expect_errors=True)
    return response, lambda: collection.count_documents({"_id": stored}) == 0


PROVOKE = {"find": provoke_find, "update": provoke_update, "insert": provoke_insert,
           "delete": provoke_delete}


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("command", PROVOKE)
def test_a_fault_gives_success_with_the_change_stored_or_a_503_with_nothing_done(
    mongodb_uri, collection, fail_command, command, fault
):
    app = app_on(mongodb_uri, collection)
    app.get("/set/a/1")
    fail_command([command], **FAULTS[fault])

    response, stored = PROVOKE[command](app, collection)

    assert response.status_int in (200, 503), response
    assert stored() is (response.status_int == 200)
    if response.status_int == 503:
        assert response.json == "session storage unavailable"
        response, stored = PROVOKE[command](app, collection)  # the same again, no fault
        assert response.status_int == 200
        assert stored()


def test_one_transient_error_on_each_write_is_absorbed(mongodb_uri, collection, fail_command):
    """Retryable writes: one dropped connection or one "not primary" costs a
    retry, not a failed request."""
    app = app_on(mongodb_uri, collection)
    app.get("/set/a/1")
    for fault in ("dropped connection", "NotWritablePrimary", "network timeout"):
        for command in ("update", "insert", "delete"):
            fail_command([command], **FAULTS[fault])
            response, stored = PROVOKE[command](app, collection)
            assert response.status_int == 200, (fault, command)
            assert stored(), (fault, command)
            if command == "delete":
                app.get("/set/a/1")


def test_a_slow_database_is_bounded_by_timeout_ms(mongodb_uri, collection, fail_command):
    app = app_on(mongodb_uri, collection, "&timeoutMS=500")
    app.get("/set/a/1")
    fail_command(["find"], blockConnection=True, blockTimeMS=3000)

    started = time.monotonic()
    response = app.get("/get/a", expect_errors=True)
    waited = time.monotonic() - started

    assert response.status_int == 503
    assert waited < 2.5
    assert app.get("/get/a").json == "1"


def test_without_a_timeout_a_slow_database_only_slows_the_request(
    mongodb_uri, collection, fail_command
):
    app = app_on(mongodb_uri, collection)
    app.get("/set/a/1")
    fail_command(["update"], blockConnection=True, blockTimeMS=700)

    started = time.monotonic()
    assert app.get("/set/b/2").status_int == 200
    assert time.monotonic() - started >= 0.7
    assert collection.find_one()["data"]["b"] == "2"
