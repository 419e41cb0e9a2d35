"""The signed session-id cookie: read (the first that verifies), re-sign,
set, delete, and ``Vary: Cookie`` on every response that touches it."""
import binascii
import hmac
import re
from typing import Any, List, Optional, Sequence, Tuple

from webob.cookies import SignedSerializer

from .keys import SESSION_ID

SALT = "pyramid_mongosession."
# A signed cookie is ~150 characters; anything much longer is not ours.
MAX_COOKIE_LENGTH = 512
_SESSION_ID = re.compile(SESSION_ID.pattern.encode("ascii"))
_URLSAFE = bytes.maketrans(b"-_", b"+/")


class _SessionIdText:
    """The ``serializer`` of webob's SignedSerializer for a bare session id;
    only to sign: :meth:`SessionCookie.verify` reads what it signs."""

    @staticmethod
    def dumps(session_id: str) -> bytes:
        return session_id.encode("ascii")


def _prepared_hmac(secret: str) -> Any:
    """The HMAC WebOb's ``SignedSerializer`` signs with for ``secret``, its
    key set: each verification copies it rather than setting the key again."""
    signer = SignedSerializer(secret, SALT, serializer=_SessionIdText())
    return hmac.new(signer.salted_secret, digestmod=signer.hashalg)


class SessionCookie:
    """The cookie that carries a session's id, signed with HMAC (WebOb's
    ``SignedSerializer``).

    Parameters:

    ``name``
      The cookie's name.  Default: ``"session"``.

    ``secrets``
      The secrets: the first signs, all verify.  Required.

    ``max_age``
      Seconds, or ``None`` for a browser-session cookie.  Default: ``None``.

    ``path``, ``domain``, ``secure``, ``httponly``, ``samesite``
      The cookie's attributes.  Default: ``"/"``, ``None``, ``False``,
      ``True``, ``"Lax"``.
    """

    def __init__(
        self,
        secrets: Sequence[str],
        name: str = "session",
        *,
        max_age: Optional[int] = None,
        path: str = "/",
        domain: Optional[str] = None,
        secure: bool = False,
        httponly: bool = True,
        samesite: str = "Lax",
    ):
        self.name = name
        self._named = cookie_pattern(name)
        self.max_age = max_age
        self._attributes = dict(
            path=path, domain=domain, secure=secure, httponly=httponly, samesite=samesite
        )
        self._signer = SignedSerializer(secrets[0], SALT, serializer=_SessionIdText())
        self._hmacs = [_prepared_hmac(secret) for secret in secrets]
        self._digest_size = self._hmacs[0].digest_size

    def read(self, request: Any) -> Tuple[Optional[str], bool]:
        """The session id the request's cookie carries, and whether to
        re-sign it with the first secret; ``(None, False)`` when no cookie
        verifies.  A sibling subdomain can plant a cookie of the same name
        beside ours: the first that verifies is used, the others never
        acted on."""
        for value in cookie_values(request, self._named):
            session_id, resign = self.verify(value)
            if session_id is not None:
                return session_id, resign
        return None, False

    def verify(self, cookie: bytes) -> Tuple[Optional[str], bool]:
        """The id one cookie value carries, and whether it should be
        re-signed; ``(None, False)`` for any bad value.

        Read as WebOb's ``SignedSerializer.loads`` reads it (the same base64
        decoding, HMAC and constant-time comparison), with each secret's key
        set once rather than on every request: ``loads`` takes about twenty
        Python calls per cookie, a third of what a session adds to a read."""
        if not cookie or len(cookie) > MAX_COOKIE_LENGTH:
            return None, False
        try:
            signed = binascii.a2b_base64(cookie.translate(_URLSAFE) + b"=" * (-len(cookie) % 4))
        except binascii.Error:
            return None, False
        signature, payload = signed[: self._digest_size], signed[self._digest_size :]
        for position, prepared in enumerate(self._hmacs):
            mac = prepared.copy()
            mac.update(payload)
            if hmac.compare_digest(mac.digest(), signature):
                if not _SESSION_ID.fullmatch(payload):
                    return None, False
                return payload.decode("ascii"), position > 0
        return None, False

    def set(self, response: Any, session_id: str, max_age: Optional[int]) -> None:
        value = self._signer.dumps(session_id).decode("ascii")
        self._set(response, value, max_age)

    def delete(self, response: Any) -> None:
        # The same attributes as when it was set: browsers ignore a deletion
        # of a Secure (__Host-, __Secure-) cookie that lacks them.
        self._set(response, None, 0)

    def leave(self, response: Any) -> None:
        """Take back a Set-Cookie of this cookie from ``response``."""
        response.unset_cookie(self.name, strict=False)

    def _set(self, response: Any, value: Optional[str], max_age: Optional[int]) -> None:
        response.set_cookie(self.name, value, max_age=max_age, overwrite=True, **self._attributes)
        vary = tuple(response.vary or ())
        if "Cookie" not in vary:
            response.vary = vary + ("Cookie",)


def cookie_pattern(name: str) -> "re.Pattern[str]":
    """Finds the values of every cookie named ``name`` in a Cookie header."""
    return re.compile(r"(?:^|;)[ \t]*" + re.escape(name) + r"=([^;]*)")


def cookie_values(request: Any, named: "re.Pattern[str]") -> List[bytes]:
    """The values of every cookie ``named`` finds, in the header's order.
    Not ``request.cookies``: it keeps only the last of a name and fails on
    any cookie that is not UTF-8, which must not hide ours (nor give a
    500).  Not WebOb's ``parse_cookie`` either, which unquotes every cookie
    of the header at six times the cost: signed values are tokens, in
    double quotes at most (RFC 6265 allows them; WebTest adds them), and
    anything else fails to verify."""
    return [_cookie_value(value) for value in named.findall(request.environ.get("HTTP_COOKIE", ""))]


def _cookie_value(found: str) -> bytes:
    value = found.strip()
    if len(value) > 1 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value.encode("latin-1", "replace")
