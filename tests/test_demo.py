"""The demo shop, driven in-process with WebTest against the test server."""
import html
import json
import re

import pytest

from .demo_app import Shopper


@pytest.fixture
def shopper(mongodb_uri, collection):
    return Shopper(mongodb_uri, collection)


def requests_shown(page):
    """The "your session" page's list of requests and their commands."""
    return re.findall(
        r"<li><strong>([^<]+)</strong>(.*?)</li>\s*(?=<li><strong>|</ol>)",
        page.text,
        re.S,
    )


def test_browsing_stores_nothing_and_sets_no_session_cookie(shopper, collection):
    page = shopper.get("/")

    assert "Tea things" in page.text
    assert "session" not in shopper.app.cookies
    assert collection.count_documents({}) == 0
    seen = dict(requests_shown(shopper.get("/session")))
    assert "no commands" in seen["GET /"]
    assert "Nothing. A visitor who has stored nothing" in shopper.get("/session").text


def test_first_item_inserts_the_session_and_the_next_updates_the_cart_field(
    shopper, collection
):
    shopper.get("/")
    page = shopper.add("teapot")

    assert "Added a teapot to your cart." in page.text
    shopper.add("teapot")
    shopper.add("mug")

    assert shopper.cart() == {"teapot": 2, "mug": 1}
    stored = collection.find_one()
    assert stored["data"]["cart"] == {"teapot": 2, "mug": 1}
    seen = requests_shown(shopper.get("/session"))
    labels = [label for label, _ in seen]
    assert labels[:2] == ["This page, so far", "GET /"]
    commands_of_add = dict(seen)["POST /cart/add"]
    assert '<code class="name">find</code>' in commands_of_add
    assert "update" in commands_of_add and "data.cart" in commands_of_add
    assert f"{stored['_id'].hex()[:8]}…" in commands_of_add  # the hashed id, shortened


def test_removing_takes_one_out_and_the_last_one_removes_the_line(shopper):
    shopper.get("/")
    shopper.add("kettle")
    shopper.add("kettle")

    shopper.post("/cart/remove", item="kettle")
    assert shopper.cart() == {"kettle": 1}
    page = shopper.post("/cart/remove", item="kettle").follow()

    assert "Took a kettle out of your cart." in page.text
    assert shopper.cart() == {}


def test_sign_in_moves_the_session_to_a_new_id_and_keeps_the_cart(shopper, collection):
    shopper.get("/")
    shopper.add("mug")
    before = shopper.session_cookie

    page = shopper.post("/sign-in", name="Alice").follow()

    assert "Signed in as Alice." in page.text
    assert '<strong id="user">Alice</strong>' in page.text
    assert shopper.session_cookie != before
    assert collection.count_documents({}) == 1
    assert collection.find_one()["principal"] == "Alice"
    assert shopper.cart() == {"mug": 1}


def test_remember_me_stores_its_own_timeout_and_a_persistent_cookie(shopper, collection):
    shopper.get("/")

    response = shopper.post("/sign-in", name="Bob", remember="1")

    cookie = [v for k, v in response.headerlist if k == "Set-Cookie" and v.startswith("session=")]
    assert "Max-Age=2592000" in cookie[0]
    assert collection.find_one()["timeout"] == 2592000
    assert "remembered for 30 days" in response.follow().text


def test_sign_out_deletes_the_session_and_the_cart(shopper, collection):
    shopper.get("/")
    shopper.add("cosy")
    shopper.post("/sign-in", name="Carol")
    signed_in = collection.find_one()["_id"]

    page = shopper.post("/sign-out").follow()

    assert "Signed out. Your cart went with your session." in page.text
    assert collection.count_documents({"_id": signed_in}) == 0
    assert shopper.cart() == {}
    assert "Carol" not in page.text


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(shopper):
    shopper.get("/")
    shopper.add("mug")

    response = shopper.post("/cart/add", csrf=False, item="mug")

    assert response.status_int == 400
    assert "without a valid CSRF token" in response.text
    assert shopper.cart() == {"mug": 1}


@pytest.mark.parametrize("name", ["", "   ", "x" * 41])
def test_a_bad_name_is_refused_with_a_message(shopper, name):
    shopper.get("/")

    page = shopper.post("/sign-in", name=name).follow()

    assert "Type a name of 1 to 40 characters." in page.text
    assert 'id="sign-in"' in page.text


def test_an_unknown_product_is_refused_with_a_message(shopper):
    shopper.get("/")

    page = shopper.post("/cart/add", item="samovar").follow()

    assert "There is no such product." in page.text
    assert shopper.cart() == {}


def test_your_session_page_shows_the_stored_document(shopper, collection):
    shopper.get("/")
    shopper.add("strainer")

    page = shopper.get("/session")

    stored = collection.find_one()
    assert stored["_id"].hex()[:16] in page.text
    assert re.search(r'<td id="keys">.*<code>cart</code>', page.text)
    assert re.search(r'<td id="size">\d+ bytes</td>', page.text)
    assert "(in 1" in page.text  # expires in about 1200 seconds


def test_database_down_gives_the_503_page_and_logs_it(private_server, collection, caplog):
    shopper = Shopper(private_server.uri, collection)
    shopper.get("/")
    private_server.stop()

    response = shopper.app.post(
        "/cart/add",
        {"item": "mug", "csrf_token": shopper.app.cookies["csrf_token"]},
        status=503,
    )

    assert "Session storage unavailable" in response.text
    assert response.headers["Retry-After"] == "30"
    assert "session storage unavailable: cannot save the session" in caplog.text


def test_a_name_with_markup_is_shown_as_text(shopper):
    shopper.get("/")

    page = shopper.post("/sign-in", name="<b>Eve</b>").follow()

    assert "&lt;b&gt;Eve&lt;/b&gt;" in page.text
    assert "<b>Eve</b>" not in page.text


