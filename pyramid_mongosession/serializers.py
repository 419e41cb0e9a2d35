"""How one session value is turned into what MongoDB stores, and back.

Each value is encoded on its own, so that a change to one key is a write of
that key's field only.  A codec also gives a *fingerprint* of a value: bytes
that change whenever the value does, used to notice nested mutations.
"""
import datetime
import json
import pickle
from typing import Any, Callable, Dict, Mapping

import bson
from bson.binary import Binary
from bson.errors import InvalidDocument

from .keys import escape_key, unescape_key

# Values of these types cannot be changed in place, so a value read from the
# session needs no fingerprint to detect a mutation.
IMMUTABLE_TYPES = (str, bytes, int, float, bool, type(None))
# Values of these types hold no mapping: walking a value stops at them.
_SCALAR_TYPES = frozenset((*IMMUTABLE_TYPES, datetime.datetime))


class BSONCodec:
    """Values are stored as native BSON: readable in the database, queryable."""

    name = "bson"

    def encode(self, value: Any) -> Any:
        """``value`` with the keys of the dicts in it, at any depth, escaped
        like session keys (:func:`~pyramid_mongosession.keys.escape_key`):
        no server takes them for operators, paths or DBRefs, whatever its
        field-name rules.  ``value`` itself, not a copy, when no key needs
        escaping."""
        return _escaped(value)

    def decode(self, stored: Any) -> Any:
        return _unescaped(stored)

    def fingerprint(self, value: Any) -> bytes:
        try:
            return bson.encode({"": self.encode(value)})
        except (InvalidDocument, OverflowError) as error:
            raise TypeError(f"cannot be stored as BSON: {error}") from None
        except UnicodeEncodeError as error:  # a lone surrogate
            raise ValueError(f"has text that {error}") from None


def _escaped(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return _walked_sequence(value, _escaped)
    if not isinstance(value, (dict, Mapping)):
        return value
    new_values: Dict[Any, Any] = {}
    rename = False
    for key, item in value.items():
        # Inline, not escape_key(key) is not key: this loop is the hot path.
        if not rename and (
            type(key) is not str or not key or "%" in key or "." in key or "$" in key
            or "\x00" in key
        ):
            rename = True
        if type(item) not in _SCALAR_TYPES and (new := _escaped(item)) is not item:
            new_values[key] = new
    return _remade(value, new_values, escape_key) if rename or new_values else value


def _unescaped(value: Any) -> Any:
    if isinstance(value, list):
        return _walked_sequence(value, _unescaped)
    if not isinstance(value, dict):  # as bson decodes documents
        return value
    new_values: Dict[Any, Any] = {}
    rename = False
    for key, item in value.items():
        if not rename and "%" in key:
            rename = True
        if type(item) not in _SCALAR_TYPES and (new := _unescaped(item)) is not item:
            new_values[key] = new
    return _remade(value, new_values, unescape_key) if rename or new_values else value


def _remade(
    mapping: Mapping[Any, Any], new_values: Dict[Any, Any], rekey: Callable[[str], str]
) -> Dict[Any, Any]:
    """A copy of ``mapping`` with its keys rekeyed and some values replaced."""
    return {
        rekey(key) if isinstance(key, str) else key: new_values.get(key, item)
        for key, item in mapping.items()
    }


def _walked_sequence(sequence: Any, walk: Callable[[Any], Any]) -> Any:
    """``sequence`` with ``walk`` applied to its items; itself when no item
    changes, else a list (as BSON stores a tuple anyway)."""
    new_items: Dict[int, Any] = {}
    for number, item in enumerate(sequence):
        if type(item) not in _SCALAR_TYPES and (new := walk(item)) is not item:
            new_items[number] = new
    if not new_items:
        return sequence
    return [new_items.get(number, item) for number, item in enumerate(sequence)]


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
