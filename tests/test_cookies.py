"""The signed session-id cookie: contract §2 cookie_* and secret, §5, §7."""
import base64

import pytest
from webob.cookies import SignedSerializer

from pyramid_mongosession.cookie import SALT

from .support import SECRET, app_with_factory, app_with_include

OTHER_SECRET = "an older secret, still accepted during rotation"


def signed(value, secret=SECRET):
    class Raw:
        dumps = staticmethod(lambda text: text.encode())
        loads = staticmethod(lambda raw: raw.decode())

    return SignedSerializer(secret, SALT, serializer=Raw()).dumps(value).decode()


@pytest.mark.parametrize(
    "cookie",
    [
        "garbage",
        "",
        "x" * 5000,
        base64.urlsafe_b64encode(b"\x00" * 64 + b"A" * 43).decode(),
        "not-base64!!!",
    ],
)
def test_forged_cookie_gives_new_session_without_query(collection, commands, cookie):
    app = app_with_factory(collection)
    response = app.get("/get/a", headers={"Cookie": f"session={cookie}"})
    assert response.status_int == 200
    assert response.json is None
    assert commands.names == []


def test_non_ascii_cookie_gives_new_session_without_query(collection, commands):
    app = app_with_factory(collection)
    environ = {"HTTP_COOKIE": "session=caf\xe9"}
    assert app.get("/get/a", extra_environ=environ).json is None
    assert commands.names == []


def test_well_signed_value_that_is_not_a_session_id_is_refused(collection, commands):
    app = app_with_factory(collection)
    forged = signed("../../etc/passwd")
    assert app.get("/get/a", headers={"Cookie": f"session={forged}"}).json is None
    assert commands.names == []


def test_forged_cookie_is_left_alone_when_the_session_is_used(collection):
    """It may be another site's cookie of the same name (contract §5)."""
    app = app_with_factory(collection)
    response = app.get("/get/a", headers={"Cookie": "session=garbage"})
    assert "Set-Cookie" not in response.headers


def test_forged_cookie_then_a_write_starts_a_new_signed_session(collection):
    app = app_with_factory(collection)
    app.set_cookie("session", "garbage")
    app.get("/set/a/1")
    assert app.cookies["session"] != "garbage"
    assert app.get("/get/a").json == "1"


def test_cookie_of_an_expired_or_unknown_session_gives_new_session(collection, commands):
    app = app_with_factory(collection)
    app.get("/set/a/1")
    collection.delete_many({})
    commands.clear()
    response = app.get("/get/a")
    assert response.json is None
    assert commands.names == ["find"]
    assert "Set-Cookie" not in response.headers  # a newer one may have replaced it


def test_cookie_flags_default(collection):
    response = app_with_factory(collection).get("/set/a/1")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("session=")
    assert "; HttpOnly" in cookie
    assert "; SameSite=Lax" in cookie
    assert "; Path=/" in cookie
    assert "Secure" not in cookie
    assert "Max-Age" not in cookie and "expires" not in cookie.lower()
    assert response.headers["Vary"] == "Cookie"


def test_cookie_flags_configured(collection):
    app = app_with_factory(
        collection,
        cookie_name="sid",
        cookie_path="/app",
        cookie_domain="example.com",
        cookie_secure=True,
        cookie_httponly=False,
        cookie_samesite="Strict",
        cookie_max_age=3600,
    )
    response = app.get("/set/a/1", extra_environ={"HTTP_HOST": "example.com"})
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("sid=")
    for part in ("Path=/app", "Domain=example.com", "secure", "SameSite=Strict",
                 "Max-Age=3600"):
        assert part.lower() in cookie.lower()
    assert "HttpOnly" not in cookie


def test_vary_keeps_what_the_view_set(collection):
    import webtest
    from pyramid.config import Configurator

    from pyramid_mongosession import MongoSessionFactory

    def view(request):
        request.session["a"] = 1
        request.response.vary = ("Accept-Encoding",)
        return request.response

    config = Configurator(session_factory=MongoSessionFactory(collection, secret=SECRET))
    config.add_route("v", "/")
    config.add_view(view, route_name="v")
    response = webtest.TestApp(config.make_wsgi_app()).get("/")
    assert response.headers["Vary"] == "Accept-Encoding, Cookie"


def test_secret_rotation_verifies_old_cookies_and_resigns_them(collection, commands):
    old = app_with_factory(collection, secret=OTHER_SECRET)
    old.get("/set/a/1")
    old_cookie = old.cookies["session"]
    rotated = app_with_factory(collection, secret=[SECRET, OTHER_SECRET])
    rotated.set_cookie("session", old_cookie)
    commands.clear()
    response = rotated.get("/get/a")
    assert response.json == "1"
    assert commands.names == ["find"]
    new_cookie = rotated.cookies["session"]
    assert new_cookie != old_cookie
    # The re-signed cookie verifies with the new secret alone.
    only_new = app_with_factory(collection, secret=SECRET)
    only_new.set_cookie("session", new_cookie)
    assert only_new.get("/get/a").json == "1"
    # And the old cookie no longer does.
    only_new.set_cookie("session", old_cookie)
    assert only_new.get("/get/a").json is None


def test_secrets_setting_is_split_on_white_space_for_rotation(collection):
    old = app_with_include(collection, {"mongosession.secret": "old-secret"})
    old.get("/set/a/1")
    rotated = app_with_include(collection, {"mongosession.secret": "new-secret\n old-secret"})
    rotated.set_cookie("session", old.cookies["session"])
    assert rotated.get("/get/a").json == "1"
    assert rotated.cookies["session"] != old.cookies["session"]


def test_a_python_str_secret_is_one_secret_spaces_and_all(collection):
    app = app_with_factory(collection, secret="correct horse battery staple")
    app.get("/set/a/1")
    only_a_word = app_with_factory(collection, secret="correct")
    only_a_word.set_cookie("session", app.cookies["session"])
    assert only_a_word.get("/get/a").json is None
    assert app.get("/get/a").json == "1"


def test_deleting_a_secure_cookie_keeps_its_attributes(collection):
    app = app_with_factory(collection, cookie_name="__Host-sid", cookie_secure=True,
                           cookie_samesite="Strict")
    app.get("/set/a/1", extra_environ={"wsgi.url_scheme": "https"})
    response = app.get("/invalidate", extra_environ={"wsgi.url_scheme": "https"})
    cookie = response.headers["Set-Cookie"]
    assert "Max-Age=0" in cookie and "secure" in cookie.lower()
    assert "SameSite=Strict" in cookie and "HttpOnly" in cookie
    assert len(response.headers.getall("Set-Cookie")) == 1