def test_sign_out_everywhere_else_revokes_the_other_sessions(mongodb_uri, collection):
    laptop, phone, tablet = (Shopper(mongodb_uri, collection) for _ in range(3))
    for device in (laptop, phone, tablet):
        device.get("/")
        device.post("/sign-in", name="Dana")

    page = laptop.get("/session")
    assert "Dana is also signed in 2 more time(s)" in page.text

    page = laptop.post("/sign-out-others").follow()

    assert "Signed out 2 other session(s) of Dana." in page.text
    assert "None: Dana is signed in only here." in page.text
    (revoke,) = [shown for label, shown in requests_shown(laptop.get("/session"))
                 if label == "POST /sign-out-others"]
    kept = collection.find_one({"principal": "Dana"})["_id"].hex()[:8]
    assert f"&#34;$nin&#34;: [&#34;{kept}…&#34;]" in revoke  # the ids, shortened
    assert '<strong id="user">Dana</strong>' not in phone.get("/").text
    assert '<strong id="user">Dana</strong>' in laptop.get("/").text


def test_where_youre_signed_in_lists_each_device_and_signs_out_one(mongodb_uri, collection):
    laptop, phone = (Shopper(mongodb_uri, collection) for _ in range(2))
    laptop.app.extra_environ.update(HTTP_USER_AGENT="Laptop Firefox", REMOTE_ADDR="192.0.2.1")
    phone.app.extra_environ.update(HTTP_USER_AGENT="Phone Safari", REMOTE_ADDR="192.0.2.2")
    for device in (laptop, phone):
        device.get("/")
        device.post("/sign-in", name="Dana")

    page = laptop.get("/session")

    rows = re.findall(r"<tr( class=\"this-device\")?>\s*<td[^>]*><code>([^<]+)</code></td>"
                      r"\s*<td>([^<]+)</td>", page.text)
    assert rows == [(' class="this-device"', "Laptop Firefox", "192.0.2.1"),
                    ("", "Phone Safari", "192.0.2.2")]
    phones_id = re.search(r'name="id" value="(\w+)"', page.text).group(1)

    page = laptop.post("/sign-out-device", id=phones_id).follow()

    assert "Signed out that device." in page.text
    assert "None: Dana is signed in only here." in page.text
    assert '<strong id="user">Dana</strong>' not in phone.get("/").text
    (sign_out,) = [shown for label, shown in requests_shown(laptop.get("/session"))
                   if label == "POST /sign-out-device"]
    # This session's find, the one delete, and the update that stores the flash message.
    assert re.findall(r'<code class="name">(\w+)</code>', sign_out) == ["find", "delete", "update"]
    assert "already signed out" in laptop.post("/sign-out-device", id=phones_id).follow().text
    assert "already signed out" in laptop.post("/sign-out-device", id="nonsense").follow().text


def test_signing_out_a_device_needs_the_csrf_token(mongodb_uri, collection):
    laptop, phone = (Shopper(mongodb_uri, collection) for _ in range(2))
    for device in (laptop, phone):
        device.get("/")
        device.post("/sign-in", name="Dana")
    phones_id = re.search(r'name="id" value="(\w+)"', laptop.get("/session").text).group(1)

    assert laptop.post("/sign-out-device", csrf=False, id=phones_id).status_int == 400

    assert '<strong id="user">Dana</strong>' in phone.get("/").text


def test_a_sixth_sign_in_signs_out_the_least_recently_active_device(mongodb_uri, collection):
    devices = [Shopper(mongodb_uri, collection) for _ in range(6)]  # development.ini: 5
    for device in devices:
        device.get("/")
        device.post("/sign-in", name="Dana")

    assert '<strong id="user">Dana</strong>' not in devices[0].get("/").text
    for device in devices[1:]:
        assert '<strong id="user">Dana</strong>' in device.get("/").text
    page = devices[-1].get("/session")
    assert "Dana is also signed in 4 more time(s)" in page.text
    assert "A user keeps at most 5 sessions" in page.text
    (sign_in,) = [shown for label, shown in requests_shown(page) if label == "POST /sign-in"]
    # A visitor with nothing stored yet: the insert, then the limit's find and delete.
    assert re.findall(r'<code class="name">(\w+)</code>', sign_in) == ["insert", "find", "delete"]


def test_sign_out_everywhere_else_needs_a_signed_in_user(shopper):
    shopper.get("/")

    page = shopper.post("/sign-out-others").follow()

    assert "Sign in first." in page.text


def test_your_session_page_shows_the_stored_values(shopper):
    shopper.get("/")
    shopper.add("mug")

    page = shopper.get("/session")

    shown = html.unescape(re.search(r'<pre id="data">(.*?)</pre>', page.text, re.S).group(1))
    assert json.loads(shown) == {"cart": {"mug": 1}}


def test_sign_out_gives_a_new_csrf_token(shopper):
    shopper.get("/")
    shopper.post("/sign-in", name="Frank")
    before = shopper.app.cookies["csrf_token"]

    shopper.post("/sign-out")

    assert shopper.app.cookies["csrf_token"] != before


def test_development_ini_shows_every_setting_with_a_comment():
    import dataclasses

    from pyramid_mongosession.settings import Options

    from .demo_app import DEVELOPMENT_INI

    lines = open(DEVELOPMENT_INI, encoding="utf-8").read().splitlines()
    for field in dataclasses.fields(Options):
        (line,) = [i for i, text in enumerate(lines)
                   if re.match(rf"#? ?mongosession\.{field.name} = ", text)]
        assert lines[line - 1].startswith("#"), field.name
