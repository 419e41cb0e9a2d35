"""A bound on what one session may hold (contract §7): mongosession.max_size,
256 KiB by default.  A write over it fails with SessionTooLargeError and
loses nothing already stored."""
import json

from .support import app_with_include

DEFAULT = 256 * 1024


def post(app, values, **kwargs):
    return app.post("/set_json", json.dumps(values), content_type="application/json", **kwargs)


def test_an_anonymous_request_cannot_store_more_than_the_default_limit(collection, commands):
    app = app_with_include(collection)

    response = post(app, {"blob": "x" * DEFAULT}, status=503)

    assert response.json == "session storage unavailable"
    assert "Set-Cookie" not in response.headers
    assert commands.names == []
    assert collection.count_documents({}) == 0


def test_a_session_just_under_the_limit_is_stored(collection):
    app = app_with_include(collection)

    post(app, {"blob": "x" * (DEFAULT - 200)})

    assert len(collection.find_one()["data"]["blob"]) == DEFAULT - 200


def test_a_session_growing_past_the_limit_keeps_what_it_had(collection, commands):
    app = app_with_include(collection)
    post(app, {"a": "kept", "blob": "x" * (DEFAULT // 2)})
    commands.clear()

    post(app, {"more": "y" * (DEFAULT // 2)}, status=503)

    assert commands.names == ["find"]  # no write was sent
    assert set(collection.find_one()["data"]) == {"a", "blob"}
    assert app.get("/get/a").json == "kept"
    app.get("/delete/blob")
    post(app, {"more": "y" * (DEFAULT // 2)})  # room again
    assert set(collection.find_one()["data"]) == {"a", "more"}


def test_the_limit_is_a_setting(collection):
    app = app_with_include(collection, {"mongosession.max_size": "4096"})

    post(app, {"blob": "x" * 3000})
    post(app, {"more": "x" * 1200}, status=503)

    assert set(collection.find_one()["data"]) == {"blob"}




def test_escaped_characters_of_a_key_count_toward_the_limit(collection):
    # Stored as "%2E" each: 990 bytes of key, where the key itself is 330.
    app = app_with_include(collection, {"mongosession.max_size": "1024"})
    post(app, {"x": 1})

    post(app, {"." * 330: 1}, status=503)

    assert set(collection.find_one()["data"]) == {"x"}
