"""One session as a MongoDB document, and back: field names escaped, values
through the codec, the other fields checked, the size bounded."""
import dataclasses
import datetime
from typing import Any, Dict, Mapping, Optional, Tuple

import bson
from bson.errors import InvalidDocument

from .devices import device_fields
from .errors import SessionTooLargeError
from .keys import escape_key, escaping_growth, hash_id

_DATE_OR_NONE = (datetime.datetime, type(None))
_OPTIONAL_FIELDS = ("expires", "timeout", "principal", "renewed", "device", "moved_from")
#: ``created``, ``expires``, ``renewed`` and ``timeout``, as stored.
StoredTimes = Tuple[
    datetime.datetime, Optional[datetime.datetime], Optional[datetime.datetime], Optional[int]
]
# Any id is stored as 32 bytes: sizing a document needs no hash.
_SIZED_ID = bytes(32)


@dataclasses.dataclass(slots=True)
class StoredSession:
    data: Dict[str, Any]
    created: datetime.datetime
    expires: Optional[datetime.datetime]
    timeout: Optional[int]
    principal: Optional[str] = None
    #: The last renewal; ``None`` in documents of earlier versions.
    renewed: Optional[datetime.datetime] = None
    #: What :mod:`.devices` recorded of the request that signed it in.
    device: Optional[Dict[str, str]] = None
    #: The stored ``_id`` it was loaded by (``hash_id`` of its id).
    key: Optional[bytes] = None
    #: When it ends under the timeouts in force at its load (``expires``,
    #: or sooner if they were lowered); ``None`` when it has no ``expires``.
    ends: Optional[datetime.datetime] = None
    #: In the insert that moves a session to a new id (``regenerate_id``),
    #: the ``_id`` it moves from: two requests moving one session at once
    #: (a form sent twice) each insert a copy, and the limit per principal
    #: must not count the loser's, which its request deletes.
    moved_from: Optional[bytes] = None


class Documents:
    """Parameters: ``codec``, how values are encoded (see
    :mod:`pyramid_mongosession.serializers`)."""

    def __init__(self, codec: Any):
        self.codec = codec

    def document(self, session_id: str, stored: StoredSession) -> Dict[str, Any]:
        encode = self.codec.encode
        data = {escape_key(key): encode(value) for key, value in stored.data.items()}
        return self._document(hash_id(session_id), stored, data)

    def size(self, stored: StoredSession) -> int:
        """The BSON size of the document of ``stored``, from its data as the
        codec hands it to BSON before escaping keys, and the bytes escaping
        adds to the session's own keys: escaping the keys nested in values
        costs far more than the bytes it adds (two per escaped character)
        are worth to a size limit."""
        data = stored.data
        try:
            document = self._document(_SIZED_ID, stored, self.codec.presized(data))
            return len(bson.encode(document)) + escaping_growth(data)
        except Exception:  # a NUL in a key; or a value that cannot be stored
            return bson_size(self.document("", stored))

    @staticmethod
    def _document(stored_id: bytes, stored: StoredSession, data: Any) -> Dict[str, Any]:
        document: Dict[str, Any] = {"_id": stored_id, "data": data, "created": stored.created}
        for field in _OPTIONAL_FIELDS:
            value = getattr(stored, field)
            if value is not None:
                document[field] = value
        return document

    def fields(self, values: Mapping[str, Any], prefix: str) -> Dict[str, Any]:
        """``values`` as the fields of ``data`` (``prefix``: ``"data."``
        for an update's field paths)."""
        encode = self.codec.encode
        return {prefix + escape_key(key): encode(value) for key, value in values.items()}

    @staticmethod
    def undecoded(document: Mapping[str, Any]) -> StoredSession:
        """The session a document holds, its data still as stored (the
        codec's ``decode_data`` reads it); ``ValueError`` when it is not one
        the store wrote."""
        principal, device = document.get("principal"), document.get("device")
        data = document.get("data")
        if not isinstance(data, dict):
            raise ValueError("data is not a document")
        times = stored_times(document)
        if times is None:
            raise ValueError("created, expires, renewed or timeout is not as the store writes it")
        created, expires, renewed, timeout = times
        if not isinstance(principal, (str, type(None))):
            raise ValueError("principal is not a string")
        return StoredSession(
            data,
            created,
            expires,
            timeout,
            principal,
            renewed,
            # Only shown, never worth losing a session over: a malformed one is none.
            None if device is None else device_fields(device),
            document["_id"],
        )


def stored_times(document: Mapping[str, Any]) -> Optional[StoredTimes]:
    """A document's ``created``, ``expires``, ``renewed`` and ``timeout``,
    or ``None`` when they are not as the store writes them."""
    created, expires = document.get("created"), document.get("expires")
    renewed, timeout = document.get("renewed"), document.get("timeout")
    if (
        isinstance(created, datetime.datetime)
        and isinstance(expires, _DATE_OR_NONE)
        and isinstance(renewed, _DATE_OR_NONE)
        and (timeout is None or (isinstance(timeout, int) and not isinstance(timeout, bool)))
    ):
        return created, expires, renewed, timeout
    return None


def bson_encoded(document: Mapping[str, Any]) -> bytes:
    try:
        return bson.encode(document)
    except InvalidDocument as error:
        raise TypeError(f"a session value cannot be stored: {error}") from error


def bson_size(document: Mapping[str, Any]) -> int:
    return len(bson_encoded(document))


def check_size(size: int, max_size: int) -> None:
    """Raise :class:`SessionTooLargeError` if a document of ``size`` bytes
    is larger than ``max_size``."""
    if size > max_size:
        raise SessionTooLargeError(
            f"the session is too large to store: it would be {size:,} bytes, "
            f"and at most {max_size:,} are allowed (mongosession.max_size)"
        )
