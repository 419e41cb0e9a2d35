"""The session object (contract §3) and what is stored (§4)."""
import datetime
import hashlib

import pytest
import webtest
from pyramid.config import Configurator
from pyramid.csrf import SessionCSRFStoragePolicy
from pyramid.interfaces import ISession
from pyramid.wsgi import wsgiapp
from zope.interface.verify import verifyObject

from pyramid_mongosession import MongoSessionFactory, SessionStoreError, SessionValueError

from .support import SECRET, app_running, app_with_factory, include_settings


def test_session_provides_isession(collection):
    def check(request):
        assert verifyObject(ISession, request.session)
        return "ok"

    app_running(collection, check).get("/")


def test_dict_interface(collection):
    def exercise(request):
        session = request.session
        session["a"] = 1
        session.update({"b": 2}, c=3)
        assert session.setdefault("d", 4) == 4
        assert session.setdefault("d", 5) == 4
        assert "a" in session and "z" not in session
        assert len(session) == 4
        assert sorted(session) == sorted(session.keys()) == ["a", "b", "c", "d"]
        assert sorted(session.values()) == [1, 2, 3, 4]
        assert session.get("z", "default") == "default"
        assert session.pop("a") == 1
        assert session.pop("a", "gone") == "gone"
        with pytest.raises(KeyError):
            session.pop("a")
        with pytest.raises(KeyError):
            session["a"]
        assert session.popitem() == ("d", 4)
        del session["c"]
        assert dict(session.items()) == {"b": 2}
        assert "MongoSession" in repr(session)
        return "ok"

    app = app_running(collection, exercise)
    assert app.get("/").json == "ok"
    assert collection.find_one()["data"] == {"b": 2}


def test_clear_removes_every_key(collection):
    app = app_with_factory(collection)
    app.post_json("/set_json", {"a": 1, "b": 2})

    def clear(request):
        request.session.clear()
        return len(request.session)

    cleared = app_running(collection, clear)
    cleared.get("/", headers={"Cookie": f"session={app.cookies['session']}"})
    assert collection.find_one()["data"] == {}


def test_created_is_epoch_seconds_and_new_is_true_only_at_first(collection):
    seen = []

    def look(request):
        seen.append((request.session.new, request.session.created))
        request.session["x"] = 1
        return "ok"

    viewer = app_running(collection, look)
    viewer.get("/")
    viewer.get("/")
    (new_first, created_first), (new_then, created_then) = seen
    assert (new_first, new_then) == (True, False)
    assert created_first == created_then
    assert isinstance(created_first, int)
    assert abs(created_first - datetime.datetime.now().timestamp()) < 60


def test_stored_document_holds_the_hash_of_the_id_never_the_id(collection):
    def remember_id(request):
        request.session["a"] = 1
        return request.session.id

    session_id = app_running(collection, remember_id).get("/").json
    assert len(session_id) >= 43  # 256 bits, URL-safe base64
    document = collection.find_one()
    assert document["_id"] == hashlib.sha256(session_id.encode()).digest()  # BSON binary, 32 bytes
    assert session_id not in repr(document)
    assert set(document) == {"_id", "data", "created", "expires", "renewed"}
    assert document["expires"] - document["created"] == datetime.timedelta(seconds=1200)


def test_values_are_stored_as_native_bson(collection):
    app = app_with_factory(collection)
    app.post_json("/set_json", {"n": 1, "f": 1.5, "l": [1, "two"], "d": {"k": None}})
    assert collection.find_one()["data"] == {
        "n": 1, "f": 1.5, "l": [1, "two"], "d": {"k": None}
    }


@pytest.mark.parametrize(
    "key", [".", "a.b", "$where", "a$", "%", "%2E", "", "\x00", "data", "é.ü", "$set.x"]
)
def test_keys_mongodb_treats_specially_round_trip(collection, key):
    app = app_with_factory(collection)
    app.post_json("/set_json", {key: "value", "other": "kept"})
    assert app.get("/dump").json == {key: "value", "other": "kept"}
    app.post_json("/set_json", {key: "changed"})
    assert app.get("/dump").json == {key: "changed", "other": "kept"}
    document = collection.find_one()
    assert set(document) == {"_id", "data", "created", "expires", "renewed"}
    assert len(document["data"]) == 2


