"""Session keys as MongoDB field names, and session ids as stored ``_id``."""
import hashlib
import re
from typing import Any, Collection

_ESCAPES = {"%": "%25", ".": "%2E", "$": "%24", "\x00": "%00"}
_SPECIAL = re.compile("[%.$\x00]")
_ESCAPED = re.compile("%(25|2E|24|00)")
_UNESCAPES = {code[1:]: char for char, code in _ESCAPES.items()}
_HASHED_ID_TEXT = re.compile(r"[0-9a-fA-F]{64}")
#: A session id, as ``new_session_id()`` makes it and a cookie carries it:
#: 256 random bits in URL-safe base64.
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{43}")


def needs_escaping(key: str) -> bool:
    """Whether :func:`escape_key` changes ``key``."""
    return not key or _SPECIAL.search(key) is not None


def escape_key(key: str) -> str:
    """A session key as a field name that MongoDB reads literally."""
    if not key:
        return "%"
    return _SPECIAL.sub(_escape, key)


def _escape(special: "re.Match[str]") -> str:
    return _ESCAPES[special.group()]


def escaping_growth(keys: Collection[str]) -> int:
    """How many bytes :func:`escape_key` adds to ``keys`` in all: two for
    each character it escapes, one for an empty key."""
    return 2 * len(_SPECIAL.findall("".join(keys))) + ("" in keys)


def unescape_key(field: str) -> str:
    if field == "%":
        return ""
    if "%" not in field:
        return field
    return _ESCAPED.sub(lambda match: _UNESCAPES[match.group(1)], field)


def is_session_id(value: Any) -> bool:
    return isinstance(value, str) and SESSION_ID.fullmatch(value) is not None


def hash_id(session_id: str) -> bytes:
    """The stored ``_id``, the 32-byte SHA-256 digest of the id (BSON binary):
    reading the collection does not reveal live ids."""
    return hashlib.sha256(session_id.encode("ascii")).digest()


def hashed_id_text(stored_id: Any) -> str:
    """A stored ``_id`` as people read it: hex for the digest."""
    return stored_id.hex() if isinstance(stored_id, bytes) else str(stored_id)


def stored_id_from_text(text: Any) -> bytes:
    """The stored ``_id`` that :func:`hashed_id_text` showed as ``text``;
    ``ValueError`` for anything but 64 hex digits."""
    if not isinstance(text, str) or not _HASHED_ID_TEXT.fullmatch(text):
        raise ValueError(f"a hashed id as sessions_of lists it is 64 hex digits, not {text!r}")
    return bytes.fromhex(text)
