"""The errors the store raises, and the translation of pymongo's into them."""
import contextlib
from typing import Any, Optional

import bson
import pymongo
from bson.errors import InvalidDocument
from pymongo.errors import DocumentTooLarge, OperationFailure, PyMongoError

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
# Server codes for "the document an update would produce is too large".
_TOO_LARGE_CODES = frozenset((10334, 17419, 17420))
_NO_TIME_LIMIT = contextlib.nullcontext()
# What a pymongo call raises that translated() turns into the package's errors.
_MONGODB_ERRORS = (PyMongoError, InvalidDocument)


class SessionStoreError(Exception):
    """The session could not be loaded from or saved to MongoDB: the
    database is unreachable, too slow (``mongosession.operation_timeout``)
    or failing.  Raised where the session is loaded or saved; with
    ``config.include`` an exception view for it can answer the request (a
    503, say).

    Parameters:

    ``message``
      What could not be done, and why.  Required.

    ``error``
      The pymongo exception behind it, kept as the ``error`` attribute.
      Default: ``None``.
    """

    def __init__(self, message: str, error: Optional[BaseException] = None):
        super().__init__(message)
        self.error = error


class SessionTooLargeError(SessionStoreError):
    """A write would make the session's document larger than
    ``mongosession.max_size`` (256 KiB by default) or MongoDB's 16 MB; the
    message names the size, and nothing is written."""


class SessionValueError(SessionStoreError):
    """A value changed in place since it was assigned or read
    (``session["cart"].append(object())``) can no longer be stored; raised
    when the session is saved, naming the key, and nothing is written.

    ``error`` is the ``TypeError`` or ``ValueError`` saying why."""


def call_mongodb(
    method: Any,
    *args: Any,
    action: str,
    size_of: Any = None,
    time_limit: Optional[float] = None,
    **kwargs: Any,
) -> Any:
    """``method(*args, **kwargs)``, with pymongo's errors raised as
    :class:`SessionStoreError` saying what could not be done (``action``,
    e.g. "load the session"),
    and a document too large as :class:`SessionTooLargeError` giving the size
    of ``size_of``.  Every command it sends, server selection included,
    ends within ``time_limit`` seconds (``pymongo.timeout``), unless that is
    ``None``."""
    try:
        # time_limited(), without a call: the store calls this for every command.
        with _NO_TIME_LIMIT if time_limit is None else pymongo.timeout(time_limit):
            return method(*args, **kwargs)
    except _MONGODB_ERRORS as error:
        raise translated(error, action, size_of) from error


def translated(error: Exception, action: str, size_of: Any = None) -> Exception:
    """A pymongo or bson ``error`` as :func:`call_mongodb` raises it.  Only
    a session's write (``size_of``: what it sends) is told as a session
    too large or a value that cannot be stored."""
    too_large = isinstance(error, DocumentTooLarge) or (
        isinstance(error, OperationFailure) and error.code in _TOO_LARGE_CODES
    )
    if too_large and size_of is not None:
        return _too_large(size_of, error)
    if too_large or isinstance(error, PyMongoError):
        return SessionStoreError(f"cannot {action}: {error}", error)
    if size_of is None:
        return TypeError(f"cannot {action}: {error}")
    return TypeError(f"a session value cannot be stored: {error}")


def time_limited(time_limit: Optional[float]) -> Any:
    """``pymongo.timeout(time_limit)``, or no limit for ``None``."""
    return _NO_TIME_LIMIT if time_limit is None else pymongo.timeout(time_limit)


def _too_large(size_of: Any, error: Exception) -> SessionTooLargeError:
    size = len(bson.encode(size_of)) if size_of is not None else 0
    return SessionTooLargeError(
        f"the session is too large to store: this write alone is {size:,} "
        f"bytes, and MongoDB stores at most {MAX_DOCUMENT_BYTES:,} bytes "
        "in one session document",
        error,
    )
