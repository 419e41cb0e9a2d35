"""How one session value is turned into what MongoDB stores, and back.

Each value is encoded on its own, so that a change to one key is a write of
that key's field only.  A codec also gives a *fingerprint* of a value: bytes
that change whenever the value does, used to notice nested mutations; and
it checks that a value can be stored.
"""
import datetime
import json
import pickle
from typing import Any, Callable, Dict, Iterable, Mapping, Tuple

import bson
from bson.binary import Binary
from bson.errors import InvalidDocument
from bson.int64 import Int64

from .keys import escape_key, needs_escaping, unescape_key

# Values of these types cannot be changed in place, so a value read from the
# session needs no fingerprint to detect a mutation.
IMMUTABLE_TYPES = (str, bytes, int, float, bool, type(None))
# Values of these types hold no mapping: walking a value stops at them.
_SCALAR_TYPES = frozenset((*IMMUTABLE_TYPES, datetime.datetime))
# Values BSON stores whatever they are; ints only in 64 bits.
_ALWAYS_STORED = frozenset((bool, float, type(None)))
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# MongoDB documents 100 levels of nesting (mongod enforces its maxBSONDepth
# less 20, 180 by default), counted as it counts them: the document is level
# 1, and each non-empty object or array inside adds one.  A session value
# sits in {data: {key: value}}: its own containers start at level 3, so a
# value nests at most 98 levels.
_MAX_LEVEL = 100
_VALUE_LEVEL = 3


class _TooDeep(Exception):
    """A non-empty container beyond the levels MongoDB stores."""


class BSONCodec:
    """Values are stored as native BSON: readable in the database, queryable."""

    name = "bson"

    def encode(self, value: Any) -> Any:
        """``value`` with the keys of the dicts in it, at any depth, escaped
        like session keys (:func:`~pyramid_mongosession.keys.escape_key`):
        no server takes them for operators, paths or DBRefs, whatever its
        field-name rules.  ``value`` itself, not a copy, when no key needs
        escaping.  Raises ``TypeError`` for a value that contains itself or
        nests deeper than MongoDB stores."""
        if type(value) in _SCALAR_TYPES:
            return value
        try:
            return _escaped(value, _VALUE_LEVEL)
        except _TooDeep:
            raise TypeError(_too_deep(value)) from None

    def decode_data(self, stored: Dict[str, Any]) -> Dict[str, Any]:
        """A stored ``data`` field as the session's data: its keys, and
        those nested in its values, unescaped."""
        data: Dict[str, Any] = _unescaped(stored, _VALUE_LEVEL - 1)
        return data

    @staticmethod
    def presized(data: Dict[str, Any]) -> Any:
        """A session's data as it is sized: unescaped (see ``Documents.size``)."""
        return data

    def check(self, value: Any) -> None:
        """Raise ``TypeError`` (``ValueError`` for text that is not valid
        Unicode) if ``value`` cannot be stored."""
        kind = type(value)
        if kind in _ALWAYS_STORED or (kind is int and _INT64_MIN <= value <= _INT64_MAX):
            return
        self._encoded(value)

    def fingerprint(self, value: Any) -> bytes:
        """``value`` as bson encodes it unescaped: it changes whenever the
        value does, at a third of the cost of escaping first.  Only a NUL in
        a nested key needs the escaped form; the tag keeps such a value from
        being taken for one with ``%00`` in that key."""
        try:
            return b"r" + bson.encode({"": value})
        except Exception:  # a NUL in a nested key, or what check() refuses
            return b"e" + self._encoded(value)

    def _encoded(self, value: Any) -> bytes:
        try:
            return bson.encode({"": self.encode(value)})
        except (InvalidDocument, OverflowError) as error:
            raise TypeError(f"cannot be stored as BSON: {error}") from None
        except UnicodeEncodeError as error:  # a lone surrogate
            raise ValueError(f"has text that {error}") from None
        except ValueError as error:  # a uuid.UUID: BSON has no one form for it
            raise TypeError(f"cannot be stored as BSON: {error}") from None


def _escaped(value: Any, level: int) -> Any:
    """``value``, at nesting ``level``, with the keys of its dicts escaped."""
    if type(value) in _SCALAR_TYPES:
        return value
    if isinstance(value, (list, tuple)):
        if value and level > _MAX_LEVEL:
            raise _TooDeep()
        return _walked_sequence(value, _escaped, level)
    if isinstance(value, (dict, Mapping)):
        if value and level > _MAX_LEVEL:
            raise _TooDeep()
        return _escaped_mapping(value, level)
    return value


def _escaped_mapping(mapping: Mapping[Any, Any], level: int) -> Any:
    new_values: Dict[Any, Any] = {}
    rename = False
    for key, item in mapping.items():
        if not rename and (type(key) is not str or needs_escaping(key)):
            rename = True
        if type(item) not in _SCALAR_TYPES and (new := _escaped(item, level + 1)) is not item:
            new_values[key] = new
    return _remade(mapping, new_values, escape_key) if rename or new_values else mapping


def _too_deep(value: Any) -> str:
    if _contains_itself(value):
        return "contains itself, and BSON cannot store that"
    return (
        f"nests more than {_MAX_LEVEL - _VALUE_LEVEL + 1} levels deep, and MongoDB "
        f"stores {_MAX_LEVEL} levels, counting the session document and its data"
    )


def _contains_itself(value: Any, outer: Tuple[int, ...] = ()) -> bool:
    """Whether a container in ``value`` holds one that holds it, within the
    levels MongoDB stores (``outer``: the ids of the containers around)."""
    if isinstance(value, (list, tuple)):
        items: Iterable[Any] = value
    elif isinstance(value, Mapping):
        items = value.values()
    else:
        return False
    if id(value) in outer:
        return True
    if len(outer) > _MAX_LEVEL:
        return False
    return any(_contains_itself(item, (*outer, id(value))) for item in items)


def _unescaped(value: Any, level: int) -> Any:
    """``value`` as it was stored: the keys of its dicts unescaped, and its
    ints beyond 32 bits, which bson reads as ``Int64``, ``int`` again.
    ``level`` is not checked: what is stored is read, however deep."""
    if isinstance(value, list):
        return _walked_sequence(value, _unescaped, level)
    if type(value) is Int64:
        return int(value)
    if not isinstance(value, dict):  # as bson decodes documents
        return value
    new_values: Dict[Any, Any] = {}
    rename = False
    for key, item in value.items():
        if not rename and "%" in key:
            rename = True
        if type(item) not in _SCALAR_TYPES and (new := _unescaped(item, level)) is not item:
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


def _walked_sequence(sequence: Any, walk: Callable[[Any, int], Any], level: int) -> Any:
    """``sequence`` with ``walk`` applied to its items, one level down;
    itself when no item changes, else a list (as BSON stores a tuple)."""
    new_items: Dict[int, Any] = {}
    for number, item in enumerate(sequence):
        if type(item) not in _SCALAR_TYPES and (new := walk(item, level + 1)) is not item:
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

    def decode_data(self, stored: Dict[str, Any]) -> Dict[str, Any]:
        """A stored ``data`` field as the session's data."""
        loads = self.serializer.loads
        return {unescape_key(field): loads(value) for field, value in stored.items()}

    def presized(self, data: Dict[str, Any]) -> Any:
        encode = self.encode
        return {key: encode(value) for key, value in data.items()}

    def check(self, value: Any) -> None:
        self.fingerprint(value)

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
