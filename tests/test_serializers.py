"""The serializer setting: bson (default), json, pickle, or a dotted name."""
import datetime
import json

import pytest
from bson.binary import Binary

from .support import app_running, app_with_factory, app_with_include


class Reversed:
    """A custom serializer: JSON text, reversed (to prove it is used)."""

    @staticmethod
    def dumps(value):
        return json.dumps(value)[::-1]

    @staticmethod
    def loads(stored):
        return json.loads(stored[::-1])


def test_json_stores_each_value_as_json_text(collection):
    app = app_with_factory(collection, serializer="json")
    app.post_json("/set_json", {"cart": ["apple", 2], "n": None})
    assert collection.find_one()["data"] == {"cart": '["apple",2]', "n": "null"}
    assert app.get("/dump").json == {"cart": ["apple", 2], "n": None}
    app.get("/append/cart/pear")  # nested mutation detected via the JSON text
    assert app.get("/get/cart").json == ["apple", 2, "pear"]


def test_json_rejects_what_it_cannot_encode_at_assignment(collection):
    def assign(request):
        with pytest.raises(TypeError, match="session key 'when': the value cannot be "
                                            "serialized with json"):
            request.session["when"] = datetime.datetime.now()
        return "ok"

    app_running(collection, assign, serializer="json").get("/")


def test_pickle_is_opt_in_and_round_trips_python_objects(collection):
    def store_set(request):
        request.session["tags"] = {"a", "b"}
        return "ok"

    def read_set(request):
        return sorted(request.session["tags"])

    app = app_running(collection, store_set, serializer="pickle")
    app.get("/")
    assert isinstance(collection.find_one()["data"]["tags"], bytes)
    reader = app_running(collection, read_set, serializer="pickle")
    reader.set_cookie("session", app.cookies["session"])
    assert reader.get("/").json == ["a", "b"]


def test_dotted_serializer_through_the_settings(collection):
    app = app_with_include(
        collection, {"mongosession.serializer": "tests.test_serializers.Reversed"}
    )
    app.get("/set/a/value")
    assert collection.find_one()["data"] == {"a": '"eulav"'}
    assert app.get("/get/a").json == "value"


def test_bytes_from_a_custom_serializer_are_stored_as_binary(collection):
    class Utf8:
        dumps = staticmethod(lambda value: value.encode())
        loads = staticmethod(lambda stored: bytes(stored).decode())

    app = app_with_factory(collection, serializer=Utf8)
    app.get("/set/a/value")
    stored = collection.find_one()["data"]["a"]
    assert stored == Binary(b"value") or stored == b"value"
    assert app.get("/get/a").json == "value"
