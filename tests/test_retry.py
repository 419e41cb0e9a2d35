"""Next to pyramid_retry (contract §9): an attempt that is retried leaves
nothing behind; only the attempt whose response is sent counts."""
import pytest
import webtest
from pyramid.config import Configurator
from pyramid.response import Response
from pyramid_retry import RetryableException, mark_error_retryable

from .support import include_settings, session_cookie_headers


class MarkedError(Exception):
    """Made retryable by ``mark_error_retryable``, as applications do."""


mark_error_retryable(MarkedError)

ERRORS = {"RetryableException": RetryableException, "mark_error_retryable": MarkedError}


def retried_app(collection, error, error_view):
    """Views that fail retryably; ``?until=N`` fails attempts before N
    (attempts count from 0), without it every attempt fails."""

    def failing(request):
        until, attempt = request.params.get("until"), request.environ["retry.attempt"]
        if until is None or attempt < int(until):
            raise error(f"attempt {attempt} failed")

    def count(request):
        request.session["count"] = request.session.get("count", 0) + 1
        failing(request)
        return request.session["count"]

    def every_attempt(request):
        request.session["attempt%d" % request.environ["retry.attempt"]] = "written"
        failing(request)

    def sign_in(request):
        request.session.regenerate_id()
        request.session["user"] = "alice"
        failing(request)
        return "signed in"

    def add_to_cart(request):
        request.session["cart"] = ["tea"]
        return "added"

    config = Configurator(settings=include_settings(collection, {"retry.attempts": "3"}))
    config.include("pyramid_retry")
    config.include("pyramid_mongosession")
    for name, view in [("count", count), ("every_attempt", every_attempt),
                       ("sign_in", sign_in), ("add_to_cart", add_to_cart)]:
        config.add_route(name, "/" + name)
        config.add_view(view, route_name=name, renderer="json")
    if error_view:
        config.add_exception_view(
            lambda exc, request: Response("sorry", status=500), context=Exception
        )
    return webtest.TestApp(config.make_wsgi_app())


@pytest.fixture(params=["with an error view", "without an error view"])
def error_view(request):
    return request.param == "with an error view"


@pytest.fixture(params=sorted(ERRORS))
def error(request):
    return ERRORS[request.param]


def test_a_new_visitor_retried_once_gets_one_document_and_one_cookie(
    collection, commands, error, error_view
):
    app = retried_app(collection, error, error_view)

    response = app.get("/count?until=1")

    assert response.json == 1
    assert len(session_cookie_headers(response)) == 1
    assert commands.names == ["insert"]  # the failed attempt wrote nothing
    assert [doc["data"] for doc in collection.find()] == [{"count": 1}]


def test_a_counter_that_fails_once_goes_up_by_exactly_one(
    collection, commands, error, error_view
):
    app = retried_app(collection, error, error_view)
    app.get("/count?until=0")
    commands.clear()

    response = app.get("/count?until=2")

    assert response.json == 2
    assert session_cookie_headers(response) == []
    assert commands.names == ["find", "find", "find", "update"]
    assert collection.find_one()["data"] == {"count": 2}


def test_a_request_failing_every_attempt_stores_at_most_the_last_attempt(
    collection, error, error_view
):
    app = retried_app(collection, error, error_view)
    app.get("/count?until=0")

    if error_view:
        assert app.get("/every_attempt", status=500).text == "sorry"
    else:
        with pytest.raises(error):
            app.get("/every_attempt")

    stored = collection.find_one()["data"]
    # The last attempt is an ordinary failed request: cookie_on_exception
    # stores its change when an error view answered it.
    assert set(stored) - {"count"} == ({"attempt2"} if error_view else set())
    assert stored["count"] == 1


def test_a_retried_sign_in_keeps_the_cart(collection, error, error_view):
    app = retried_app(collection, error, error_view)
    app.get("/add_to_cart")

    assert app.get("/sign_in?until=1").json == "signed in"

    (document,) = collection.find()
    assert document["data"] == {"cart": ["tea"], "user": "alice"}


def test_a_new_visitor_whose_every_attempt_fails_without_a_view_gets_no_document(
    collection, error
):
    app = retried_app(collection, error, error_view=False)

    with pytest.raises(error):
        app.get("/count")

    assert collection.count_documents({}) == 0
