"""The signed session-id cookie on its own, without a database: which of a
request's cookies it reads, and what it sets."""
import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from webob import Request, Response
from webob.cookies import SignedSerializer

from pyramid_mongosession.cookie import SALT, SessionCookie

SECRET = "the cookie's own secret, 32 chars or more"
SESSION_ID = "A" * 43
OTHER_ID = "B" * 43


def signed(session_id, secret=SECRET):
    return SignedSerializer(secret, SALT, serializer=_Text()).dumps(session_id).decode()


class _Text:
    dumps = staticmethod(str.encode)
    loads = staticmethod(bytes.decode)


def request_with(header):
    request = Request.blank("/")
    request.environ["HTTP_COOKIE"] = header
    return request


def read(header, cookie=None):
    return (cookie or SessionCookie([SECRET])).read(request_with(header))


def test_the_id_of_a_signed_cookie_is_read():
    assert read(f"session={signed(SESSION_ID)}") == (SESSION_ID, False)


@pytest.mark.parametrize("header", [
    "",
    "other=1",
    f"xsession={signed(SESSION_ID)}",
    f"session2={signed(SESSION_ID)}",
    f"Session={signed(SESSION_ID)}",
    f"session={signed(SESSION_ID, 'another secret of 32 characters, or more')}",
    f"session={signed(SESSION_ID)[:-1]}",
    f"session={signed('not an id')}",
    "session=" + "A" * 600,
])
def test_no_session_id_without_a_cookie_of_this_name_that_verifies(header):
    assert read(header) == (None, False)


def test_the_first_cookie_of_the_name_that_verifies_is_used():
    planted = signed(OTHER_ID, "a sibling subdomain's secret, 32 chars")
    header = f"session={planted}; session={signed(SESSION_ID)}; session={signed(OTHER_ID)}"
    assert read(header) == (SESSION_ID, False)


def test_other_cookies_around_it_do_not_hide_it():
    header = (
        "_ga=GA1.2.3.4;theme=dark ;  session=" + signed(SESSION_ID)
        + " ; greeting=gr\xfc\xdfe; csrftoken=\"quoted; with a semicolon\""
    )
    assert read(header) == (SESSION_ID, False)


def test_a_value_in_double_quotes_is_read_as_rfc_6265_allows():
    assert read(f'session="{signed(SESSION_ID)}"') == (SESSION_ID, False)


def test_a_cookie_named_with_a_prefix_is_read_by_its_whole_name():
    cookie = SessionCookie([SECRET], "__Host-session", secure=True)
    header = f"session={signed(OTHER_ID)}; __Host-session={signed(SESSION_ID)}"
    assert read(header, cookie) == (SESSION_ID, False)


def test_a_cookie_signed_with_an_older_secret_is_read_and_to_be_resigned():
    cookie = SessionCookie(["the new secret, of at least 32 characters", SECRET])
    assert read(f"session={signed(SESSION_ID)}", cookie) == (SESSION_ID, True)


def test_set_signs_with_the_first_secret_with_every_attribute_and_vary():
    cookie = SessionCookie(
        ["the new secret, of at least 32 characters", SECRET], "sid",
        path="/app", domain="example.com", secure=True, samesite="Strict",
    )
    response = Response()
    response.vary = ("Accept",)

    cookie.set(response, SESSION_ID, 600)

    [header] = response.headers.getall("Set-Cookie")
    value = header.split(";")[0].split("=", 1)[1]
    assert cookie.verify(value.encode()) == (SESSION_ID, False)
    attributes = {part.strip() for part in header.split(";")[1:]}
    assert {a for a in attributes if not a.startswith("expires=")} == {
        "Domain=example.com", "Max-Age=600", "Path=/app", "secure", "HttpOnly", "SameSite=Strict",
    }
    assert response.vary == ("Accept", "Cookie")


def test_delete_keeps_the_attributes_and_leave_takes_a_set_back():
    cookie = SessionCookie([SECRET], "__Host-session", secure=True)
    deleted, left = Response(), Response()

    cookie.delete(deleted)
    cookie.set(left, SESSION_ID, None)
    cookie.leave(left)

    [header] = deleted.headers.getall("Set-Cookie")
    assert header.startswith("__Host-session=;")
    assert {"Max-Age=0", "Path=/", "secure"} <= {part.strip() for part in header.split(";")}
    assert left.headers.getall("Set-Cookie") == []


def webob_loads(value, secret=SECRET):
    """What WebOb's own SignedSerializer makes of a cookie value."""
    try:
        return SignedSerializer(secret, SALT, serializer=_IdText()).loads(value)
    except ValueError:
        return None


class _IdText:
    dumps = staticmethod(str.encode)

    @staticmethod
    def loads(raw):
        text = raw.decode("ascii")
        if not re.fullmatch(r"[A-Za-z0-9_-]{43}", text):
            raise ValueError(text)
        return text


session_ids = st.text(
    alphabet=string.ascii_letters + string.digits + "-_", min_size=43, max_size=43
)
# Overwrites of a few bytes at any place of a ~150-byte cookie value.
edits = st.lists(st.tuples(st.integers(0, 200), st.binary(max_size=3)), max_size=3)


def edited(value, overwrites):
    for position, replacement in overwrites:
        value = value[:position] + replacement + value[position + len(replacement):]
    return value


@settings(max_examples=300, deadline=None)
@given(session_ids, edits)
def test_a_cookie_verifies_exactly_when_webob_would_verify_it(session_id, overwrites):
    value = edited(signed(session_id).encode(), overwrites)

    assert SessionCookie([SECRET]).verify(value)[0] == webob_loads(value)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_verify_exactly_when_webob_would_verify_them(value):
    assert SessionCookie([SECRET]).verify(value)[0] == webob_loads(value)


def test_a_cookie_with_characters_base64_skips_verifies_as_with_webob():
    value = signed(SESSION_ID)
    padded = (value[:10] + "!." + value[10:]).encode()
    assert SessionCookie([SECRET]).verify(padded)[0] == webob_loads(padded) == SESSION_ID


def test_a_secret_beyond_latin_1_signs_and_verifies_as_with_webob():
    secret = "ein Geheimnis mit Ümlauten und € Zeichen, lang genug"
    cookie = SessionCookie([secret])
    response = Response()
    cookie.set(response, SESSION_ID, None)
    value = response.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]

    assert webob_loads(value.encode(), secret) == SESSION_ID
    assert cookie.verify(signed(SESSION_ID, secret).encode()) == (SESSION_ID, False)


def test_vary_names_the_cookie_once_however_often_it_is_set():
    cookie = SessionCookie([SECRET])
    response = Response()

    cookie.delete(response)
    cookie.set(response, SESSION_ID, None)

    assert response.vary == ("Cookie",)


NEW_SECRET = "the new secret, of at least 32 characters"


@settings(max_examples=200, deadline=None)
@given(session_ids, st.sampled_from([NEW_SECRET, SECRET, "a third secret, 32 characters long"]),
       edits)
def test_with_two_secrets_a_cookie_verifies_as_with_webob_and_is_resigned_if_old(
    session_id, signing_secret, overwrites
):
    value = edited(signed(session_id, signing_secret).encode(), overwrites)
    by_new, by_old = webob_loads(value, NEW_SECRET), webob_loads(value, SECRET)

    found = SessionCookie([NEW_SECRET, SECRET]).verify(value)

    if by_new is not None:
        assert found == (by_new, False)
    elif by_old is not None:
        assert found == (by_old, True)
    else:
        assert found == (None, False)
