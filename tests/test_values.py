"""Values come back as they were stored: nested keys escaped like session
keys, what BSON changes documented, and what cannot be stored refused at
assignment, naming the key; through the real server, no mocks."""
import datetime
import re
import uuid

import pytest
import webtest
from bson.int64 import Int64
from pyramid.config import Configurator

from pyramid_mongosession import MongoSessionFactory, SessionStoreError, SessionValueError

from .support import SECRET, app_with_factory, app_with_include, include_settings


def not_saved(exc, request):
    request.response.status = 500
    return f"not saved: {exc}"


def app_on(collection, answered=SessionValueError, **views):
    """The app through ``config.include``: a JSON view at ``/<name>`` for
    each ``name=view``, returning ``view(request)``, and an exception view
    for ``answered``."""
    config = Configurator(settings=include_settings(collection))
    config.include("pyramid_mongosession")
    for name, view in views.items():
        config.add_route(name, f"/{name}")
        config.add_view(lambda request, view=view: view(request), route_name=name,
                        renderer="json")
    config.add_view(not_saved, context=answered, renderer="json")
    return webtest.TestApp(config.make_wsgi_app())


# -- nested keys ---------------------------------------------------------------

def test_a_nested_ref_and_id_dict_comes_back_a_dict_on_every_later_request(collection):
    app = app_with_include(collection)
    link = {"$ref": "users", "$id": 7}

    app.post_json("/set_json", {"link": link, "links": [{"to": link}]})

    for _request in range(2):
        assert app.get("/dump").json == {"link": link, "links": [{"to": link}]}
    stored = collection.find_one()["data"]
    assert stored["link"] == {"%24ref": "users", "%24id": 7}
    assert stored["links"] == [{"to": {"%24ref": "users", "%24id": 7}}]


def test_nested_keys_mongodb_treats_specially_round_trip_at_any_depth(collection):
    app = app_with_include(collection)
    tricky = {"$set": 1, "a.b": 2, "%": 3, "%2E": 4, "nul\x00": 5, "": 6, "plain": 7}
    value = {"outer.key": [tricky, {"list": [[tricky]]}], "$inc": tricky}

    app.post_json("/set_json", {"value": value})

    assert app.get("/get/value").json == value
    stored = collection.find_one()["data"]["value"]
    escaped = {"%24set": 1, "a%2Eb": 2, "%25": 3, "%252E": 4, "nul%00": 5, "%": 6, "plain": 7}
    assert stored == {"outer%2Ekey": [escaped, {"list": [[escaped]]}], "%24inc": escaped}


def test_a_value_with_escaped_keys_changed_in_place_is_saved(collection, commands):
    app = app_with_include(collection)
    app.post_json("/set_json", {"cart": {"$ref": "carts", "$id": 1, "items.": []}})

    def read(request):
        return request.session["cart"]

    def add(request):
        request.session["cart"]["items."].append("pear")
        return "ok"

    other = app_on(collection, read=read, add=add)
    other.set_cookie("session", app.cookies["session"])
    commands.clear()
    other.get("/read")
    assert commands.names == ["find"]  # read back unchanged: no write

    other.get("/add")

    assert other.get("/read").json == {"$ref": "carts", "$id": 1, "items.": ["pear"]}
    assert collection.find_one()["data"]["cart"]["items%2E"] == ["pear"]


def test_json_and_pickle_store_nested_keys_inside_their_opaque_value(collection):
    for serializer in ("json", "pickle"):
        app = app_with_factory(collection, serializer=serializer)

        app.post_json("/set_json", {"link": {"$ref": "users", "$id": 7}})

        assert app.get("/dump").json == {"link": {"$ref": "users", "$id": 7}}
        stored = collection.find_one()["data"]["link"]
        assert b"$ref" in (stored.encode() if isinstance(stored, str) else stored)
        collection.delete_many({})


# -- refused at assignment -------------------------------------------------------

def refusal(assign):
    """A view: ``assign(request.session)`` must raise ``TypeError``; returns
    its message."""
    def view(request):
        with pytest.raises(TypeError) as error:
            assign(request.session)
        return str(error.value)
    return view


def nested(levels, innermost=1):
    """``levels`` containers, dicts and lists in turn, around ``innermost``."""
    value = innermost
    for level in range(levels):
        value = [value] if level % 2 else {"k": value}
    return value


