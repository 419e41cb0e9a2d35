"""Next to pyramid_tm (contract §9): the session is written after the
transaction commits, whatever the include order, and a commit that fails
leaves no session change behind."""
import pytest
import transaction
import webtest
from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPFound
from pyramid.response import Response

from .support import include_settings

INCLUDE_ORDERS = {
    "pyramid_tm first": ["pyramid_tm", "pyramid_mongosession"],
    "pyramid_tm last": ["pyramid_mongosession", "pyramid_tm"],
}


class Conflict(transaction.interfaces.TransientError):
    """What a database reports when two transactions collide."""


class Ledger:
    """A resource of the application's transaction (standing in for its
    SQL database): on commit it notes what the session store had been sent
    so far; it fails the next ``conflicts`` commits."""

    def __init__(self, commands):
        self.commands = commands
        self.conflicts = 0
        self.committed = []  # the session commands sent before each commit

    def join(self, request):
        request.tm.get().join(_LedgerEntry(self))


class _LedgerEntry:
    def __init__(self, ledger):
        self.ledger = ledger
        self.transaction_manager = transaction.manager

    def tpc_vote(self, txn):
        if self.ledger.conflicts:
            self.ledger.conflicts -= 1
            raise Conflict("another transaction changed the same rows")

    def tpc_finish(self, txn):
        self.ledger.committed.append(list(self.ledger.commands.names))

    def abort(self, txn):
        pass

    tpc_begin = commit = tpc_abort = abort

    def sortKey(self):
        return "ledger"


def tm_app(collection, ledger, includes, settings=None, error_view=False):
    def count(request):
        ledger.join(request)
        request.session["count"] = request.session.get("count", 0) + 1
        return request.session["count"]

    def flash_and_redirect(request):
        ledger.join(request)
        request.session.flash("saved")
        raise HTTPFound("/")

    config = Configurator(settings=include_settings(collection, settings))
    for name in includes:
        config.include(name)
    config.add_route("count", "/count")
    config.add_view(count, route_name="count", renderer="json")
    config.add_route("flash", "/flash")
    config.add_view(flash_and_redirect, route_name="flash")
    if error_view:
        config.add_exception_view(
            lambda exc, request: Response("sorry", status=500), context=Conflict
        )
    return webtest.TestApp(config.make_wsgi_app())


@pytest.fixture(params=sorted(INCLUDE_ORDERS))
def includes(request):
    return INCLUDE_ORDERS[request.param]


@pytest.fixture
def ledger(commands):
    return Ledger(commands)


def test_the_session_is_written_after_the_transaction_commits(
    collection, commands, ledger, includes
):
    app = tm_app(collection, ledger, includes)

    assert app.get("/count").json == 1
    assert app.get("/count").json == 2

    # At each commit, the request's own session write had not been sent yet.
    assert ledger.committed == [[], ["insert", "find"]]
    assert commands.names == ["insert", "find", "update"]
    assert collection.find_one()["data"] == {"count": 2}


@pytest.mark.parametrize("error_view", [False, True], ids=["no error view", "error view"])
def test_a_failed_commit_leaves_no_session_change(
    collection, commands, ledger, includes, error_view
):
    app = tm_app(collection, ledger, includes, error_view=error_view)
    app.get("/count")
    ledger.conflicts = 1
    commands.clear()

    if error_view:
        response = app.get("/count", status=500)
        assert "Set-Cookie" not in response.headers
    else:
        with pytest.raises(Conflict):
            app.get("/count")

    assert commands.names == ["find"]
    assert collection.find_one()["data"] == {"count": 1}
    assert app.get("/count").json == 2


def test_a_new_visitor_whose_commit_fails_gets_no_document_and_no_cookie(
    collection, ledger, includes
):
    app = tm_app(collection, ledger, includes, error_view=True)
    ledger.conflicts = 1

    response = app.get("/count", status=500)

    assert "Set-Cookie" not in response.headers
    assert collection.count_documents({}) == 0


