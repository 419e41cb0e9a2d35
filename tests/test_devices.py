""""Where you're signed in": with ``mongosession.record_user_agent`` and
``mongosession.record_client_address`` a signed-in session records, in the
write that signs it in, the device that signed in; anonymous sessions
record nothing.  ``sessions_of`` lists it, and ``revoke_one(principal,
hashed_id)`` signs that one device out."""
import bson
import pytest
import webtest
from pyramid.config import Configurator

from pyramid_mongosession import SessionTooLargeError, get_session_store
from pyramid_mongosession.devices import DeviceRecorder, printable

from .signin_views import SIGN_IN_VIEWS, app_with_views, sign_in, sign_in_in_place, sign_out
from .support import include_settings

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 19_1 like Mac OS X) Mobile/15E148"


def devices(request):
    store = get_session_store(request.registry)
    return [
        {"id": info.hashed_id, "user_agent": info.user_agent, "address": info.client_address,
         "this": info.hashed_id == store.hashed_id(request.session.id)}
        for info in store.sessions_of(request.session.principal)
    ]


def sign_out_device(request):
    store = get_session_store(request.registry)
    return store.revoke_one(request.session.principal, request.params["id"])


def grow(request):
    request.session["filler"] = "x" * int(request.matchdict["length"])
    return "grown"


VIEWS = dict(SIGN_IN_VIEWS, **{"/devices": devices, "/sign_out_device": sign_out_device,
                               "/in_place/{name}": sign_in_in_place, "/sign_out": sign_out,
                               "/grow/{length}": grow})


def app_recording(collection, user_agent=True, address=True):
    settings = {"mongosession.record_user_agent": str(user_agent).lower(),
                "mongosession.record_client_address": str(address).lower()}
    return app_with_views(collection, settings, VIEWS)


def browser(wsgi, user_agent=FIREFOX, address="203.0.113.7"):
    return webtest.TestApp(
        wsgi, extra_environ={"HTTP_USER_AGENT": user_agent, "REMOTE_ADDR": address}
    )


def change_user_agent(browser, user_agent):
    browser.extra_environ["HTTP_USER_AGENT"] = user_agent


def test_the_insert_that_creates_a_session_records_its_device(collection, commands):
    laptop = browser(app_recording(collection))

    laptop.get("/sign_in/alice")

    assert commands.names == ["insert"]
    assert collection.find_one()["device"] == {"user_agent": FIREFOX, "address": "203.0.113.7"}
    (listed,) = get_session_store(laptop.app.registry).sessions_of("alice")
    assert (listed.user_agent, listed.client_address) == (FIREFOX, "203.0.113.7")


def test_later_requests_write_nothing_more_and_keep_what_was_recorded(collection, commands):
    laptop = browser(app_recording(collection))
    laptop.get("/sign_in/alice")
    change_user_agent(laptop, "Something else entirely")

    commands.clear()
    laptop.get("/visit")

    assert commands.names == ["find", "update"]
    (update,) = commands.documents("update")
    assert "device" not in str(update["updates"])
    assert collection.find_one()["device"]["user_agent"] == FIREFOX


def test_a_sign_in_that_moves_the_session_records_the_device_signing_in(collection):
    # An id planted by an attacker (session fixation) must not bring the
    # attacker's device into the victim's list.
    wsgi = app_recording(collection)
    attacker = browser(wsgi, user_agent="Attacker", address="198.51.100.66")
    attacker.get("/visit")
    victim = browser(wsgi, user_agent=PHONE, address="192.0.2.9")
    victim.set_cookie("session", attacker.cookies["session"])

    victim.get("/sign_in/alice")

    (moved,) = collection.find()
    assert moved["principal"] == "alice"
    assert moved["device"] == {"user_agent": PHONE, "address": "192.0.2.9"}


