"""The short-lived client that checks the indexes at start-up
(``mongosession.url``): closed, and its threads ended, before
``make_wsgi_app()`` returns, so that a server forking next copies none
(see test_uwsgi.py); and nothing else is waited for."""
import threading
import time

from pyramid.config import Configurator

from pyramid_mongosession.connection import _THREADS_END_WITHIN, short_lived_client
from pyramid_mongosession.settings import options_from_settings

from .support import SECRET, url_of


def pymongo_threads_since(before):
    return [t for t in threading.enumerate() if t not in before and t.name.startswith("pymongo")]


def test_apps_built_one_after_another_each_start_and_leave_no_thread(mongodb_uri, collection):
    """pymongo starts a client's round-trip-time thread from its monitor
    thread, so at close() it may be started but not yet running: joining
    it raised (about one start-up in ten failed), and a thread that
    started after the start-up client's threads were listed was left."""
    settings = {"mongosession.secret": SECRET, "mongosession.url": url_of(mongodb_uri, collection)}

    def build():
        config = Configurator(settings=settings)
        config.include("pyramid_mongosession")
        config.make_wsgi_app()

    build()  # the test's own client has started all its threads by now
    left = []
    for _ in range(8):
        before = set(threading.enumerate())
        build()
        left += pymongo_threads_since(before)

    assert left == []


def test_a_thread_the_application_starts_meanwhile_is_not_waited_for(mongodb_uri, collection):
    options = options_from_settings(
        {"mongosession.secret": SECRET, "mongosession.url": url_of(mongodb_uri, collection)}
    )
    release = threading.Event()
    application_thread = threading.Thread(target=release.wait, name="application")
    before = set(threading.enumerate())
    try:
        with short_lived_client(options, {}) as client:
            client.admin.command("ping")  # opened: pymongo's threads run
            application_thread.start()
            closing = time.monotonic()
        took = time.monotonic() - closing
        left = pymongo_threads_since(before)
    finally:
        release.set()
        application_thread.join()

    assert left == []
    assert took < _THREADS_END_WITHIN  # waited for pymongo's threads only
