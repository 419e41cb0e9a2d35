"""Everything that talks to MongoDB: the client, one session document's
find/insert/update/delete, key escaping, the TTL index and reaping."""
import dataclasses
import datetime
import hashlib
import logging
import re
import threading
import time
from typing import Any, Dict, Iterable, Mapping, Optional
from urllib.parse import parse_qs, urlsplit

import bson
import pymongo
from bson.codec_options import CodecOptions
from bson.errors import BSONError, InvalidDocument
from pymongo.driver_info import DriverInfo
from pymongo.errors import DocumentTooLarge, OperationFailure, PyMongoError
from pyramid.exceptions import ConfigurationError

log = logging.getLogger(__name__)

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
# Server codes for "the document an update would produce is too large".
_TOO_LARGE_CODES = frozenset((10334, 17419, 17420))
_ESCAPES = {"%": "%25", ".": "%2E", "$": "%24", "\x00": "%00"}
_ESCAPED = re.compile("%(25|2E|24|00)")
_UNESCAPES = {code[1:]: char for char, code in _ESCAPES.items()}


class SessionStoreError(Exception):
    """The session could not be loaded from or saved to MongoDB.

    ``error`` is the pymongo exception behind it, when there is one."""

    def __init__(self, message: str, error: Optional[BaseException] = None):
        super().__init__(message)
        self.error = error


class SessionTooLargeError(SessionStoreError):
    """The session would not fit into one MongoDB document (16 MB)."""


def escape_key(key: str) -> str:
    """A session key as a field name that MongoDB reads literally."""
    if not key:
        return "%"
    if "%" in key or "." in key or "$" in key or "\x00" in key:
        return "".join(_ESCAPES.get(char, char) for char in key)
    return key


def unescape_key(field: str) -> str:
    if field == "%":
        return ""
    if "%" not in field:
        return field
    return _ESCAPED.sub(lambda match: _UNESCAPES[match.group(1)], field)


def hash_id(session_id: str) -> str:
    """The stored ``_id``: reading the collection does not reveal live ids."""
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()


@dataclasses.dataclass
class StoredSession:
    data: Dict[str, Any]
    created: datetime.datetime
    expires: Optional[datetime.datetime]
    timeout: Optional[int]


def build_client(options: Any, settings: Mapping[str, Any]) -> Any:
    """The application's ``MongoClient``: its own (``client_callable``) or one
    made lazily (``connect=False``) from ``url``."""
    if options.client_callable is not None:
        return options.client_callable(settings)
    from . import __version__

    keywords: Dict[str, Any] = {}
    query = {name.lower() for name in parse_qs(urlsplit(options.url).query)}
    if "serverselectiontimeoutms" not in query:
        keywords["serverSelectionTimeoutMS"] = int(
            options.server_selection_timeout * 1000
        )
    if options.username is not None:
        keywords["username"] = options.username
        keywords["password"] = options.password
    try:
        return pymongo.MongoClient(
            options.url,
            connect=False,
            tz_aware=True,
            driver=DriverInfo("pyramid_mongosession", __version__),
            **keywords,
        )
    except (PyMongoError, ValueError, TypeError) as error:
        raise ConfigurationError(
            f"mongosession.url is not a usable MongoDB URL ({error}): "
            f"{_without_password(options.url)!r}"
        ) from error


def _without_password(url: str) -> str:
    return re.sub(r"(//[^/@:]*:)[^/@]*@", r"\1***@", url)


def collection_from_client(client: Any, options: Any) -> Any:
    try:
        if options.database:
            database = client[options.database]
        else:
            database = client.get_default_database("pyramid")
    except PyMongoError as error:
        raise ConfigurationError(
            f"mongosession.database is not a valid database name ({error})"
        ) from error
    try:
        return database[options.collection]
    except PyMongoError as error:
        raise ConfigurationError(
            f"mongosession.collection is not a valid collection name ({error}): "
            f"{options.collection!r}"
        ) from error