def test_non_str_key_fails_at_assignment_naming_it(collection):
    def assign(request):
        with pytest.raises(TypeError, match=r"session keys must be str, not int: 5"):
            request.session[5] = "x"
        return "ok"

    app_running(collection, assign).get("/")


def test_unstorable_value_fails_at_assignment_naming_the_key(collection):
    def assign(request):
        with pytest.raises(TypeError, match=r"session key 'tags': the value cannot be stored"):
            request.session["tags"] = {"a", "b"}
        with pytest.raises(TypeError, match=r"session key 'big'"):
            request.session["big"] = 2**70
        with pytest.raises(TypeError, match=r"session key 'obj'"):
            request.session.update(obj=object())
        request.session["fine"] = "yes"
        return sorted(request.session)

    assert app_running(collection, assign).get("/").json == ["fine"]
    assert collection.find_one()["data"] == {"fine": "yes"}


def test_unstorable_nested_mutation_fails_at_write_naming_the_key(collection):
    app = app_with_factory(collection)
    app.post_json("/set_json", {"cart": []})

    def mutate(request):
        request.session["cart"].append({1, 2})
        return "ok"

    mutating = app_running(collection, mutate)
    with pytest.raises(SessionValueError, match=r"session key 'cart'"):
        mutating.get("/", headers={"Cookie": f"session={app.cookies['session']}"})
    assert collection.find_one()["data"] == {"cart": []}


def test_flash_queues(collection):
    def flash(request):
        session = request.session
        session.flash("one")
        session.flash("one", allow_duplicate=False)
        session.flash("two")
        session.flash("error", queue="errors")
        return session.peek_flash()

    app = app_running(collection, flash)
    assert app.get("/").json == ["one", "two"]
    cookie = app.cookies["session"]
    document = collection.find_one()
    assert document["data"] == {"_f_": ["one", "two"], "_f_errors": ["error"]}

    def pop(request):
        return [request.session.pop_flash(), request.session.pop_flash("errors"),
                request.session.pop_flash("empty")]

    popper = app_running(collection, pop)
    assert popper.get("/", headers={"Cookie": f"session={cookie}"}).json == [
        ["one", "two"], ["error"], []
    ]
    assert collection.find_one()["data"] == {}


def test_flash_rejects_an_unstorable_message_and_keeps_the_queue(collection):
    def flash(request):
        request.session.flash("kept")
        with pytest.raises(TypeError, match="session key '_f_'"):
            request.session.flash(object())
        return request.session.peek_flash()

    assert app_running(collection, flash).get("/").json == ["kept"]


def test_csrf_token_methods(collection):
    def tokens(request):
        first = request.session.get_csrf_token()
        assert request.session.get_csrf_token() == first
        assert request.session["_csrft_"] == first
        second = request.session.new_csrf_token()
        assert second != first
        return second

    token = app_running(collection, tokens).get("/").json
    assert collection.find_one()["data"] == {"_csrft_": token}


def test_default_csrf_policy_accepts_the_token_and_refuses_a_missing_one(collection):
    app = app_with_factory(collection)
    token = app.get("/csrf").json
    assert app.post("/protected", {"csrf_token": token}).json == "accepted"
    app.post("/protected", {"csrf_token": "forged"}, status=400)
    app.post("/protected", status=400)


def test_session_csrf_storage_policy_works_against_it(collection):
    factory = MongoSessionFactory(collection, secret=SECRET)
    config = Configurator(session_factory=factory)
    config.set_csrf_storage_policy(SessionCSRFStoragePolicy())
    config.add_route("token", "/token")
    config.add_view(
        lambda request: request.session.get_csrf_token(), route_name="token", renderer="json"
    )
    config.add_route("protected", "/protected")
    config.add_view(lambda request: "accepted", route_name="protected", renderer="json",
                    require_csrf=True)
    app = webtest.TestApp(config.make_wsgi_app())
    token = app.get("/token").json
    assert app.post("/protected", {"csrf_token": token}).json == "accepted"
    app.post("/protected", {"csrf_token": "wrong"}, status=400)


