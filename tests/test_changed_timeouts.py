"""Timeouts apply to sessions already stored (contract §5): a change of
``timeout`` or ``absolute_timeout`` ends a stored session at its next load
when the new rule says it is over, whatever ``expires`` it was stored with."""
import datetime

import webtest

from pyramid_mongosession import get_session_store

from .support import Clock, app_with_factory

DAY = 24 * 3600


def same_browser(app, other_app):
    """``other_app`` (the application restarted with other settings) with
    the cookies ``app``'s browser holds."""
    browser = webtest.TestApp(other_app.app)
    for name, value in app.cookies.items():
        browser.set_cookie(name, value)
    return browser


def test_an_absolute_timeout_set_later_ends_an_old_session(collection):
    clock = Clock()
    clock.advance(-20 * DAY)
    before = app_with_factory(collection, clock=clock, timeout=30 * DAY)
    before.get("/set/a/1")
    clock.advance(20 * DAY - 60)
    assert before.get("/get/a").json == "1"  # renewed a minute ago: expires in 30 days

    clock.advance(60)
    after = same_browser(before, app_with_factory(
        collection, clock=clock, timeout=30 * DAY, absolute_timeout=3600))

    assert after.get("/get/a").json is None


def test_a_lowered_timeout_ends_a_session_idle_longer_than_it(collection):
    clock = Clock()
    before = app_with_factory(collection, clock=clock, timeout=30 * DAY)
    before.get("/set/a/1")
    clock.advance(2 * 3600)  # idle for two hours; expires still 30 days ahead

    after = same_browser(before, app_with_factory(collection, clock=clock, timeout=3600))

    assert after.get("/get/a").json is None


def test_a_lowered_timeout_keeps_a_session_active_within_it(collection):
    clock = Clock()
    before = app_with_factory(collection, clock=clock, timeout=30 * DAY)
    before.get("/set/a/1")
    clock.advance(30 * 60)
    after = same_browser(before, app_with_factory(collection, clock=clock, timeout=3600))

    assert after.get("/get/a").json == "1"
    # Renewed under the new rule: expires moves in to an hour from now.
    document = collection.find_one()
    assert document["expires"] == clock.now.replace(
        microsecond=clock.now.microsecond // 1000 * 1000) + datetime.timedelta(seconds=3600)
    clock.advance(3601)
    assert after.get("/get/a").json is None


def test_a_raised_timeout_lengthens_a_session_at_its_next_renewal(collection):
    clock = Clock()
    before = app_with_factory(collection, clock=clock, timeout=600)
    before.get("/set/a/1")
    clock.advance(500)
    after = same_browser(before, app_with_factory(collection, clock=clock, timeout=3600))

    assert after.get("/get/a").json == "1"
    clock.advance(3000)  # past the old rule's end, within the new one
    assert after.get("/get/a").json == "1"


def test_the_last_renewal_is_stored_and_listed(collection):
    clock = Clock()
    app = app_with_factory(collection, clock=clock, timeout=600)
    app.get("/set/a/1")
    created = collection.find_one()["created"]
    assert collection.find_one()["renewed"] == created
    clock.advance(300)
    app.get("/get/a")  # renewal due after a tenth of the timeout

    renewed = collection.find_one()["renewed"]
    assert (renewed - created).total_seconds() == 300


def test_a_document_stored_before_renewed_was_kept_is_capped_at_its_next_load(collection):
    """Documents of earlier versions carry no ``renewed``: their last use is
    unknown, so their next load gives them at most one timeout from then."""
    clock = Clock()
    app = app_with_factory(collection, clock=clock, timeout=3600)
    app.get("/set/a/1")
    far = clock.now + datetime.timedelta(days=30)
    collection.update_one({}, {"$unset": {"renewed": ""}, "$set": {"expires": far}})

    assert app.get("/get/a").json == "1"

    document = collection.find_one()
    assert document["expires"] < far
    assert "renewed" in document
    clock.advance(3601)
    assert app.get("/get/a").json is None


def test_sessions_of_leaves_out_sessions_a_changed_timeout_ended(collection):
    clock = Clock()
    before = app_with_factory(collection, clock=clock, timeout=30 * DAY)
    before.get("/set/a/1")
    collection.update_many({}, {"$set": {"principal": "alice"}})
    clock.advance(2 * 3600)

    after = app_with_factory(collection, clock=clock, timeout=3600)

    assert get_session_store(after.app.registry).sessions_of("alice") == []
    assert len(get_session_store(before.app.registry).sessions_of("alice")) == 1