class SessionStore:
    """Reads and writes session documents in one collection.

    Parameters:

    ``collection``
      A :class:`pymongo.collection.Collection`.

    ``codec``
      How values are encoded (see :mod:`pyramid_mongosession.serializers`).

    ``sessions_expire``
      ``False`` when sessions may have no ``expires`` field (no timeout
      configured).  Default: ``True``.

    ``ensure_ttl_index``
      Ensure the TTL index in the background after the first successful
      command, unless :meth:`ensure_indexes_at_startup` did.
      Default: ``False``.
    """

    def __init__(
        self,
        collection: Any,
        codec: Any,
        sessions_expire: bool = True,
        ensure_ttl_index: bool = False,
    ):
        self.collection = collection.with_options(
            codec_options=CodecOptions(tz_aware=True, tzinfo=datetime.timezone.utc)
        )
        self.codec = codec
        # Without a timeout, documents have no ``expires`` unless the
        # session adjusted its own; those without one stay live.
        self._sessions_expire = sessions_expire
        self.index_retry_seconds = 30.0
        self._index_pending = ensure_ttl_index
        self._index_lock = threading.Lock()
        self._index_attempted = float("-inf")

    def load(self, session_id: str, now: datetime.datetime) -> Optional[StoredSession]:
        """The live session stored under ``session_id``, or ``None``."""
        unexpired = {"$gt": now} if self._sessions_expire else {"$not": {"$lte": now}}
        live = {"_id": hash_id(session_id), "expires": unexpired}
        try:
            document = self._call(self.collection.find_one, live, action="load")
        except BSONError as error:
            log.warning("session document cannot be decoded, starting afresh: %s", error)
            return None
        if document is None:
            return None
        try:
            return self._decode(document)
        except Exception as error:  # whatever a serializer's loads() raises
            log.warning(
                "session data cannot be decoded with the %r serializer, "
                "starting afresh: %r",
                self.codec.name,
                error,
            )
            return None

    def _decode(self, document: Mapping[str, Any]) -> StoredSession:
        created, expires = document["created"], document.get("expires")
        timeout = document.get("timeout")
        if not isinstance(created, datetime.datetime) or not isinstance(
            expires, (datetime.datetime, type(None))
        ):
            raise ValueError("created or expires is not a date")
        if not isinstance(timeout, (int, type(None))) or isinstance(timeout, bool):
            raise ValueError("timeout is not a whole number")
        decode = self.codec.decode
        data = {
            unescape_key(field): decode(value)
            for field, value in document["data"].items()
        }
        return StoredSession(data=data, created=created, expires=expires, timeout=timeout)

    def insert(
        self,
        session_id: str,
        data: Mapping[str, Any],
        created: datetime.datetime,
        expires: Optional[datetime.datetime],
        timeout: Optional[int],
    ) -> None:
        document: Dict[str, Any] = {
            "_id": hash_id(session_id),
            "data": self._encode_fields(data, prefix=""),
            "created": created,
        }
        if expires is not None:
            document["expires"] = expires
        if timeout is not None:
            document["timeout"] = timeout
        self._call(self.collection.insert_one, document, action="save", size_of=document)

    def update(
        self,
        session_id: str,
        changed: Mapping[str, Any],
        removed: Iterable[str],
        expires: Optional[datetime.datetime] = None,
        timeout: Optional[int] = None,
    ) -> bool:
        """Write only the given fields; ``False`` if the session is gone."""
        fields = self._encode_fields(changed, prefix="data.")
        if expires is not None:
            fields["expires"] = expires
        if timeout is not None:
            fields["timeout"] = timeout
        update: Dict[str, Any] = {}
        if fields:
            update["$set"] = fields
        unset = {"data." + escape_key(key): "" for key in removed}
        if unset:
            update["$unset"] = unset
        result = self._call(
            self.collection.update_one,
            {"_id": hash_id(session_id)},
            update,
            action="save",
            size_of=update,
        )
        return bool(result.matched_count)

    def delete(self, session_id: str) -> bool:
        result = self._call(
            self.collection.delete_one, {"_id": hash_id(session_id)}, action="delete"
        )
        return bool(result.deleted_count)

    def reap(self, now: datetime.datetime) -> int:
        """Delete expired documents; the number deleted."""
        result = self._call(
            self.collection.delete_many, {"expires": {"$lte": now}}, action="reap"
        )
        return int(result.deleted_count)

    def _encode_fields(self, values: Mapping[str, Any], prefix: str) -> Dict[str, Any]:
        encode = self.codec.encode
        return {prefix + escape_key(key): encode(value) for key, value in values.items()}

    def _call(
        self, method: Any, *args: Any, action: str, size_of: Any = None, **kwargs: Any
    ) -> Any:
        try:
            result = method(*args, **kwargs)
        except DocumentTooLarge as error:
            raise self._too_large(size_of, error) from error
        except OperationFailure as error:
            if error.code in _TOO_LARGE_CODES:
                raise self._too_large(size_of, error) from error
            raise SessionStoreError(f"cannot {action} the session: {error}", error) from error
        except PyMongoError as error:
            raise SessionStoreError(f"cannot {action} the session: {error}", error) from error
        except InvalidDocument as error:
            raise TypeError(f"a session value cannot be stored: {error}") from error
        if self._index_pending:
            self._retry_index_in_background()
        return result

    @staticmethod
    def _too_large(size_of: Any, error: Exception) -> SessionTooLargeError:
        size = len(bson.encode(size_of)) if size_of is not None else 0
        return SessionTooLargeError(
            f"the session is too large to store: this write alone is {size:,} "
            f"bytes, and MongoDB stores at most {MAX_DOCUMENT_BYTES:,} bytes "
            "in one session document",
            error,
        )

    # -- the TTL index -------------------------------------------------------

    def ensure_indexes(self) -> None:
        """Make sure the TTL index on ``expires`` exists with
        ``expireAfterSeconds=0``; fix one with other options (``collMod``)."""
        existing = self._call(self.collection.index_information, action="read indexes of")
        for name, spec in existing.items():
            if spec.get("key") == [("expires", 1)]:
                if spec.get("expireAfterSeconds") != 0:
                    self._make_ttl(name, spec)
                return
        self._call(
            self.collection.create_index,
            [("expires", pymongo.ASCENDING)],
            action="create the TTL index for",
            expireAfterSeconds=0,
        )

    def _make_ttl(self, name: str, spec: Mapping[str, Any]) -> None:
        log.warning(
            "index %r on %s.expires has expireAfterSeconds=%r; changing it to 0",
            name,
            self.collection.full_name,
            spec.get("expireAfterSeconds"),
        )
        try:
            self.collection.database.command(
                "collMod",
                self.collection.name,
                index={"name": name, "expireAfterSeconds": 0},
            )
        except PyMongoError as error:
            raise SessionStoreError(
                f"index {name!r} on {self.collection.full_name}.expires is not a "
                "TTL index with expireAfterSeconds=0 and cannot be changed into "
                f"one ({error}); drop it and restart",
                error,
            ) from error

    def ensure_indexes_at_startup(self) -> None:
        """:meth:`ensure_indexes`, but a database that cannot be reached only
        logs a warning; the index is then ensured after a later successful
        request."""
        self._index_pending = False
        self._index_attempted = time.monotonic()
        try:
            self.ensure_indexes()
        except SessionStoreError as error:
            if isinstance(error.error, OperationFailure):
                raise
            self._index_pending = True
            log.warning(
                "cannot reach MongoDB to ensure the TTL index on %s.expires; "
                "will try again later: %s",
                self.collection.full_name,
                error,
            )

    def _retry_index_in_background(self) -> None:
        with self._index_lock:
            if time.monotonic() - self._index_attempted < self.index_retry_seconds:
                return
            self._index_attempted = time.monotonic()
            self._index_pending = False
        threading.Thread(
            target=self._retry_index, name="mongosession-index", daemon=True
        ).start()

    def _retry_index(self) -> None:
        try:
            self.ensure_indexes()
            log.info("TTL index on %s.expires ensured", self.collection.full_name)
        except SessionStoreError as error:
            self._index_pending = True
            log.warning("cannot ensure the TTL index yet: %s", error)
