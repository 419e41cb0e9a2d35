"""A hung database gets a bounded answer by default (contract §7): every
MongoDB call of the package has a time limit, for its own client and for
one handed in.  The database is frozen (SIGSTOP), not stopped: it still
accepts connections and never answers."""
import contextlib
import os
import signal
import threading
import time

import pymongo
import pytest

from .support import app_on_url, app_with_factory, app_with_include, wait_for

# The defaults: 3 s to select a server, 3 s for any call.
DEFAULT_LIMIT = 3.0


def process_state(pid):
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]


@contextlib.contextmanager
def frozen(server):
    pid = server.process.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        # The signal takes effect asynchronously; until then it may answer.
        wait_for(lambda: process_state(pid) == "T", message="the server did not stop",
                 every=0.005)
        yield
    finally:
        os.kill(server.process.pid, signal.SIGCONT)


def own_client_app(server):
    return app_on_url(server.uri, **{"mongosession.reaper": "off"})


def handed_in_client_app(server, clients):
    client = pymongo.MongoClient(server.uri, connect=False, tz_aware=True)
    clients.append(client)
    collection = client.sessions_db.sessions
    return app_with_include(collection, {"mongosession.reaper": "off"})


@pytest.fixture
def clients():
    made = []
    yield made
    for client in made:
        client.close()


@pytest.fixture(params=["own client", "handed-in client"])
def app_on(request, clients):
    if request.param == "own client":
        return own_client_app
    return lambda server: handed_in_client_app(server, clients)


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_a_request_to_a_frozen_database_gets_the_503_view_within_the_time_limit(
    private_server, app_on
):
    app = app_on(private_server)
    app.get("/set/a/1")

    with frozen(private_server):
        read, read_took = timed(lambda: app.get("/get/a", expect_errors=True))
        write, write_took = timed(lambda: app.get("/set/b/2", expect_errors=True))

    assert (read.status_int, read.json) == (503, "session storage unavailable")
    assert (write.status_int, write.json) == (503, "session storage unavailable")
    assert DEFAULT_LIMIT * 0.9 < read_took < 2 * DEFAULT_LIMIT
    assert DEFAULT_LIMIT * 0.9 < write_took < 2 * DEFAULT_LIMIT
    # Thawed, the same process carries on: nothing was lost, nothing half-written.
    assert app.get("/get/a").json == "1"
    assert app.get("/get/b").json is None
    app.get("/set/b/2")
    assert app.get("/get/b").json == "2"


def test_a_request_that_never_touches_the_session_is_not_held_up_by_a_frozen_one(
    private_server,
):
    app = own_client_app(private_server)
    app.get("/set/a/1")
    answers = {}

    with frozen(private_server):
        waiting = threading.Thread(
            target=lambda: answers.update(hung=app.get("/get/a", expect_errors=True))
        )
        waiting.start()
        time.sleep(0.3)
        answers["untouched"], untouched_took = timed(lambda: app.get("/untouched"))
        waiting.join(2 * DEFAULT_LIMIT)

    assert answers["untouched"].json == "untouched"
    assert untouched_took < 1
    assert answers["hung"].status_int == 503


@pytest.mark.parametrize("url_options, settings", [
    ("", {"mongosession.operation_timeout": "1"}),  # the setting
    ("?timeoutMS=1000", {}),  # a timeoutMS in the URL is kept
], ids=["operation_timeout", "timeoutMS in the URL"])
def test_a_one_second_limit_answers_in_about_a_second(private_server, url_options, settings):
    app = app_on_url(private_server.uri + url_options, **{"mongosession.reaper": "off"},
                     **settings)
    app.get("/set/a/1")

    with frozen(private_server):
        response, took = timed(lambda: app.get("/get/a", expect_errors=True))

    assert response.status_int == 503
    assert 0.9 < took < 3


def test_without_a_time_limit_the_client_decides(private_server):
    """``operation_timeout = none``: the client's own timeouts apply (here
    pymongo's, which wait for the frozen server as long as it is frozen)."""
    app = app_on_url(private_server.uri, **{"mongosession.reaper": "off",
                                            "mongosession.operation_timeout": "none"})
    app.get("/set/a/1")
    answers = {}

    with frozen(private_server):
        waiting = threading.Thread(target=lambda: answers.update(late=app.get("/get/a")))
        waiting.start()
        waiting.join(2 * DEFAULT_LIMIT)
        assert waiting.is_alive()  # still waiting, well past the default limit
    waiting.join(10)

    assert answers["late"].json == "1"


def test_the_factory_takes_the_time_limit_too(private_server, clients):
    client = pymongo.MongoClient(private_server.uri, connect=False, tz_aware=True)
    clients.append(client)
    app = app_with_factory(client.db.sessions, operation_timeout=1.5)
    app.get("/set/a/1")

    with frozen(private_server):
        response, took = timed(lambda: app.get("/get/a", expect_errors=True))

    assert response.status_int == 503
    assert 1.4 < took < 4
