"""The short-lived client that checks the indexes at start-up
(``mongosession.url``).  Under uWSGI, which forks without Python's fork
hooks, its threads have ended before ``make_wsgi_app()`` returns, so that
the workers copy none (see test_uwsgi.py); no other client's thread is
waited for.  Elsewhere nothing is waited for."""
import sys
import threading
import time
import types

import pymongo
from pyramid.config import Configurator

from pyramid_mongosession.connection import _THREADS_END_WITHIN, short_lived_client
from pyramid_mongosession.settings import options_from_settings

from .support import SECRET, url_of


def pymongo_threads_since(before):
    return [t for t in threading.enumerate() if t not in before and t.name.startswith("pymongo")]


def build_app(mongodb_uri, collection):
    settings = {"mongosession.secret": SECRET, "mongosession.url": url_of(mongodb_uri, collection)}
    config = Configurator(settings=settings)
    config.include("pyramid_mongosession")
    return config.make_wsgi_app()


def test_under_uwsgi_apps_built_one_after_another_leave_no_thread(
    mongodb_uri, collection, monkeypatch
):
    """pymongo's monitor thread may be listed before it runs: joining it
    raised (about one start-up in ten failed)."""
    monkeypatch.setitem(sys.modules, "uwsgi", types.ModuleType("uwsgi"))
    build_app(mongodb_uri, collection)  # the test's own client has all its threads by now
    left = []
    for _ in range(8):
        before = set(threading.enumerate())
        build_app(mongodb_uri, collection)
        left += pymongo_threads_since(before)

    assert left == []


def test_another_clients_threads_are_not_waited_for(mongodb_uri, collection):
    """The application's own client, opened just before: its round-trip
    thread starts whenever its monitor decides, and runs on."""
    options = options_from_settings(
        {"mongosession.secret": SECRET, "mongosession.url": url_of(mongodb_uri, collection)}
    )
    applications = pymongo.MongoClient(mongodb_uri)
    release = threading.Event()
    application_thread = threading.Thread(target=release.wait, name="application")
    before = set(threading.enumerate())
    try:
        with short_lived_client(options, outlive_no_thread=True) as client:
            client.admin.command("ping")  # opened: its threads run
            applications.admin.command("ping")
            application_thread.start()
            closing = time.monotonic()
        took = time.monotonic() - closing
        ours = [t for t in pymongo_threads_since(before) if t.name != "pymongo_server_rtt_thread"]
    finally:
        release.set()
        application_thread.join()
        applications.close()

    assert ours == []
    assert took < _THREADS_END_WITHIN
