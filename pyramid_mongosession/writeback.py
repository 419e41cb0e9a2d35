"""The write-back plan of :class:`~pyramid_mongosession.MongoSession`: at
the response, a request's changes become at most one write (two when the
session moves to a new id), and the cookie is set or deleted."""
import logging
from typing import Any, Dict, Optional

from .attempt import CommitWatch, will_be_retried
from .cookie import SessionCookie
from .store import UNCHANGED, StoredSession

log = logging.getLogger(__name__)


class WriteBack:
    """Mixed into the session class; uses its state."""

    _store: Any
    _cookie: SessionCookie
    _cookie_on_exception: bool
    _data: Dict[str, Any]
    _keys: Any
    _written: bool
    _loaded: bool
    _request: Any
    _move: Any
    _id: Optional[str]
    _stored_id: Optional[str]
    _created: Any
    _expires: Any
    _own_timeout: Optional[int]
    _principal: Optional[str]
    _renewed: bool
    _renewed_at: Any
    _timeout_changed: bool
    _principal_changed: bool
    _cookie_id: Optional[str]
    _invalidated: bool
    _resign: bool
    _commit: CommitWatch

    @property
    def id(self) -> str:  # pragma: no cover - the session class has its own
        raise NotImplementedError

    def _timeout(self) -> Optional[int]:  # pragma: no cover - as id
        raise NotImplementedError

    def _write_back(self, request: Any, response: Any) -> None:
        """Turn this request's changes into at most one write, and set or
        delete the cookie.  Runs once, from the tween or a response callback."""
        if self._written or not self._loaded:
            return
        self._written = True
        self._move = None
        self._request = None
        if will_be_retried(request) or self._commit.failed:
            # Only the attempt whose response is sent, in a transaction
            # that committed, leaves anything behind.
            return
        if request.exception is not None and not self._cookie_on_exception:
            return
        self._keys.settle(self._data)
        if self._stored_id is None:
            self._write_new(response)
        elif self._stored_id != self._id:
            self._write_moved(response)
        else:
            self._write_changes(response)

    def _worth_storing(self) -> bool:
        return bool(self._data) or self._principal is not None

    def _write_new(self, response: Any) -> None:
        if not self._worth_storing():
            # A cookie naming a session that is gone is left alone: a
            # newer response (a sign-in in another tab) may have replaced
            # it.  Only invalidate() ends it, on its own response.
            if self._invalidated and self._cookie_id is not None:
                self._cookie.delete(response)
            return
        self._store.insert(self.id, self._stored())
        self._cookie.set(response, self.id, self._cookie_max_age())

    def _write_moved(self, response: Any) -> None:
        # Insert first: a failed insert must not lose the session.
        self._write_new(response)
        if not self._store.delete(self._stored_id) and self._worth_storing():
            # Revoked while this request ran: do not bring it back.
            self._store.delete(self.id)
            self._cookie.leave(response)

    def _write_changes(self, response: Any) -> None:
        changed, removed = self._keys.changed, self._keys.removed
        if changed:
            self._store.check_size(self._id, self._stored())
        if changed or removed or self._renewed or self._principal_changed:
            found = self._store.update(
                self._id,
                {key: self._data[key] for key in changed},
                removed,
                expires=self._expires if self._renewed else None,
                renewed=self._renewed_at if self._renewed else None,
                timeout=self._own_timeout if self._timeout_changed else None,
                principal=self._principal if self._principal_changed else UNCHANGED,
            )
            if not found:
                log.info("session was deleted while this request ran; not restoring it")
                return
        max_age = self._cookie_max_age()
        if self._resign or (self._renewed and max_age is not None):
            self._cookie.set(response, self.id, max_age)

    def _stored(self) -> StoredSession:
        return StoredSession(
            self._data,
            self._created,
            self._expires,
            self._own_timeout,
            self._principal,
            # Without an idle timeout a session is never renewed.
            self._renewed_at if self._timeout() is not None else None,
        )

    def _cookie_max_age(self) -> Optional[int]:
        if self._own_timeout is not None:
            return self._own_timeout
        return self._cookie.max_age
