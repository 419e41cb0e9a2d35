"""When the session talks to MongoDB: contract §5, counted with pymongo's
command monitoring."""
import threading

import webtest
from pyramid.config import Configurator

from pyramid_mongosession import MongoSessionFactory

from .support import SECRET, app_running, app_with_factory, app_with_include


def test_untouched_request_sends_no_command(collection, commands):
    app = app_with_factory(collection)
    response = app.get("/untouched")
    assert commands.names == []
    assert "Set-Cookie" not in response.headers


def test_untouched_request_with_a_cookie_sends_no_command(collection, commands):
    app = app_with_factory(collection)
    app.get("/set/a/1")
    commands.clear()
    app.get("/untouched")
    assert commands.names == []


def test_new_session_never_written_to_sets_no_cookie_and_writes_nothing(
    collection, commands
):
    app = app_with_factory(collection)
    response = app.get("/get/a")
    assert response.json is None
    assert commands.names == []  # no cookie: nothing to look up
    assert "Set-Cookie" not in response.headers
    assert collection.count_documents({}) == 0


def test_new_visitors_first_write_is_one_insert(collection, commands):
    app = app_with_factory(collection)
    response = app.get("/set/a/1")
    assert commands.names == ["insert"]
    assert "session" in response.headers["Set-Cookie"]


def test_read_within_reissue_time_is_one_find_and_no_write(collection, commands):
    app = app_with_factory(collection)
    app.get("/set/a/1")
    commands.clear()
    response = app.get("/get/a")
    assert response.json == "1"
    assert commands.names == ["find"]
    assert "Set-Cookie" not in response.headers


def test_find_is_by_id_alone(collection, commands):
    app = app_with_factory(collection)
    app.get("/set/a/1")
    commands.clear()
    app.get("/get/a")
    (find,) = commands.documents("find")
    assert find["filter"] == {"_id": collection.find_one()["_id"]}


def test_write_is_one_find_and_one_field_level_update(collection, commands):
    app = app_with_factory(collection)
    app.get("/set/a/1")
    app.get("/set/b/2")
    commands.clear()
    app.get("/set/a/changed")
    assert commands.names == ["find", "update"]
    (update,) = commands.documents("update")
    (statement,) = update["updates"]
    assert statement["u"] == {"$set": {"data.a": "changed"}}
    assert not statement.get("upsert", False)


def test_deleting_a_key_is_an_unset_of_that_field(collection, commands):
    app = app_with_factory(collection)
    app.get("/set/a/1")
    app.get("/set/b/2")
    commands.clear()
    app.get("/delete/a")
    (update,) = commands.documents("update")
    assert update["updates"][0]["u"] == {"$unset": {"data.a": ""}}
    assert collection.find_one()["data"] == {"b": "2"}


def test_nested_mutation_is_persisted_without_changed(collection, commands):
    app = app_with_factory(collection)
    app.post_json("/set_json", {"cart": ["apple"], "other": {"x": 1}})
    commands.clear()
    response = app.get("/append/cart/pear")
    assert response.json == ["apple", "pear"]
    (update,) = commands.documents("update")
    assert update["updates"][0]["u"] == {"$set": {"data.cart": ["apple", "pear"]}}
    assert app.get("/get/cart").json == ["apple", "pear"]


def test_reading_a_mutable_value_without_changing_it_writes_nothing(collection, commands):
    app = app_with_factory(collection)
    app.post_json("/set_json", {"cart": ["apple"], "profile": {"name": "ann"}})
    commands.clear()
    assert app.get("/dump").json == {"cart": ["apple"], "profile": {"name": "ann"}}
    assert commands.names == ["find"]


def test_changed_writes_the_values_handed_out(collection, commands):
    collection_factory = MongoSessionFactory(collection, secret=SECRET)
    config = Configurator(session_factory=collection_factory)

    def touch(request):
        request.session["a"]
        request.session.changed()
        return request.response

    def seed(request):
        request.session.update(a=1, b=2)
        return request.response

    config.add_route("touch", "/touch")
    config.add_view(touch, route_name="touch")
    config.add_route("seed", "/seed")
    config.add_view(seed, route_name="seed")
    app = webtest.TestApp(config.make_wsgi_app())
    app.get("/seed")
    commands.clear()
    app.get("/touch")
    (update,) = commands.documents("update")
    assert update["updates"][0]["u"] == {"$set": {"data.a": 1}}


def test_same_with_include_untouched_read_write(collection, commands):
    app = app_with_include(collection)
    commands.clear()
    app.get("/untouched")
    assert commands.names == []
    app.get("/set/a/1")
    assert commands.names == ["insert"]
    commands.clear()
    app.get("/get/a")
    assert commands.names == ["find"]
    commands.clear()
    app.get("/set/a/2")
    assert commands.names == ["find", "update"]


def test_concurrent_requests_changing_different_keys_keep_both(collection):
    """Both requests load before either writes; field-level writes keep both."""
    both_loaded = threading.Barrier(2, timeout=10)
    factory = MongoSessionFactory(collection, secret=SECRET)
    config = Configurator(session_factory=factory)

    def seed(request):
        request.session["seed"] = True
        return request.response

    def set_after_both_loaded(request):
        key = request.matchdict["key"]
        request.session.get(key)  # loads the session
        both_loaded.wait()
        request.session[key] = key.upper()
        return request.response

    config.add_route("seed", "/seed")
    config.add_view(seed, route_name="seed")
    config.add_route("set", "/race/{key}")
    config.add_view(set_after_both_loaded, route_name="set")
    app = webtest.TestApp(config.make_wsgi_app())
    app.get("/seed")
    cookie = app.cookies["session"]

    def request(key):
        webtest.TestApp(app.app).get(f"/race/{key}", headers={"Cookie": f"session={cookie}"})

    threads = [threading.Thread(target=request, args=(key,)) for key in ("left", "right")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert collection.find_one()["data"] == {"seed": True, "left": "LEFT", "right": "RIGHT"}


def test_a_session_deleted_meanwhile_is_not_brought_back(collection, commands):
    app = app_with_factory(collection)
    app.get("/set/a/1")
    cookie = app.cookies["session"]
    # Another tab signs out: the document goes away between load and write.
    factory = MongoSessionFactory(collection, secret=SECRET)
    config = Configurator(session_factory=factory)

    def slow_write(request):
        request.session.get("a")
        collection.delete_many({})
        request.session["b"] = "late"
        return request.response

    config.add_route("slow", "/slow")
    config.add_view(slow_write, route_name="slow")
    slow = webtest.TestApp(config.make_wsgi_app())
    response = slow.get("/slow", headers={"Cookie": f"session={cookie}"})
    assert collection.count_documents({}) == 0
    assert "Set-Cookie" not in response.headers  # stored nothing: left alone (§5)


def test_changed_after_an_assignment_writes_only_that_key(collection, commands):
    app = app_with_factory(collection)
    app.post_json("/set_json", {"a": 1, "b": 2})

    def assign_then_changed(request):
        request.session["a"] = 10
        request.session.changed()
        return "ok"

    other = app_running(collection, assign_then_changed)
    other.set_cookie("session", app.cookies["session"])
    commands.clear()
    other.get("/")
    (update,) = commands.documents("update")
    assert update["updates"][0]["u"] == {"$set": {"data.a": 10}}
