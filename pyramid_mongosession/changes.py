"""Which keys of a session one request changed, removed or handed out."""
from typing import Any, Dict, Mapping, Optional, Set

from .errors import SessionValueError
from .serializers import IMMUTABLE_TYPES

MISSING = object()


class KeyChanges:
    """What a request did to a session's data, key by key.

    A key is *changed* when assigned, *removed* when deleted, and *handed
    out* when the caller got its value: mutable values handed out keep a
    fingerprint, so an in-place change is noticed without ``changed()``.

    Parameters:

    ``codec``
      The value codec (see :mod:`pyramid_mongosession.serializers`).
    """

    def __init__(self, codec: Any):
        self.codec = codec
        self.changed: Set[str] = set()
        self.removed: Set[str] = set()
        self._handed_out: Dict[str, Optional[bytes]] = {}

    def check(self, key: Any, value: Any) -> None:
        """Raise ``TypeError`` (``ValueError`` for text that is not valid
        Unicode) naming ``key`` if it or ``value`` cannot be stored."""
        if not isinstance(key, str):
            raise TypeError(f"session keys must be str, not {type(key).__name__}: {key!r}")
        try:
            key.encode("utf-8")
        except UnicodeEncodeError as error:
            raise ValueError(f"session key {key!r} cannot be stored: {error}") from None
        self._named(key, self.codec.check, value)

    def _named(self, key: str, method: Any, value: Any) -> Any:
        """``method(value)``, its ``TypeError`` or ``ValueError`` naming ``key``."""
        try:
            return method(value)
        except TypeError as error:
            raise TypeError(f"session key {key!r}: the value {error}") from None
        except ValueError as error:
            raise ValueError(f"session key {key!r}: the value {error}") from None

    def hand_out(self, key: str, value: Any) -> Any:
        if key not in self._handed_out and key not in self.changed:
            self._handed_out[key] = (
                None
                if isinstance(value, IMMUTABLE_TYPES)
                else self._named(key, self.codec.fingerprint, value)
            )
        return value

    def change(self, key: str) -> None:
        self.changed.add(key)
        self.removed.discard(key)
        self._handed_out.pop(key, None)

    def remove(self, key: str) -> None:
        self.removed.add(key)
        self.changed.discard(key)
        self._handed_out.pop(key, None)

    def change_handed_out(self, data: Mapping[str, Any]) -> None:
        """``changed()``: every value handed out (all of them if nothing was
        handed out or assigned)."""
        self.changed.update(self._handed_out or ([] if self.changed else data))
        self._handed_out.clear()

    def settle(self, data: Mapping[str, Any]) -> None:
        """Before the write: count as changed the handed-out values that
        were changed in place, and check the changed values again, since a
        value may have been changed in place after its assignment.

        Raises :class:`~pyramid_mongosession.SessionValueError`, naming the
        key, for a value that cannot be stored any more."""
        fingerprint = self.codec.fingerprint
        try:
            for key, before in self._handed_out.items():
                if before is not None and self._named(key, fingerprint, data[key]) != before:
                    self.changed.add(key)
            for key in self.changed:
                if not isinstance(data[key], IMMUTABLE_TYPES):
                    self._named(key, self.codec.check, data[key])
        except (TypeError, ValueError) as error:
            raise SessionValueError(f"the session was not saved: {error}", error) from error
        self._handed_out.clear()