def test_a_conflict_retried_by_pyramid_retry_counts_once(
    collection, commands, ledger, includes
):
    app = tm_app(collection, ledger, ["pyramid_retry", *includes], {"retry.attempts": "3"})
    app.get("/count")
    ledger.conflicts = 1
    commands.clear()

    assert app.get("/count").json == 2

    assert commands.names == ["find", "find", "update"]
    assert collection.find_one()["data"] == {"count": 2}


def test_a_flash_before_a_raised_redirect_is_kept_as_with_cookie_sessions(
    collection, ledger, includes
):
    """pyramid_tm aborts when a view raises, even a redirect; that is not a
    failed commit, and ``cookie_on_exception`` keeps the session's change."""
    app = tm_app(collection, ledger, includes)

    app.get("/flash", status=302)

    assert collection.find_one()["data"] == {"_f_": ["saved"]}


def reading_tween_factory(handler, registry):
    """An application tween above pyramid_tm that reads the session (to find
    the signed-in user, say), as the debug toolbar's active Session panel
    does."""

    def tween(request):
        request.session.get("user")
        return handler(request)

    return tween


def cart_app(collection, ledger, includes):
    """Seeds a cart, and adds to it in a transaction, beside a tween above
    pyramid_tm that reads the session first."""
    def seed(request):
        request.session["cart"] = ["tea"]
        return "seeded"

    def add_cake(request):
        ledger.join(request)
        request.session["cart"].append("cake")  # changed in place
        return "added"

    config = Configurator(settings=include_settings(collection))
    for name in includes:
        config.include(name)
    config.add_tween("tests.test_tm.reading_tween_factory", over="pyramid_tm.tm_tween_factory")
    for name, view in [("seed", seed), ("add", add_cake)]:
        config.add_route(name, "/" + name)
        config.add_view(view, route_name=name, renderer="json")
    config.add_exception_view(lambda exc, request: Response("sorry", status=500),
                              context=Conflict)
    return webtest.TestApp(config.make_wsgi_app())


def test_a_session_loaded_before_the_transaction_still_follows_its_commit(
    collection, ledger, includes
):
    app = cart_app(collection, ledger, includes)
    app.get("/seed")
    ledger.conflicts = 1

    app.get("/add", status=500)

    assert collection.find_one()["data"] == {"cart": ["tea"]}
    assert app.get("/add").json == "added"
    assert collection.find_one()["data"] == {"cart": ["tea", "cake"]}


def one_view_app(collection, view, settings=None):
    """pyramid_tm and the package, with ``view`` at ``/``."""
    config = Configurator(settings=include_settings(collection, settings))
    config.include("pyramid_tm")
    config.include("pyramid_mongosession")
    config.add_route("view", "/")
    config.add_view(view, route_name="view", renderer="json")
    return webtest.TestApp(config.make_wsgi_app())


def test_a_view_that_commits_early_with_an_explicit_manager_can_still_use_the_session(
    collection,
):
    def commit_early(request):
        request.tm.commit()
        request.session["x"] = 1  # between transactions
        request.tm.begin()
        return "ok"

    app = one_view_app(collection, commit_early,
                       {"tm.manager_hook": "pyramid_tm.explicit_manager"})

    assert app.get("/").json == "ok"

    assert collection.find_one()["data"] == {"x": 1}


def test_a_view_that_recovers_from_a_failed_commit_keeps_its_later_change(
    collection, ledger
):
    def retry_by_hand(request):
        request.session["step"] = 1
        ledger.join(request)
        ledger.conflicts = 1
        try:
            request.tm.commit()
        except Conflict:
            request.tm.abort()
        request.tm.begin()
        ledger.join(request)
        request.session["step"] = 2
        return "done"

    assert one_view_app(collection, retry_by_hand).get("/").json == "done"

    assert collection.find_one()["data"] == {"step": 2}
