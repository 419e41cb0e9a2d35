"""The features of signed-in users (the limit per principal, recorded
devices, revoke_one), an imported session and the write-back tween, beside
what applications run with them: pyramid_tm whose commit fails,
pyramid_retry, exception views and the debug toolbar's error page, a slow
request of another tab, and gunicorn --preload."""
import os
import threading

import pytest
import webtest
from pyramid.config import Configurator
from pyramid.response import Response
from pyramid_retry import RetryableException
from webob import Request

from pyramid_mongosession import get_session_store

from . import server_app
from .signin_views import sign_in, sign_out, visit, whoami
from .signin_views import sign_in_in_place as in_place
from .support import include_settings, session_cookie_headers, url_of
from .test_import_neighbours import OLD_COOKIE, moved, new_app, old_browser
from .test_servers import BIN, FORK_WARNING, booted_workers, concurrently, get, launch, stop  # noqa: F401
from .test_tm import INCLUDE_ORDERS, Conflict, Ledger

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 19_1 like Mac OS X) Mobile/15E148"
RECORDING = {"mongosession.record_user_agent": "true",
             "mongosession.record_client_address": "true"}


def app_of(collection, views, includes=("pyramid_mongosession",), settings=None,
           error_views=()):
    """``views``: {pattern: view}, JSON; ``error_views``: exception
    classes answered by a 500 "sorry"."""
    config = Configurator(settings=include_settings(collection, settings))
    for name in includes:
        config.include(name)
    for pattern, view in views.items():
        config.add_route(pattern, pattern)
        config.add_view(view, route_name=pattern, renderer="json")
    for context in error_views:
        config.add_exception_view(lambda exc, request: Response("sorry", status=500),
                                  context=context)
    return config.make_wsgi_app()


def browser(wsgi, user_agent=FIREFOX, address="203.0.113.7"):
    return webtest.TestApp(
        wsgi, extra_environ={"HTTP_USER_AGENT": user_agent, "REMOTE_ADDR": address})


def alices(collection):
    return list(collection.find({"principal": "alice"}))


# -- (b)(c) x pyramid_tm: a sign-in whose commit fails -------------------------


@pytest.mark.parametrize("order", sorted(INCLUDE_ORDERS))
def test_a_sign_in_whose_commit_fails_signs_no_one_out_and_records_no_device(
    collection, commands, order
):
    ledger = Ledger(commands)

    def sign_in_in_a_transaction(request):
        ledger.join(request)
        return sign_in(request)

    wsgi = app_of(collection, {"/sign_in/{name}": sign_in_in_a_transaction,
                               "/whoami": whoami, "/visit": visit},
                  includes=INCLUDE_ORDERS[order], error_views=[Conflict],
                  settings=dict(RECORDING, **{"mongosession.max_sessions_per_principal": "1"}))
    laptop, phone = browser(wsgi), browser(wsgi, PHONE, "192.0.2.9")
    laptop.get("/sign_in/alice")
    phone.get("/visit")
    ledger.conflicts = 1

    response = phone.get("/sign_in/alice", status=500)

    assert session_cookie_headers(response) == []
    (only,) = alices(collection)
    assert only["device"]["user_agent"] == FIREFOX
    assert laptop.get("/whoami").json == "alice" and phone.get("/whoami").json is None
    assert "device" not in collection.find_one({"principal": {"$exists": False}})
    # Tried again, the sign-in applies the limit and records the phone.
    phone.get("/sign_in/alice")
    assert [laptop.get("/whoami").json, phone.get("/whoami").json] == [None, "alice"]
    assert alices(collection)[0]["device"]["user_agent"] == PHONE


# -- (b)(c) x pyramid_retry: a retried sign-in ----------------------------------