def test_invalidate_deletes_the_document_and_the_cookie(collection, commands):
    app = app_with_factory(collection)
    app.get("/set/a/1")
    commands.clear()
    response = app.get("/invalidate")
    assert commands.names == ["find", "delete"]
    assert collection.count_documents({}) == 0
    assert "Max-Age=0" in response.headers["Set-Cookie"]
    assert "Cookie" in response.headers["Vary"]
    assert app.get("/get/a").json is None


def test_data_stored_after_invalidate_gets_a_new_id(collection):
    app = app_with_factory(collection)
    app.get("/set/a/1")
    old_cookie = app.cookies["session"]
    response = app.get("/invalidate", {"b": "2"})
    assert app.cookies["session"] != old_cookie
    assert "Max-Age=0" not in response.headers["Set-Cookie"]
    assert [d["data"] for d in collection.find()] == [{"b": "2"}]
    assert app.get("/dump").json == {"b": "2"}


def test_regenerate_id_moves_the_data_and_deletes_the_old_document(collection, commands):
    app = app_with_factory(collection)
    app.post_json("/set_json", {"cart": ["apple"]})
    old_cookie = app.cookies["session"]
    old_document = collection.find_one()
    commands.clear()
    app.get("/regenerate")
    assert commands.names == ["find", "insert", "delete"]
    assert app.cookies["session"] != old_cookie
    (document,) = collection.find()
    assert document["_id"] != old_document["_id"]
    assert document["data"] == {"cart": ["apple"]}
    assert document["created"] == old_document["created"]
    assert app.get("/dump").json == {"cart": ["apple"]}
    old_browser = webtest.TestApp(app.app)
    assert old_browser.get("/dump", headers={"Cookie": f"session={old_cookie}"}).json == {}


def test_regenerate_id_of_a_new_session_just_uses_a_new_id(collection):
    def regenerate(request):
        first = request.session.id
        request.session.regenerate_id()
        request.session["a"] = 1
        return [first, request.session.id]

    first, second = app_running(collection, regenerate).get("/").json
    assert first != second
    assert collection.find_one()["_id"] == hashlib.sha256(second.encode()).digest()


def test_regenerate_after_the_session_was_revoked_does_not_bring_it_back(collection):
    app = app_with_factory(collection)
    app.get("/set/a/1")

    def regenerate(request):
        request.session.get("a")
        collection.delete_many({})  # revoked by another request
        request.session.regenerate_id()
        return "ok"

    response = app_running(collection, regenerate).get(
        "/", headers={"Cookie": f"session={app.cookies['session']}"}
    )
    assert collection.count_documents({}) == 0
    assert "Set-Cookie" not in response.headers  # stores nothing, so leaves it


def test_adjust_timeout_is_persisted_and_makes_the_cookie_last_as_long(collection):
    app = app_with_factory(collection)
    app.get("/set/a/1")
    response = app.get("/adjust/86400")
    document = collection.find_one()
    assert document["timeout"] == 86400
    assert document["expires"] - datetime.datetime.now(datetime.timezone.utc) > (
        datetime.timedelta(seconds=86000)
    )
    assert "Max-Age=86400" in response.headers["Set-Cookie"]
    assert app.get("/get/a").json == "1"


@pytest.mark.parametrize("bad", [0, -5, 1.5, "60", True, None, 31557600001, 10**13])
def test_adjust_timeout_rejects_what_is_not_whole_seconds(collection, bad):
    def adjust(request):
        with pytest.raises(ValueError, match="whole number of seconds"):
            request.session.adjust_timeout(bad)
        return "ok"

    app_running(collection, adjust).get("/")