def test_a_value_that_contains_itself_is_refused_at_assignment_naming_the_key(collection):
    def assign_list(session):
        cart = ["apple"]
        cart.append(cart)
        session["cart"] = cart

    def assign_dict(session):
        profile = {"name": "ann"}
        profile["friends"] = [{"best": profile}]
        session["profile"] = profile

    app = app_on(collection, list=refusal(assign_list), dict=refusal(assign_dict))

    assert app.get("/list").json == "session key 'cart': the value contains itself, " \
                                    "and BSON cannot store that"
    assert app.get("/dict").json.startswith("session key 'profile': the value contains itself")
    assert collection.count_documents({}) == 0


def test_a_flash_message_that_contains_itself_is_refused_naming_the_queue(collection):
    def flash(session):
        message = {"text": "hello"}
        message["self"] = message
        session.flash(message, "notes")

    app = app_on(collection, flash=refusal(flash))

    assert app.get("/flash").json.startswith("session key '_f_notes': the value contains itself")
    assert collection.count_documents({}) == 0


def test_a_value_nested_98_levels_deep_is_stored_and_read_back(collection):
    def store(request):
        request.session["deep"] = nested(98)
        request.session["deeper_but_empty"] = nested(98, innermost=[])
        return "ok"

    def read(request):
        return [request.session["deep"] == nested(98),
                request.session["deeper_but_empty"] == nested(98, innermost=[])]

    app = app_on(collection, store=store, read=read)
    app.get("/store")

    assert app.get("/read").json == [True, True]
    assert collection.count_documents({}) == 1


def test_a_value_nested_deeper_than_mongodb_stores_is_refused_at_assignment(collection):
    # {data: {key: value}} takes two of MongoDB's 100 levels.
    def assign(session):
        session["deep"] = nested(99)

    def assign_far_deeper(session):
        session["deeper"] = nested(400)

    def flash(session):
        session.flash(nested(98))  # the queue is one level more

    app = app_on(collection, assign=refusal(assign), far=refusal(assign_far_deeper),
                 flash=refusal(flash))

    assert app.get("/assign").json == (
        "session key 'deep': the value nests more than 98 levels deep, and MongoDB "
        "stores 100 levels, counting the session document and its data"
    )
    assert app.get("/far").json.startswith("session key 'deeper': the value nests more than 98")
    assert app.get("/flash").json.startswith("session key '_f_': the value nests more than 98")
    assert collection.count_documents({}) == 0


def test_a_uuid_is_refused_at_assignment_with_type_error_naming_the_key(collection):
    def assign(session):
        session["token"] = {"id": uuid.uuid4()}

    message = app_on(collection, assign=refusal(assign)).get("/assign").json

    assert message.startswith("session key 'token': the value cannot be stored as BSON: ")
    assert "uuid.UUID" in message
    assert collection.count_documents({}) == 0


# -- changed in place into something that cannot be stored ----------------------

def with_cart(app, collection, seed_app=app_with_include):
    """``app`` on a session holding ``cart = ["apple"]`` and ``n = 1``,
    stored through ``seed_app`` (one that reads the same secret); returns
    the stored ``data``."""
    seed = seed_app(collection)
    seed.post_json("/set_json", {"cart": ["apple"], "n": 1})
    app.set_cookie("session", seed.cookies["session"])
    return collection.find_one()["data"]


def test_a_value_changed_in_place_into_an_unstorable_one_is_answered_by_an_exception_view(
    collection,
):
    def add_object(request):
        request.session["n"] = 2
        request.session["cart"].append(object())
        return "ok"

    def read(request):
        return dict(request.session)

    app = app_on(collection, add_object=add_object, read=read)
    before = with_cart(app, collection)

    response = app.get("/add_object", status=500)

    assert response.json.startswith(
        "not saved: the session was not saved: session key 'cart': the value cannot be stored"
    )
    assert collection.find_one()["data"] == before
    assert app.get("/read").json == {"cart": ["apple"], "n": 1}


def test_a_value_made_to_contain_itself_after_assignment_is_not_saved(collection):
    def make_cycle(request):
        cart = ["pear"]
        request.session["cart"] = cart
        cart.append(cart)
        return "ok"

    app = app_on(collection, make_cycle=make_cycle)
    before = with_cart(app, collection)

    response = app.get("/make_cycle", status=500)

    assert response.json == ("not saved: the session was not saved: session key 'cart': "
                             "the value contains itself, and BSON cannot store that")
    assert collection.find_one()["data"] == before


