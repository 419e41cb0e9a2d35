"""Coercion of one setting's value: ini strings and Python values alike.
Each coercer returns the parsed value or raises :class:`Invalid` with the
expected form, which :mod:`.settings` turns into the error message."""
import re
from typing import Any, Callable, Optional, Tuple

from pyramid.settings import aslist, falsey, truthy

_COOKIE_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_COOKIE_PATH = re.compile(r"^/[^\x00-\x1f\x7f;]*$")
_COOKIE_DOMAIN = re.compile(r"^\.?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
_SAMESITE = {"strict": "Strict", "lax": "Lax", "none": "None"}
_REAPERS = ("ttl", "tween", "off")
# MongoDB's read preference modes, by their lower-case names.
_READ_PREFERENCES = {
    mode.lower(): mode
    for mode in ("primary", "primaryPreferred", "secondary", "secondaryPreferred", "nearest")
}
_SERIALIZER_NAMES = ("bson", "json", "pickle")
#: 1,000 years of 365.25 days, in seconds: far beyond any session, and
#: far from the year 9999, where dates end.
LONGEST_TIMEOUT = 31_557_600_000
LONGEST_TIME_LIMIT = 1_000_000


class Invalid(ValueError):
    """A value that does not have the expected form; carries that form."""

    def __init__(self, expected: str):
        super().__init__(expected)
        self.expected = expected


def is_none(value: Any) -> bool:
    return value is None or (
        isinstance(value, str) and value.strip().lower() == "none"
    )


def text(value: Any) -> str:
    # "none" would be taken literally: a collection named "none", say.
    if isinstance(value, str) and value.strip() and not is_none(value):
        return value.strip()
    raise Invalid("a non-empty string")


def optional_text(value: Any) -> Optional[str]:
    return None if is_none(value) else text(value)


def whole_number(
    minimum: int, unit: str = "seconds", maximum: Optional[int] = None, as_said: str = ""
) -> Callable[[Any], int]:
    """``as_said``: how the message says ``maximum`` besides the number."""
    bounds = f"at least {minimum}" if maximum is None else f"from {minimum} to {maximum:,}"

    def coerce(value: Any) -> int:
        if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(f"a whole number of {unit}")
        if value < minimum or (maximum is not None and value > maximum):
            raise Invalid(f"a whole number of {unit}, {bounds}{as_said}")
        return value

    return coerce


def lifetime(minimum: int) -> Callable[[Any], int]:
    """Seconds a session or cookie may last: at most 1,000 years, so that
    no date a write computes is out of range."""
    return whole_number(minimum, maximum=LONGEST_TIMEOUT, as_said=" (1,000 years)")


def optional(coerce: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def coerce_or_none(value: Any) -> Any:
        if is_none(value):
            return None
        try:
            return coerce(value)
        except Invalid as invalid:
            raise Invalid(f'{invalid.expected} or "none"') from None

    return coerce_or_none


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in truthy or word in falsey:
        return word in truthy
    raise Invalid("true or false")


def seconds(value: Any) -> float:
    """A time limit: above 0, and at most what MongoDB and pymongo take
    (``maxTimeMS`` and ``serverSelectionTimeoutMS``)."""
    expected = f"a number of seconds above 0, at most {LONGEST_TIME_LIMIT:,}"
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise Invalid(expected) from None
    if isinstance(value, bool) or not 0 < seconds <= LONGEST_TIME_LIMIT:
        raise Invalid(expected)
    return seconds


def secrets_from_ini(value: Any) -> Tuple[str, ...]:
    try:
        return secrets(aslist(value) if isinstance(value, str) else value)
    except Invalid:
        raise Invalid("one or more secrets separated by white space") from None


def secrets(value: Any) -> Tuple[str, ...]:
    """In Python, a str is one secret (spaces and all); a list is several."""
    secrets = (value,) if isinstance(value, str) else value
    if (
        not isinstance(secrets, (list, tuple))
        or not secrets
        or not all(isinstance(s, str) and s.strip() and not is_none(s) for s in secrets)
    ):
        raise Invalid("a non-empty string or a list of them")
    return tuple(secrets)


# From the scheme to the last @: the credentials however they are written
# (an unescaped /, @, ? or # in a password included), and the hosts too
# when an option's value holds an @.
_CREDENTIALS = re.compile(r"://.*@")
# An option such as tlsCertificateKeyFilePassword=...
_PASSWORD_OPTION = re.compile(r"(?i)(password=)[^&;]*")


def has_credentials(url: str) -> bool:
    """Whether ``url`` has credentials, as pymongo reads it: an ``@``
    before the first ``/`` after the scheme."""
    return "@" in url.partition("://")[2].partition("/")[0]


def redacted_url(url: str) -> str:
    """``url`` with its credentials, and any option's password, masked:
    for error messages."""
    return _PASSWORD_OPTION.sub(r"\1***", _CREDENTIALS.sub("://***@", url, count=1))


def redacted_text(text: str, url: str) -> str:
    """``text`` (pymongo's error about ``url``) with every piece of the
    URL's credentials masked: pymongo may quote a piece of a badly written
    password as a host or database name."""
    credentials = _CREDENTIALS.search(url)
    pieces = re.split(r"[:/@?#&;=]", credentials.group()[3:-1]) if credentials else []
    options = [match.group()[len(match.group(1)):] for match in _PASSWORD_OPTION.finditer(url)]
    for piece in sorted(pieces + options, key=len, reverse=True):
        if len(piece) > 1:
            text = text.replace(piece, "***")
    return text


def url(value: Any) -> str:
    if isinstance(value, str) and value.strip().startswith(
        ("mongodb://", "mongodb+srv://")
    ):
        return value.strip()
    raise Invalid("a mongodb:// or mongodb+srv:// URL")


def cookie_path(value: Any) -> str:
    """RFC 6265's path-value, absolute: a browser ignores another Path."""
    if isinstance(value, str) and _COOKIE_PATH.fullmatch(value.strip()):
        return value.strip()
    raise Invalid("a path that starts with / and has no ; nor control characters")


def cookie_domain(value: Any) -> str:
    """A host name, as a browser takes it for a Domain: with anything else
    it drops the cookie, and no session ever persists."""
    if isinstance(value, str) and _COOKIE_DOMAIN.fullmatch(value.strip()):
        return value.strip()
    raise Invalid("a domain name (letters, digits, -, _ and .)")


def cookie_name(value: Any) -> str:
    if isinstance(value, str) and _COOKIE_NAME.match(value.strip()):
        return value.strip()
    raise Invalid("a cookie name (letters, digits and !#$%&'*+-.^_`|~)")


def samesite(value: Any) -> str:
    word = value.strip().lower() if isinstance(value, str) else None
    if word in _SAMESITE:
        return _SAMESITE[word]
    raise Invalid('"Strict", "Lax" or "None"')


def reaper(value: Any) -> str:
    word = value.strip().lower() if isinstance(value, str) else value
    if word in _REAPERS:
        return word
    raise Invalid('"ttl", "tween" or "off"')


def read_preference(value: Any) -> str:
    word = value.strip().lower() if isinstance(value, str) else None
    if word in _READ_PREFERENCES:
        return _READ_PREFERENCES[word]
    raise Invalid(
        '"primary", "primaryPreferred", "secondary", "secondaryPreferred" or "nearest"'
    )


def dotted(resolve: Callable[[str], Any]) -> Callable[[Any], Any]:
    def coerce(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return resolve(value.strip())
        except (ImportError, ValueError, AttributeError, IndexError):
            raise Invalid("a dotted name of an importable object") from None

    return coerce


def serializer(resolve: Callable[[str], Any]) -> Callable[[Any], Any]:
    def coerce(value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in _SERIALIZER_NAMES:
            return value.strip().lower()
        try:
            found = dotted(resolve)(value)
        except Invalid:
            found = None
        if callable(getattr(found, "dumps", None)) and callable(
            getattr(found, "loads", None)
        ):
            return found
        raise Invalid(
            '"bson", "json", "pickle" or the dotted name of an object '
            "with dumps() and loads()"
        )

    return coerce


def a_callable(resolve: Callable[[str], Any], what: str) -> Callable[[Any], Any]:
    """A callable or its dotted name, described as ``what``; or none."""

    def coerce(value: Any) -> Any:
        if is_none(value):
            return None
        found = dotted(resolve)(value)
        if callable(found):
            return found
        raise Invalid(f"the dotted name of {what}")

    return coerce