def test_an_anonymous_session_records_no_device(collection, commands):
    laptop = browser(app_recording(collection))

    laptop.get("/visit")

    assert commands.names == ["insert"]
    assert "device" not in collection.find_one()


def test_a_sign_in_without_a_new_id_records_the_device_in_its_update(collection, commands):
    laptop = browser(app_recording(collection))
    laptop.get("/visit")

    commands.clear()
    laptop.get("/in_place/alice")

    assert commands.names == ["find", "update"]
    (update,) = commands.documents("update")
    assert update["updates"][0]["u"]["$set"]["device"] == {
        "user_agent": FIREFOX, "address": "203.0.113.7"}
    (listed,) = get_session_store(laptop.app.registry).sessions_of("alice")
    assert listed.user_agent == FIREFOX


def test_signing_out_where_it_is_removes_the_device(collection):
    laptop = browser(app_recording(collection))
    laptop.get("/in_place/alice")
    laptop.get("/visit")
    assert "device" in collection.find_one()

    laptop.get("/sign_out")

    stored = collection.find_one()
    assert "principal" not in stored and "device" not in stored
    assert stored["data"]["visits"] == 1


def test_a_move_after_recording_was_turned_off_keeps_no_device(collection):
    recording = browser(app_recording(collection))
    recording.get("/sign_in/alice")
    assert "address" in collection.find_one()["device"]

    not_recording = browser(app_recording(collection, user_agent=False, address=False))
    not_recording.set_cookie("session", recording.cookies["session"])
    not_recording.get("/sign_in/alice")

    (moved,) = collection.find()
    assert moved["principal"] == "alice" and "device" not in moved


def test_the_recorded_device_counts_toward_max_size(collection):
    wsgi = app_with_views(
        collection,
        {"mongosession.record_user_agent": "true", "mongosession.max_size": "1024"},
        VIEWS,
    )
    laptop = browser(wsgi, user_agent="é" * 300)
    laptop.get("/in_place/alice")
    size_with_device = len(bson.encode(collection.find_one()))
    laptop.get("/grow/" + str(1024 - size_with_device - 20))
    assert collection.find_one()["data"]["filler"]

    with pytest.raises(SessionTooLargeError):
        laptop.get("/grow/" + str(1024 - size_with_device + 10))


def test_the_address_is_recorded_only_when_its_own_setting_is_on(collection):
    laptop = browser(app_recording(collection, user_agent=True, address=False))

    laptop.get("/sign_in/alice")

    assert collection.find_one()["device"] == {"user_agent": FIREFOX}
    (listed,) = laptop.get("/devices").json
    assert listed["address"] is None


def test_nothing_is_recorded_by_default(collection):
    config = Configurator(settings=include_settings(collection))
    config.include("pyramid_mongosession")
    config.add_route("sign_in", "/sign_in/{name}")
    config.add_view(sign_in, route_name="sign_in", renderer="json")
    laptop = browser(config.make_wsgi_app())

    laptop.get("/sign_in/alice")

    assert "device" not in collection.find_one()
    (listed,) = get_session_store(laptop.app.registry).sessions_of("alice")
    assert (listed.user_agent, listed.client_address) == (None, None)


def test_a_request_without_a_user_agent_records_only_what_it_has(collection):
    wsgi = app_recording(collection)
    bare = webtest.TestApp(wsgi, extra_environ={"REMOTE_ADDR": "198.51.100.1"})

    bare.get("/sign_in/alice")

    assert collection.find_one()["device"] == {"address": "198.51.100.1"}


def test_a_hostile_user_agent_is_cut_and_made_printable(collection):
    hostile = "\x1b]0;owned\x07" + "A" * 10_000
    laptop = browser(app_recording(collection), user_agent=hostile)

    laptop.get("/sign_in/alice")

    stored = collection.find_one()["device"]["user_agent"]
    assert stored == "?]0;owned?" + "A" * 246
    assert laptop.get("/whoami").json == "alice"