def test_regenerate_whose_insert_fails_keeps_the_old_session(collection, fail_command):
    app = app_with_factory(collection)
    app.get("/set/a/1")
    fail_command(["insert"], errorCode=1)
    with pytest.raises(SessionStoreError):
        app.get("/regenerate")
    assert app.get("/get/a").json == "1"


def test_changing_the_session_after_it_was_written_is_refused(collection):
    config = Configurator(settings=include_settings(collection))
    config.include("pyramid_mongosession")

    def view(request):
        request.session["a"] = 1
        request.add_response_callback(lambda req, resp: req.session.__setitem__("late", 2))
        return request.response

    config.add_route("v", "/")
    config.add_view(view, route_name="v")
    app = webtest.TestApp(config.make_wsgi_app())
    with pytest.raises(RuntimeError, match="already saved for this response"):
        app.get("/")
    assert collection.find_one()["data"] == {"a": 1}


def app_using_the_session_late(collection, where):
    """With ``config.include``: the view leaves the session alone, and it is
    first used ``where``: in a response callback the view adds, or in a
    tween over the package's write-back tween, after the response."""
    config = Configurator(settings=include_settings(collection))
    config.include("pyramid_mongosession")

    def view(request):
        if where == "callback":
            request.add_response_callback(
                lambda request, response: request.session.__setitem__("late", where)
            )
        return request.response

    config.add_route("v", "/")
    config.add_view(view, route_name="v")
    config.registry.using_the_session_late = where
    config.add_tween(
        f"{__name__}.late_tween_factory",
        over="pyramid_mongosession.tweens.write_back_tween_factory",
    )
    return webtest.TestApp(config.make_wsgi_app())


def late_tween_factory(handler, registry):
    def late_tween(request):
        response = handler(request)
        if registry.using_the_session_late == "tween":
            request.session["late"] = "tween"
        return response

    return late_tween


@pytest.mark.parametrize("where", ["callback", "tween"])
def test_a_session_first_used_after_the_write_back_tween_is_still_stored(
    collection, commands, where
):
    app = app_using_the_session_late(collection, where)

    response = app.get("/")

    assert commands.names == ["insert"]
    assert collection.find_one()["data"] == {"late": where}
    assert response.headers["Set-Cookie"].startswith("session=")



def setting_a_key(request):
    request.session["k"] = "v"
    return request.response


def test_a_session_of_a_second_factory_is_stored_beside_the_tween(collection):
    admin = MongoSessionFactory(collection, secret=SECRET, cookie_name="admin")

    def view(request):
        request.admin_session["k"] = "v"
        return request.response

    config = Configurator(settings=include_settings(collection))
    config.include("pyramid_mongosession")
    config.add_request_method(admin, "admin_session", reify=True)
    config.add_route("v", "/")
    config.add_view(view, route_name="v")

    webtest.TestApp(config.make_wsgi_app()).get("/")

    assert collection.count_documents({}) == 1


def test_an_app_mounted_inside_one_with_the_tween_stores_its_session(collection):
    inner = Configurator(session_factory=MongoSessionFactory(collection, secret=SECRET))
    inner.add_route("v", "/")
    inner.add_view(setting_a_key, route_name="v")
    outer = Configurator(settings=include_settings(collection))
    outer.include("pyramid_mongosession")
    outer.add_route("v", "/")
    outer.add_view(wsgiapp(inner.make_wsgi_app()), route_name="v")

    webtest.TestApp(outer.make_wsgi_app()).get("/")

    assert collection.count_documents({}) == 1


def test_a_subrequest_without_tweens_on_a_copied_request_stores_its_session(collection):
    def outer(request):
        sub = request.copy()
        sub.path_info = "/sub"
        request.invoke_subrequest(sub, use_tweens=False)
        return request.response

    config = Configurator(settings=include_settings(collection))
    config.include("pyramid_mongosession")
    config.add_route("outer", "/")
    config.add_route("sub", "/sub")
    config.add_view(outer, route_name="outer")
    config.add_view(setting_a_key, route_name="sub")

    webtest.TestApp(config.make_wsgi_app()).get("/")

    assert collection.count_documents({}) == 1