@pytest.mark.parametrize("error_view", [False, True], ids=["no error view", "error view"])
def test_a_retried_sign_in_limits_once_and_records_the_device_once(
    collection, commands, error_view
):
    def flaky_sign_in(request):
        sign_in(request)
        if request.environ["retry.attempt"] == 0:
            raise RetryableException("try again")
        return "signed in"

    settings = dict(RECORDING, **{"mongosession.max_sessions_per_principal": "1",
                                  "retry.attempts": "3"})
    wsgi = app_of(collection, {"/sign_in/{name}": flaky_sign_in, "/whoami": whoami,
                               "/visit": visit},
                  includes=["pyramid_retry", "pyramid_mongosession"], settings=settings,
                  error_views=[Exception] if error_view else [])
    laptop, phone = browser(wsgi), browser(wsgi, PHONE, "192.0.2.9")
    laptop.get("/sign_in/alice")
    phone.get("/visit")
    commands.clear()

    assert phone.get("/sign_in/alice").json == "signed in"

    # attempt 0: its find only; attempt 1: find, the move, the limit
    assert commands.names == ["find", "find", "insert", "delete", "find", "delete"]
    (only,) = alices(collection)
    assert only["device"] == {"user_agent": PHONE, "address": "192.0.2.9"}
    assert [laptop.get("/whoami").json, phone.get("/whoami").json] == [None, "alice"]


# -- (b)(c) x an exception view answering the sign-in ---------------------------


@pytest.mark.parametrize("cookie_on_exception", ["true", "false"])
def test_a_sign_in_answered_by_an_exception_view_follows_cookie_on_exception(
    collection, cookie_on_exception
):
    def failing_sign_in(request):
        sign_in(request)
        raise ValueError("the view failed after signing in")

    settings = dict(RECORDING, **{"mongosession.max_sessions_per_principal": "1",
                                  "mongosession.cookie_on_exception": cookie_on_exception})
    wsgi = app_of(collection, {"/sign_in/{name}": failing_sign_in, "/whoami": whoami,
                               "/visit": visit, "/ok_sign_in/{name}": sign_in},
                  settings=settings, error_views=[ValueError])
    laptop, phone = browser(wsgi), browser(wsgi, PHONE, "192.0.2.9")
    laptop.get("/ok_sign_in/alice")
    phone.get("/visit")

    phone.get("/sign_in/alice", status=500)

    (only,) = alices(collection)
    if cookie_on_exception == "true":
        assert only["device"]["user_agent"] == PHONE
        assert [laptop.get("/whoami").json, phone.get("/whoami").json] == [None, "alice"]
    else:
        assert only["device"]["user_agent"] == FIREFOX
        assert [laptop.get("/whoami").json, phone.get("/whoami").json] == ["alice", None]


# -- (b)(c) x two tabs: a slow request from before ------------------------------


class Slow:
    """A view that loads the session, waits to be released, then counts a
    visit: a request of another tab that was in flight meanwhile."""

    def __init__(self):
        self.loaded, self.release = threading.Event(), threading.Event()

    def __call__(self, request):
        request.session.get("visits")
        self.loaded.set()
        assert self.release.wait(10)
        request.session["visits"] = request.session.get("visits", 0) + 1
        return "late"


def phone_id(collection_or_store):
    (phone,) = [info for info in collection_or_store.sessions_of("alice")
                if info.user_agent == PHONE]
    return phone.hashed_id


def revoke_phone(request):
    """Signs out the session listed as ``?id=``."""
    return get_session_store(request.registry).revoke_one("alice", request.params["id"])


def while_slow(wsgi, cookie, slow, user_agent=PHONE):
    """Start a slow request with ``cookie``; returns a function that
    releases it and gives its response."""
    done = {}

    def run():
        request = Request.blank("/slow", headers={"Cookie": f"session={cookie}",
                                                  "User-Agent": user_agent})
        done["response"] = request.get_response(wsgi)

    thread = threading.Thread(target=run)
    thread.start()
    assert slow.loaded.wait(10)

    def finish():
        slow.release.set()
        thread.join(10)
        return done["response"]

    return finish


