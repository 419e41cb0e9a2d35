"""What a signed-in session records of the device it was signed in on,
when the application opts in: the user agent and, separately, the client address.
Shown by :meth:`~pyramid_mongosession.SessionStore.sessions_of`, so that a
user can tell their sessions apart ("where you're signed in")."""
from typing import Any, Dict, Mapping, Optional

#: Longer user agents are cut here: enough to tell browsers apart, and a
#: client cannot make every session document large.
MAX_USER_AGENT = 256
#: An IPv6 address with a zone is at most 45 characters or so; anything
#: longer is not an address a server put in ``REMOTE_ADDR``.
MAX_ADDRESS = 64


class DeviceRecorder:
    """Reads the device of a request, as a session document stores it.

    Parameters:

    ``user_agent``
      Record the ``User-Agent`` header.

    ``client_address``
      Record ``REMOTE_ADDR``: the address the server saw.  Behind a proxy,
      it is the proxy's, unless the server or a middleware sets it from a
      header it trusts (waitress's ``trusted_proxy``, say); an
      ``X-Forwarded-For`` any client can send is never read here.
    """

    def __init__(self, user_agent: bool = False, client_address: bool = False):
        self.user_agent = user_agent
        self.client_address = client_address

    def __bool__(self) -> bool:
        return self.user_agent or self.client_address

    def __call__(self, request: Any) -> Optional[Dict[str, str]]:
        """The ``device`` field for a session ``request`` signs in, or
        ``None`` when there is nothing to record."""
        environ = request.environ
        device = {}
        if self.user_agent and environ.get("HTTP_USER_AGENT"):
            device["user_agent"] = printable(environ["HTTP_USER_AGENT"], MAX_USER_AGENT)
        if self.client_address and environ.get("REMOTE_ADDR"):
            device["address"] = printable(environ["REMOTE_ADDR"], MAX_ADDRESS)
        return device or None


def printable(text: str, longest: int) -> str:
    """``text`` cut to ``longest`` characters, with every character that is
    not printable (control characters, terminal escapes) shown as ``?``:
    it is sent by the client and later shown on pages and terminals."""
    return "".join(char if char.isprintable() else "?" for char in text[:longest])


def device_fields(device: Any) -> Optional[Dict[str, str]]:
    """The ``device`` field of a stored document, or ``None`` when it has
    none of the form this module writes: it is only shown, so a malformed
    one is shown as not recorded rather than refused."""
    if device is None or not isinstance(device, Mapping):  # most have none
        return None
    return {key: value for key, value in device.items() if isinstance(value, str)} or None