def test_one_device_is_signed_out_by_the_id_sessions_of_lists(collection, commands):
    wsgi = app_recording(collection)
    laptop, phone = browser(wsgi), browser(wsgi, user_agent=PHONE, address="192.0.2.9")
    laptop.get("/sign_in/alice")
    phone.get("/sign_in/alice")
    listed = laptop.get("/devices").json
    (phone_row,) = [row for row in listed if not row["this"]]
    assert phone_row["user_agent"] == PHONE and phone_row["address"] == "192.0.2.9"

    commands.clear()
    assert laptop.get("/sign_out_device", {"id": phone_row["id"]}).json is True

    assert commands.names == ["find", "delete"]  # the session's own find, then one delete
    assert phone.get("/whoami").json is None
    assert laptop.get("/whoami").json == "alice"


def test_an_id_of_another_principals_session_ends_nothing(collection):
    wsgi = app_recording(collection)
    alice, bob = browser(wsgi), browser(wsgi)
    alice.get("/sign_in/alice")
    bob.get("/sign_in/bob")
    (bobs,) = bob.get("/devices").json

    assert alice.get("/sign_out_device", {"id": bobs["id"]}).json is False

    assert bob.get("/whoami").json == "bob"
    assert collection.count_documents({}) == 2


@pytest.mark.parametrize("malformed", [
    "", "abc", "zz" * 32, "ab" * 33, 42, None,
    lambda listed: " ".join(listed[i:i + 2] for i in range(0, 64, 2)),  # fromhex allows it
    lambda listed: listed + "\n",
])
def test_a_malformed_listed_id_is_refused(collection, malformed):
    laptop = browser(app_recording(collection))
    laptop.get("/sign_in/alice")
    store = get_session_store(laptop.app.registry)
    (listed,) = store.sessions_of("alice")
    hashed_id = malformed(listed.hashed_id) if callable(malformed) else malformed

    with pytest.raises(ValueError, match="a hashed id as sessions_of lists it is 64 hex digits"):
        store.revoke_one("alice", hashed_id)

    assert collection.count_documents({}) == 1


def test_a_listed_id_in_capitals_is_the_same_id(collection):
    laptop = browser(app_recording(collection))
    laptop.get("/sign_in/alice")
    store = get_session_store(laptop.app.registry)
    (listed,) = store.sessions_of("alice")

    assert store.revoke_one("alice", listed.hashed_id.upper()) is True

    assert laptop.get("/whoami").json is None


@pytest.mark.parametrize("device", [5, "Firefox", {"user_agent": 7, "address": "192.0.2.1"}])
def test_a_malformed_stored_device_loses_nothing(collection, device):
    laptop = browser(app_recording(collection))
    laptop.get("/sign_in/alice")
    laptop.get("/visit")
    collection.update_one({}, {"$set": {"device": device}})

    assert laptop.get("/visit").json == 2
    assert laptop.get("/whoami").json == "alice"
    (listed,) = laptop.get("/devices").json
    assert listed["user_agent"] is None


# -- the recorder alone, no database -------------------------------------------


class Request:
    def __init__(self, **environ):
        self.environ = environ


def test_the_recorder_reads_only_what_it_is_told_to():
    request = Request(HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="2001:db8::1",
                      HTTP_X_FORWARDED_FOR="10.0.0.1")

    assert DeviceRecorder(user_agent=True)(request) == {"user_agent": FIREFOX}
    assert DeviceRecorder(client_address=True)(request) == {"address": "2001:db8::1"}
    assert DeviceRecorder()(Request()) is None
    assert not DeviceRecorder() and DeviceRecorder(client_address=True)


def test_printable_replaces_control_characters_and_keeps_other_text():
    assert printable("Safari\r\nSet-Cookie: x\x00", 100) == "Safari??Set-Cookie: x?"
    assert printable("Navigateur élégant", 10) == "Navigateur"