@pytest.mark.parametrize("change", ["sign in in place", "sign out"])
def test_a_slow_request_from_before_a_principal_change_does_not_undo_it(collection, change):
    slow = Slow()
    wsgi = app_of(collection, {"/slow": slow, "/in_place/{name}": in_place,
                               "/sign_out": sign_out, "/whoami": whoami, "/visit": visit},
                  settings=RECORDING)
    laptop = browser(wsgi)
    laptop.get("/in_place/alice" if change == "sign out" else "/visit")
    finish = while_slow(wsgi, laptop.cookies["session"], slow)

    laptop.get("/sign_out" if change == "sign out" else "/in_place/alice")
    assert finish().status_int == 200

    stored = collection.find_one()
    assert stored["data"]["visits"] == (2 if change == "sign in in place" else 1)
    if change == "sign out":
        assert "principal" not in stored and "device" not in stored
    else:
        assert stored["principal"] == "alice"
        assert stored["device"]["user_agent"] == FIREFOX


@pytest.mark.parametrize("how", ["the limit", "revoke_one"])
def test_a_slow_request_of_a_signed_out_device_does_not_bring_it_back(collection, how):
    slow = Slow()
    settings = dict(RECORDING)
    if how == "the limit":
        settings["mongosession.max_sessions_per_principal"] = "1"
    wsgi = app_of(collection, {"/slow": slow, "/sign_in/{name}": sign_in,
                               "/revoke_phone": revoke_phone, "/whoami": whoami},
                  settings=settings)
    laptop, phone = browser(wsgi), browser(wsgi, PHONE, "192.0.2.9")
    phone.get("/sign_in/alice")
    if how == "revoke_one":
        laptop.get("/sign_in/alice")
    finish = while_slow(wsgi, phone.cookies["session"], slow)

    if how == "the limit":
        laptop.get("/sign_in/alice")
    else:
        listed = phone_id(get_session_store(wsgi.registry))
        assert laptop.get("/revoke_phone", {"id": listed}).json is True
    response = finish()

    assert session_cookie_headers(response) == []
    (only,) = alices(collection)
    assert only["device"]["user_agent"] == FIREFOX
    assert phone.get("/whoami").json is None


# -- (c) revoke_one x pyramid_retry / pyramid_tm ---------------------------------


@pytest.mark.parametrize("neighbour", ["pyramid_retry", "pyramid_tm"])
def test_revoke_one_in_an_attempt_that_does_not_count_is_not_undone(
    collection, commands, neighbour
):
    """Like invalidate() and revoke(), revoke_one deletes when it is called:
    the phone stays signed out, and a retried view sees False."""
    ledger = Ledger(commands)
    answers = []

    def sign_out_phone(request):
        if neighbour == "pyramid_tm":
            ledger.join(request)
        answers.append(revoke_phone(request))
        if neighbour == "pyramid_retry" and request.environ["retry.attempt"] == 0:
            raise RetryableException("try again")
        return answers[-1]

    includes = [neighbour, "pyramid_mongosession"]
    wsgi = app_of(collection, {"/sign_in/{name}": sign_in, "/revoke_phone": sign_out_phone,
                               "/whoami": whoami},
                  includes=includes, settings=dict(RECORDING, **{"retry.attempts": "3"}),
                  error_views=[Conflict])
    laptop, phone = browser(wsgi), browser(wsgi, PHONE, "192.0.2.9")
    laptop.get("/sign_in/alice")
    phone.get("/sign_in/alice")
    listed = {"id": phone_id(get_session_store(wsgi.registry))}

    if neighbour == "pyramid_tm":
        ledger.conflicts = 1
        laptop.get("/revoke_phone", listed, status=500)
        assert answers == [True]
    else:
        assert laptop.get("/revoke_phone", listed).json is False
        assert answers == [True, False]

    assert phone.get("/whoami").json is None


# -- (d) x the toolbar's error page beside pyramid_tm / pyramid_retry ------------


TOOLBAR_CASES = {
    "conflict at commit, no retry": ["pyramid_tm"],
    "conflict at commit, retried": ["pyramid_retry", "pyramid_tm"],
    "retryable view error, retried": ["pyramid_retry"],
}


