"""The indexes the store relies on: a sparse index on ``principal`` (for
``revoke`` and ``sessions_of``) and an index on ``expires``: the TTL index
with ``reaper = ttl``, a plain one for reaping otherwise.  Ensured at
start-up or, when the database cannot be reached then, in the background
after a later successful command."""
import logging
import threading
import time
from typing import Any, Dict, Mapping, Optional

import pymongo
from pymongo.errors import ExecutionTimeout, OperationFailure, PyMongoError

from .errors import SessionStoreError, call_mongodb, time_limited

log = logging.getLogger(__name__)


# Sessions expiring in the same millisecond would collide on a unique
# index on expires; the TTL monitor skips what a partial one leaves out.
_UNUSABLE_OPTIONS = ("unique",)
_UNUSABLE_FOR_TTL = ("partialFilterExpression", "unique")


class UnusableIndex(SessionStoreError):
    """An index on ``expires`` with options the store cannot work with."""


def refused(error: SessionStoreError) -> bool:
    """The server refused (no privilege, a conflicting index), or the index
    there is unusable, as opposed to not answering in time or not at all,
    which a later try may mend."""
    return isinstance(error, UnusableIndex) or (
        isinstance(error.error, OperationFailure)
        and not isinstance(error.error, ExecutionTimeout)
    )


class Indexes:
    """Parameters:

    ``collection``
      The sessions collection.

    ``ttl``
      Ensure the TTL index on ``expires`` too.  Default: ``True``.

    ``pending``
      Ensure them in the background after the first successful command,
      unless :meth:`ensure_at_startup` ran.  Default: ``False``.

    ``time_limit``
      Seconds each command may take, or ``None``.  Default: ``None``.
    """

    retry_seconds = 30.0

    def __init__(
        self,
        collection: Any,
        ttl: bool = True,
        pending: bool = False,
        time_limit: Optional[float] = None,
    ):
        self.collection = collection
        self.ttl = ttl
        self.pending = pending
        self.time_limit = time_limit
        self._lock = threading.Lock()
        self._attempted = float("-inf")

    def information(self) -> Dict[str, Any]:
        """pymongo's ``index_information()`` of the collection."""
        found: Dict[str, Any] = call_mongodb(
            self.collection.index_information,
            action=f"read the indexes of {self.collection.full_name}",
            time_limit=self.time_limit,
        )
        return found

    def ensure(self) -> None:
        """Create what is missing; make an ``expires`` index with another
        ``expireAfterSeconds`` a TTL index with 0 (``collMod``); raise
        :class:`UnusableIndex` for one with options the store cannot work
        with (``unique``; ``partialFilterExpression`` for the TTL index).

        The indexes that only make operations faster, on ``principal`` and
        (without the TTL reaper) a plain one on ``expires``, are logged,
        not raised, when they cannot be created (no privilege, say)."""
        keys = {tuple(spec["key"]): (name, spec) for name, spec in self.information().items()}
        if (("expires", 1),) in keys:
            self._check_usable(*keys[(("expires", 1),)])
        if (("principal", 1),) not in keys:
            self._create_helpful_index(
                "principal", "revoke and sessions_of will scan the collection", sparse=True
            )
        if (("expires", 1),) not in keys and not self.ttl:
            self._create_helpful_index("expires", "reaping will scan the collection")
        if not self.ttl:
            return
        if (("expires", 1),) not in keys:
            call_mongodb(
                self.collection.create_index,
                [("expires", pymongo.ASCENDING)],
                action=f"create the TTL index of {self.collection.full_name}",
                time_limit=None,  # see _create_helpful_index
                expireAfterSeconds=0,
            )
            return
        name, spec = keys[(("expires", 1),)]
        if spec.get("expireAfterSeconds") != 0:
            self._make_ttl(name, spec)

    def _check_usable(self, name: str, spec: Mapping[str, Any]) -> None:
        options = _UNUSABLE_FOR_TTL if self.ttl else _UNUSABLE_OPTIONS
        unusable = [option for option in options if spec.get(option)]
        if unusable:
            raise UnusableIndex(
                f"index {name!r} on {self.collection.full_name}.expires has "
                f"{' and '.join(unusable)}, which the session store cannot work with; "
                "drop it and restart"
            )

    def _create_helpful_index(self, field: str, without_it: str, **options: Any) -> None:
        try:
            call_mongodb(
                self.collection.create_index,
                [(field, pymongo.ASCENDING)],
                action=f"create the {field} index of {self.collection.full_name}",
                # A limit would abort building it on a large collection, at
                # every start; the server has just answered listIndexes.
                time_limit=None,
                **options,
            )
        except SessionStoreError as error:
            if not refused(error):
                raise
            log.warning("%s; %s", error, without_it)

    def _make_ttl(self, name: str, spec: Mapping[str, Any]) -> None:
        log.warning(
            "index %r on %s.expires has expireAfterSeconds=%r; changing it to 0",
            name,
            self.collection.full_name,
            spec.get("expireAfterSeconds"),
        )
        try:
            with time_limited(self.time_limit):
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

    def ensure_at_startup(self, collection: Any = None) -> None:
        """:meth:`ensure`, but a database that cannot be reached only logs a
        warning; the indexes are then ensured after a later successful
        command, at least ``retry_seconds`` after this attempt.
        ``collection``: the same collection through a client used only for
        this."""
        self.pending = False
        self._attempted = time.monotonic()
        try:
            if collection is None:
                self.ensure()
            else:
                Indexes(collection, ttl=self.ttl, time_limit=self.time_limit).ensure()
        except SessionStoreError as error:
            if refused(error):
                raise
            self.pending = True
            log.warning(
                "cannot reach MongoDB to ensure the indexes of %s; "
                "will try again later: %s",
                self.collection.full_name,
                error,
            )

    def after_success(self) -> None:
        """Called after each successful command: retry if pending and due."""
        if not self.pending:
            return
        with self._lock:
            if time.monotonic() - self._attempted < self.retry_seconds:
                return
            self._attempted = time.monotonic()
            self.pending = False
        threading.Thread(target=self.retry, name="mongosession-index", daemon=True).start()

    def retry(self) -> None:
        try:
            self.ensure()
            log.info("indexes of %s ensured", self.collection.full_name)
        except SessionStoreError as error:
            if refused(error):
                # The server refused: trying again will not help.
                log.error("cannot ensure the indexes, and will not retry: %s", error)
                return
            self.pending = True
            log.warning("cannot ensure the indexes yet: %s", error)
