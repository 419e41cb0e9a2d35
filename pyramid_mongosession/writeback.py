"""The write-back: at the response, what one request did to its session
becomes at most one write (two when the session moves to a new id), and
the cookie is set or deleted."""
import dataclasses
import logging
from typing import AbstractSet, Any, Callable, Mapping, Optional

from .cookie import SessionCookie
from .keys import hash_id
from .store import UNCHANGED, StoredSession

log = logging.getLogger(__name__)


@dataclasses.dataclass(slots=True)
class Outcome:
    """What one request did to its session, as the write-back needs it."""

    #: The id the session has now: new, moved to, or the one it was loaded by.
    session_id: str
    #: The id it was loaded by; ``None`` for a new session.
    stored_id: Optional[str]
    #: The stored ``_id`` it was loaded by; ``None`` for a new session.
    stored_key: Optional[bytes]
    #: The id the request's cookie carried, verified.
    cookie_id: Optional[str]
    #: The whole session, as it would be stored.
    stored: StoredSession
    changed: Mapping[str, Any]
    removed: AbstractSet[str]
    renewed: bool
    timeout_changed: bool
    principal_changed: bool
    #: An update must write ``stored.device`` (``None``: remove it).
    device_changed: bool
    invalidated: bool
    #: The cookie was signed with an older secret.
    resign: bool
    #: Deletes the old store's cookie from the response, when this request
    #: took in a session of that store; else ``None``.
    forget_old: Optional[Callable[[Any], None]] = None

    @property
    def worth_storing(self) -> bool:
        return bool(self.stored.data) or self.stored.principal is not None


class WriteBack:
    """Parameters: the ``store`` and the ``cookie`` the sessions use."""

    def __init__(self, store: Any, cookie: SessionCookie):
        self.store = store
        self.cookie = cookie

    def write(self, outcome: Outcome, response: Any) -> None:
        if outcome.forget_old is not None:
            # First: when the old cookie has this package's name, setting
            # ours takes its deletion back.
            outcome.forget_old(response)
        if outcome.stored_id is None:
            stored = self._write_new(outcome, response)
        elif outcome.stored_id != outcome.session_id:
            stored = self._write_moved(outcome, response)
        else:
            stored = self._write_changes(outcome, response)
        principal = outcome.stored.principal
        if stored and outcome.principal_changed and principal is not None:
            self.store.limit_sessions_of(principal)

    def _write_new(self, outcome: Outcome, response: Any) -> bool:
        if not outcome.worth_storing:
            # A cookie naming a session that is gone is left alone: a
            # newer response (a sign-in in another tab) may have replaced
            # it.  Only invalidate() ends it, on its own response.
            if outcome.invalidated and outcome.cookie_id is not None:
                self.cookie.delete(response)
            return False
        self.store.insert(outcome.session_id, outcome.stored)
        self.cookie.set(response, outcome.session_id, self._max_age(outcome))
        return True

    def _write_moved(self, outcome: Outcome, response: Any) -> bool:
        # Insert first: a failed insert must not lose the session.
        stored = self._write_new(outcome, response)
        if not self.store.delete(outcome.stored_key) and stored:
            # Revoked while this request ran: do not bring it back.
            self.store.delete(hash_id(outcome.session_id))
            self.cookie.leave(response)
            return False
        return stored

    def _write_changes(self, outcome: Outcome, response: Any) -> bool:
        stored = outcome.stored
        if outcome.changed:
            self.store.check_size(stored)
        if outcome.changed or outcome.removed or outcome.renewed or outcome.principal_changed:
            found = self.store.update(
                outcome.stored_key,
                outcome.changed,
                outcome.removed,
                expires=stored.expires if outcome.renewed else None,
                renewed=stored.renewed if outcome.renewed else None,
                timeout=stored.timeout if outcome.timeout_changed else None,
                principal=stored.principal if outcome.principal_changed else UNCHANGED,
                device=stored.device if outcome.device_changed else UNCHANGED,
            )
            if not found:
                log.info("session was deleted while this request ran; not restoring it")
                return False
        if outcome.resign or outcome.renewed:
            max_age = self._max_age(outcome)
            if outcome.resign or max_age is not None:
                self.cookie.set(response, outcome.session_id, max_age)
        return True

    def _max_age(self, outcome: Outcome) -> Optional[int]:
        if outcome.stored.timeout is not None:
            return outcome.stored.timeout
        return self.cookie.max_age