def test_a_new_session_with_an_unstorable_value_stores_nothing_and_sets_no_cookie(collection):
    def assign_then_break(request):
        request.session["profile"] = {"tags": []}
        request.session["profile"]["tags"].append({1, 2})
        return "ok"

    response = app_on(collection, break_=assign_then_break).get("/break_", status=500)

    assert "session key 'profile'" in response.json
    assert "Set-Cookie" not in response.headers
    assert collection.count_documents({}) == 0


def test_an_exception_view_for_session_store_error_answers_it(collection):
    def add_object(request):
        request.session["cart"].append(object())
        return "ok"

    app = app_on(collection, add_object=add_object, answered=SessionStoreError)
    before = with_cart(app, collection)

    assert app.get("/add_object", status=500).json.startswith("not saved: ")
    assert collection.find_one()["data"] == before


def test_without_include_it_is_raised_from_the_response_callback(collection):
    def add_object(request):
        request.session["cart"].append(object())
        return "ok"

    config = Configurator(session_factory=MongoSessionFactory(collection, secret=SECRET))
    config.add_route("add_object", "/add_object")
    config.add_view(add_object, route_name="add_object", renderer="json")
    app = webtest.TestApp(config.make_wsgi_app())
    before = with_cart(app, collection, seed_app=app_with_factory)

    with pytest.raises(SessionValueError, match="session key 'cart'"):
        app.get("/add_object")
    assert collection.find_one()["data"] == before


# -- what BSON changes, and what it does not --------------------------------------

def stored_and_read(collection, value, describe):
    """``describe(value)`` of ``value`` as a later request reads it back."""
    def store(request):
        request.session["value"] = value
        return "stored"

    def read(request):
        return describe(request.session["value"])

    app = app_on(collection, store=store, read=read)
    app.get("/store")
    return app.get("/read").json


def type_names(value):
    if isinstance(value, (list, tuple, dict)):
        items = value.values() if isinstance(value, dict) else value
        return [type(value).__name__, [type_names(item) for item in items]]
    return type(value).__name__


def test_a_tuple_comes_back_a_list(collection):
    read = stored_and_read(collection, (1, ("a", "b")), lambda value: [value, type_names(value)])

    assert read == [[1, ["a", "b"]], ["list", ["int", ["list", ["str", "str"]]]]]


def test_a_naive_datetime_comes_back_aware_in_utc(collection):
    naive = datetime.datetime(2024, 5, 1, 12, 30, 15)

    assert stored_and_read(collection, naive, lambda value: value.isoformat()) == \
        "2024-05-01T12:30:15+00:00"


def test_an_aware_datetime_comes_back_in_utc_at_the_same_instant(collection):
    paris_summer = datetime.timezone(datetime.timedelta(hours=2))
    aware = datetime.datetime(2024, 5, 1, 14, 30, tzinfo=paris_summer)

    assert stored_and_read(collection, aware, lambda value: value.isoformat()) == \
        "2024-05-01T12:30:00+00:00"


def test_a_datetime_comes_back_cut_to_milliseconds(collection):
    precise = datetime.datetime(2024, 5, 1, 12, 30, 15, 999999, tzinfo=datetime.timezone.utc)

    assert stored_and_read(collection, [precise], lambda value: value[0].isoformat()) == \
        "2024-05-01T12:30:15.999000+00:00"


def test_a_compiled_regex_comes_back_a_bson_regex_that_compiles_to_it(collection):
    def describe(regex):
        return [f"{type(regex).__module__}.{type(regex).__name__}", regex.pattern,
                regex.try_compile() == re.compile("^a+$", re.IGNORECASE)]

    read = stored_and_read(collection, re.compile("^a+$", re.IGNORECASE), describe)

    assert read == ["bson.regex.Regex", "^a+$", True]


def test_ints_beyond_32_bits_come_back_int_not_int64(collection):
    value = {"big": 2**40, "negative": -(2**62), "small": 5, "in_list": [2**33]}

    read = stored_and_read(collection, value, lambda value: [value, type_names(value)])

    assert read == [value, ["dict", ["int", "int", "int", ["list", ["int"]]]]]
    assert type(collection.find_one()["data"]["value"]["big"]) is Int64  # BSON's int64


def test_ints_at_the_ends_of_64_bits_are_stored_and_one_beyond_is_refused(collection):
    for end in (2**63 - 1, -(2**63)):
        assert stored_and_read(collection, end, lambda value: value) == end

    for beyond in (2**63, -(2**63) - 1):
        def assign(session, beyond=beyond):
            session["n"] = beyond

        message = app_on(collection, assign=refusal(assign)).get("/assign").json
        assert message.startswith("session key 'n': the value cannot be stored as BSON: ")
