"""Importers for ``mongosession.import_from``: a visitor who has no session
of this package yet, but one of the store an application used before, keeps
it.  An importer is a callable ``(request) -> mapping or None``; one that
also has ``forget(response)`` has it called on the response that takes
the import in, to delete what the old store left in the browser."""
import time
from typing import Any, Callable, Dict, Optional

from pyramid.session import JSONSerializer
from webob.cookies import SignedSerializer

from .cookie import cookie_pattern, cookie_values


class PyramidCookieImporter:
    """Reads the sessions of Pyramid's own
    :func:`~pyramid.session.SignedCookieSessionFactory`.

    Give it what that factory was given.  Parameters:

    ``secret``
      Its secret.  Required.

    ``salt``, ``hashalg``, ``serializer``
      Default: ``"pyramid.session."``, ``"sha512"``, and Pyramid 2's
      :class:`~pyramid.session.JSONSerializer` (pass
      :class:`~pyramid.session.PickleSerializer` for cookies Pyramid 1
      wrote).

    ``cookie_name``, ``path``, ``domain``
      Its cookie's name and attributes.  Default: ``"session"``, ``"/"``,
      ``None``.  The name may be this package's own: a cookie that fails
      this package's verification is tried as an old one.

    ``timeout``
      Its idle timeout, in seconds, or ``None``: a session idle longer
      imports nothing, as Pyramid would have ended it.  Default: ``1200``.

    ``clock``
      The current time in seconds since the epoch; for tests.
      Default: :func:`time.time`.
    """

    def __init__(
        self,
        secret: str,
        *,
        salt: str = "pyramid.session.",
        hashalg: str = "sha512",
        serializer: Any = None,
        cookie_name: str = "session",
        path: str = "/",
        domain: Optional[str] = None,
        timeout: Optional[int] = 1200,
        clock: Callable[[], float] = time.time,
    ):
        self._signer = SignedSerializer(
            secret, salt, hashalg, serializer=serializer or JSONSerializer()
        )
        self.cookie_name = cookie_name
        self._named = cookie_pattern(cookie_name)
        self._path = path
        self._domain = domain
        self._timeout = timeout
        self._clock = clock

    def __call__(self, request: Any) -> Optional[Dict[str, Any]]:
        """The data of the first of the request's cookies that verifies and
        has not timed out; ``None`` if none does.

        Parameters:

        ``request``
          The request of a visitor without this package's cookie.
          Required.
        """
        for value in cookie_values(request, self._named):
            state = self._state(value)
            if state is not None:
                return state
        return None

    def forget(self, response: Any) -> None:
        """Delete the old cookie.

        Parameters:

        ``response``
          The response that takes the import in.  Required.
        """
        response.delete_cookie(self.cookie_name, path=self._path, domain=self._domain)

    def _state(self, value: bytes) -> Optional[Dict[str, Any]]:
        try:
            accessed, _created, state = self._signer.loads(value)
        except (ValueError, TypeError):
            # A forged, foreign or malformed cookie (this package's own too).
            return None
        if not isinstance(state, dict) or not isinstance(accessed, (int, float)):
            return None
        if self._timeout is not None and self._clock() - accessed > self._timeout:
            return None
        return state
