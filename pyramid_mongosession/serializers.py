"""How one session value is turned into what MongoDB stores, and back.

Each value is encoded on its own, so that a change to one key is a write of
that key's field only.  A codec also gives a *fingerprint* of a value: bytes
that change whenever the value does, used to notice nested mutations.
"""
import json
import pickle
from typing import Any

import bson
from bson.binary import Binary
from bson.errors import InvalidDocument

# Values of these types cannot be changed in place, so a value read from the
# session needs no fingerprint to detect a mutation.
IMMUTABLE_TYPES = (str, bytes, int, float, bool, type(None))


class BSONCodec:
    """Values are stored as native BSON: readable in the database, queryable."""

    name = "bson"

    def encode(self, value: Any) -> Any:
        return value

    def decode(self, stored: Any) -> Any:
        return stored

    def fingerprint(self, value: Any) -> bytes:
        try:
            return bson.encode({"": value})
        except (InvalidDocument, OverflowError) as error:
            raise TypeError(f"cannot be stored as BSON: {error}") from None
        except UnicodeEncodeError as error:  # a lone surrogate
            raise ValueError(f"has text that {error}") from None


class DumpsLoadsCodec:
    """Values go through an object's ``dumps``/``loads`` (json, pickle, ...)."""

    def __init__(self, serializer: Any, name: str):
        self.serializer = serializer
        self.name = name

    def encode(self, value: Any) -> Any:
        dumped = self.serializer.dumps(value)
        return Binary(dumped) if isinstance(dumped, bytes) else dumped

    def decode(self, stored: Any) -> Any:
        return self.serializer.loads(stored)

    def fingerprint(self, value: Any) -> bytes:
        try:
            dumped = self.serializer.dumps(value)
        except Exception as error:
            raise TypeError(f"cannot be serialized with {self.name}: {error}") from None
        return dumped.encode("utf-8") if isinstance(dumped, str) else dumped


class _CompactJSON:
    @staticmethod
    def dumps(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)

    @staticmethod
    def loads(stored: str) -> Any:
        return json.loads(stored)


class _Pickle:
    @staticmethod
    def dumps(value: Any) -> bytes:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def loads(stored: bytes) -> Any:
        return pickle.loads(stored)  # noqa: S301 - opt-in, documented as unsafe


def codec_for(serializer: Any) -> Any:
    """The codec for a ``serializer`` option: a name or a dumps/loads object."""
    if serializer == "bson":
        return BSONCodec()
    if serializer == "json":
        return DumpsLoadsCodec(_CompactJSON, "json")
    if serializer == "pickle":
        return DumpsLoadsCodec(_Pickle, "pickle")
    return DumpsLoadsCodec(serializer, getattr(serializer, "__name__", repr(serializer)))
