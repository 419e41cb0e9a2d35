"""pymongo's errors as the package raises them (a pure function): what a
user's exception view is handed, and what it says."""
import bson
import pytest
from bson.errors import InvalidDocument
from pymongo.errors import AutoReconnect, DocumentTooLarge, OperationFailure, WriteError

from pyramid_mongosession import SessionStoreError, SessionTooLargeError
from pyramid_mongosession.errors import translated

UPDATE = {"$set": {"data.blob": "x" * 1000}}


@pytest.mark.parametrize("error", [
    DocumentTooLarge("BSON document too large"),
    WriteError("Resulting document after update is larger than 16777216", 17419),
    OperationFailure("document too large", 10334),
])
def test_a_document_too_large_for_mongodb_says_how_large_the_write_is(error):
    raised = translated(error, "save the session", UPDATE)

    assert type(raised) is SessionTooLargeError
    assert f"this write alone is {len(bson.encode(UPDATE)):,} bytes" in str(raised)
    assert "at most 16,777,216 bytes" in str(raised)
    assert raised.error is error


@pytest.mark.parametrize("error", [
    AutoReconnect("connection refused"),
    OperationFailure("not authorized", 13),
    WriteError("E11000 duplicate key", 11000),
])
def test_other_mongodb_errors_say_what_could_not_be_done(error):
    raised = translated(error, "load the session")

    assert type(raised) is SessionStoreError
    assert str(raised) == f"cannot load the session: {error}"
    assert raised.error is error


def test_a_value_bson_cannot_encode_is_a_type_error():
    raised = translated(
        InvalidDocument("cannot encode object: <object>"), "save the session", size_of={}
    )

    assert type(raised) is TypeError
    assert str(raised) == "a session value cannot be stored: cannot encode object: <object>"


def test_an_argument_of_another_operation_bson_cannot_encode_is_a_type_error_saying_which():
    raised = translated(InvalidDocument("cannot encode object: <object>"), "count the sessions")

    assert type(raised) is TypeError
    assert str(raised) == "cannot count the sessions: cannot encode object: <object>"