@pytest.mark.parametrize("case", sorted(TOOLBAR_CASES))
def test_an_error_the_toolbar_answers_writes_only_for_an_attempt_that_counts(
    collection, commands, case
):
    ledger = Ledger(commands)
    failures = {"view": 0}

    def count(request):
        if "pyramid_tm" in TOOLBAR_CASES[case]:
            ledger.join(request)
        request.session["count"] = request.session.get("count", 0) + 1
        if failures["view"]:
            failures["view"] -= 1
            raise RetryableException("try again")
        return request.session["count"]

    includes = ["pyramid_debugtoolbar", *TOOLBAR_CASES[case], "pyramid_mongosession"]
    wsgi = app_of(collection, {"/count": count}, includes=includes,
                  settings={"debugtoolbar.hosts": "127.0.0.1", "retry.attempts": "3"})
    app = webtest.TestApp(wsgi, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    assert app.get("/count").json == 1
    if case.startswith("conflict"):
        ledger.conflicts = 1
    else:
        failures["view"] = 1

    if case.endswith("no retry"):
        response = app.get("/count", status=500)  # the toolbar's page
        assert session_cookie_headers(response) == []
        assert collection.find_one()["data"] == {"count": 1}
        assert app.get("/count").json == 2
    else:
        assert app.get("/count").json == 2
        assert collection.find_one()["data"] == {"count": 2}


# -- (a) x an error answered with cookie_on_exception (the default) --------------


@pytest.mark.parametrize("answered_by", ["exception view", "toolbar"])
def test_an_import_in_a_failed_request_that_is_answered_is_stored_once(
    collection, answered_by
):
    def fails(request):
        request.session["cart"]
        raise ValueError("the view failed")

    toolbar = answered_by == "toolbar"
    browser_ = moved(old_browser(), new_app(
        collection, fails, includes=["pyramid_debugtoolbar"] if toolbar else (),
        settings={"debugtoolbar.hosts": "127.0.0.1"}, error_view=not toolbar))
    browser_.extra_environ = {"REMOTE_ADDR": "127.0.0.1"}

    browser_.get("/view", status=500)

    assert [d["data"] for d in collection.find()] == [{"cart": {"teapot": 1}}]
    assert OLD_COOKIE not in browser_.cookies and "session" in browser_.cookies
    assert browser_.get("/cart").json == {"teapot": 1}
    assert collection.count_documents({}) == 1


# -- (b)(c) x gunicorn --preload, two workers ------------------------------------


def make_limited_app():
    """For gunicorn: tests.server_app's views, with a limit and recording."""
    return server_app.app_from_settings({
        "mongosession.url": os.environ["SERVER_APP_URL"],
        "mongosession.collection": os.environ["SERVER_APP_COLLECTION"],
        "mongosession.max_sessions_per_principal": "3",
        "mongosession.record_client_address": "true",
    })


def test_gunicorn_preload_sign_ins_in_two_workers_leave_the_limit_with_devices(
    launch, mongodb_uri, collection  # noqa: F811
):
    process, port, output = launch(
        [os.path.join(BIN, "gunicorn"), "--preload", "-w", "2", "-k", "sync",
         "-b", "127.0.0.1:0", "--graceful-timeout", "10", "--no-control-socket",
         f"{__name__}:make_limited_app()"],
        r"Listening at: http://127\.0\.0\.1:(\d+)",
        PYTHONWARNINGS="always",
        SERVER_APP_URL=url_of(mongodb_uri, collection),
        SERVER_APP_COLLECTION=collection.name,
    )
    browsers = [{} for _ in range(8)]
    for cookies in browsers:
        get(port, "/count", cookies)

    concurrently(lambda number: get(port, "/sign_in/alice", browsers[number]))
    signed_in = [get(port, "/whoami", cookies)["principal"] for cookies in browsers]
    stop(process)

    assert signed_in.count("alice") == 3 and signed_in.count(None) == 5
    assert [d["device"] for d in alices(collection)] == [{"address": "127.0.0.1"}] * 3
    assert collection.count_documents({}) == 3  # the five signed out were deleted
    assert len(booted_workers(output())) == 2
    assert FORK_WARNING not in output() and "Traceback" not in output()
