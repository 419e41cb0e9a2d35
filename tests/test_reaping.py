"""Reaping that does not scan (contract §6): the reap query goes through an
index on ``expires`` whatever the reaper, and one reap runs at a time."""
import logging
import threading
import time

import pytest

from pyramid_mongosession import get_session_store

from .support import add_sessions, app_on_url, app_with_include, url_of, wait_for
from .test_expiry import reaps


def examined_by(collection, find):
    """Documents the server reads to answer a ``find`` command the store sent."""
    explained = collection.find(find["filter"], find.get("projection")).limit(
        find.get("limit", 0)).explain()
    return explained["executionStats"]["totalDocsExamined"]


@pytest.mark.parametrize("reaper", ["tween", "off"])
def test_a_reap_reads_only_the_expired_documents(collection, commands, reaper):
    store = get_session_store(app_with_include(collection, {"mongosession.reaper": reaper})
                              .app.registry)
    store.ensure_indexes()
    add_sessions(collection, expired=100, live=3000)
    commands.clear()

    assert store.reap() == 100

    finds = commands.documents("find")
    assert len(finds) >= 2  # past the expiry; then documents without one
    add_sessions(collection, expired=100)
    for find in finds:
        assert examined_by(collection, find) <= 100


def test_a_refused_expires_index_is_a_warning_without_the_ttl_reaper(
    mongodb_uri, collection, fail_command, caplog
):
    fail_command(["createIndexes"], times=2, errorCode=13)

    with caplog.at_level(logging.WARNING, "pyramid_mongosession"):
        app = app_on_url(url_of(mongodb_uri, collection), collection,
                         **{"mongosession.reaper": "tween"})

    assert "cannot create the expires index of" in caplog.text
    assert "reaping will scan the collection" in caplog.text
    assert app.get("/set/a/1").status_int == 200


def reaper_running():
    return any(thread.name == "mongosession-reaper" for thread in threading.enumerate())


def test_no_second_reap_starts_while_one_runs(collection, commands, fail_command):
    app = app_with_include(collection, {"mongosession.reaper": "tween",
                                        "mongosession.reap_interval": "1"})
    fail_command(["find"], blockConnection=True, blockTimeMS=2500)

    app.get("/untouched")  # starts a reap, held in the server
    started = time.monotonic()
    while reaper_running():  # requests go on all the while it runs
        app.get("/untouched")
        time.sleep(0.1)
    assert time.monotonic() - started > 2  # two intervals passed during it
    assert reaps(commands) == 1

    # Once the held reap ends, a request may start the next one.
    wait_for(lambda: app.get("/untouched") and reaps(commands) == 2, seconds=15,
             message="no reap started after the first ended", every=0.2)
