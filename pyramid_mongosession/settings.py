"""``mongosession.*`` settings and factory keywords -> one frozen :class:`Options`.

Every value may arrive as a string (from a paste ini file) or already typed
(from Python code); both go through the same coercion, and every error names
the setting, the expected form and the value given.
"""
import dataclasses
import math
import re
from typing import Any, Callable, Mapping, Optional, Tuple

from pyramid.exceptions import ConfigurationError
from pyramid.settings import aslist, falsey, truthy

PREFIX = "mongosession."

# Options that only make sense when the package builds its own client; the
# factory, which is handed a collection, rejects them.
CONNECTION_OPTIONS = frozenset(
    (
        "url",
        "database",
        "collection",
        "client_callable",
        "username",
        "password",
        "server_selection_timeout",
    )
)

_COOKIE_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_SAMESITE = {"strict": "Strict", "lax": "Lax", "none": "None"}
_REAPERS = ("ttl", "tween", "off")
# MongoDB's read preference modes, by their lower-case names.
_READ_PREFERENCES = {
    mode.lower(): mode
    for mode in ("primary", "primaryPreferred", "secondary", "secondaryPreferred", "nearest")
}
_SERIALIZER_NAMES = ("bson", "json", "pickle")


@dataclasses.dataclass(frozen=True)
class Options:
    """The parsed, validated configuration of one session factory."""

    secret: Tuple[str, ...]
    url: str = "mongodb://localhost:27017/"
    database: Optional[str] = None
    collection: str = "sessions"
    timeout: Optional[int] = 1200
    absolute_timeout: Optional[int] = None
    reissue_time: Optional[int] = None
    cookie_name: str = "session"
    cookie_max_age: Optional[int] = None
    cookie_path: str = "/"
    cookie_domain: Optional[str] = None
    cookie_secure: bool = False
    cookie_httponly: bool = True
    cookie_samesite: str = "Lax"
    cookie_on_exception: bool = True
    reaper: str = "ttl"
    reap_interval: int = 60
    serializer: Any = "bson"
    read_preference: str = "primary"
    client_callable: Optional[Callable[..., Any]] = None
    username: Optional[str] = None
    password: Optional[str] = None
    server_selection_timeout: float = 3.0

    def renewal_interval(self, timeout: Optional[int]) -> int:
        """Seconds between two renewals of a session with this idle
        ``timeout``: ``reissue_time`` if it is shorter, else a tenth."""
        if timeout is None:
            return 0
        if self.reissue_time is not None and self.reissue_time < timeout:
            return self.reissue_time
        return timeout // 10


class _Invalid(ValueError):
    """A value that does not have the expected form; carries that form."""

    def __init__(self, expected: str):
        super().__init__(expected)
        self.expected = expected


def _is_none(value: Any) -> bool:
    return value is None or (
        isinstance(value, str) and value.strip().lower() == "none"
    )


def _text(value: Any) -> str:
    # "none" would be taken literally: a collection named "none", say.
    if isinstance(value, str) and value.strip() and not _is_none(value):
        return value.strip()
    raise _Invalid("a non-empty string")


def _optional_text(value: Any) -> Optional[str]:
    return None if _is_none(value) else _text(value)


def _whole_number(minimum: int) -> Callable[[Any], int]:
    def coerce(value: Any) -> int:
        if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid("a whole number of seconds")
        if value < minimum:
            raise _Invalid(f"a whole number of seconds, at least {minimum}")
        return value

    return coerce


def _optional(coerce: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def coerce_or_none(value: Any) -> Any:
        if _is_none(value):
            return None
        try:
            return coerce(value)
        except _Invalid as invalid:
            raise _Invalid(f'{invalid.expected} or "none"') from None

    return coerce_or_none


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in truthy or word in falsey:
        return word in truthy
    raise _Invalid("true or false")


def _seconds(value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise _Invalid("a number of seconds above 0") from None
    if isinstance(value, bool) or not 0 < seconds < math.inf:
        raise _Invalid("a number of seconds above 0")
    return seconds


def _secrets_from_ini(value: Any) -> Tuple[str, ...]:
    try:
        return _secrets(aslist(value) if isinstance(value, str) else value)
    except _Invalid:
        raise _Invalid("one or more secrets separated by white space") from None


def _secrets(value: Any) -> Tuple[str, ...]:
    """In Python, a str is one secret (spaces and all); a list is several."""
    secrets = (value,) if isinstance(value, str) else value
    if (
        not isinstance(secrets, (list, tuple))
        or not secrets
        or not all(isinstance(s, str) and s.strip() and not _is_none(s) for s in secrets)
    ):
        raise _Invalid("a non-empty string or a list of them")
    return tuple(secrets)


def _url(value: Any) -> str:
    if isinstance(value, str) and value.strip().startswith(
        ("mongodb://", "mongodb+srv://")
    ):
        return value.strip()
    raise _Invalid("a mongodb:// or mongodb+srv:// URL")


def _cookie_name(value: Any) -> str:
    if isinstance(value, str) and _COOKIE_NAME.match(value.strip()):
        return value.strip()
    raise _Invalid("a cookie name (letters, digits and !#$%&'*+-.^_`|~)")


def _samesite(value: Any) -> str:
    word = value.strip().lower() if isinstance(value, str) else None
    if word in _SAMESITE:
        return _SAMESITE[word]
    raise _Invalid('"Strict", "Lax" or "None"')


def _reaper(value: Any) -> str:
    word = value.strip().lower() if isinstance(value, str) else value
    if word in _REAPERS:
        return word
    raise _Invalid('"ttl", "tween" or "off"')


def _read_preference(value: Any) -> str:
    word = value.strip().lower() if isinstance(value, str) else None
    if word in _READ_PREFERENCES:
        return _READ_PREFERENCES[word]
    raise _Invalid(
        '"primary", "primaryPreferred", "secondary", "secondaryPreferred" or "nearest"'
    )


def _dotted(resolve: Callable[[str], Any]) -> Callable[[Any], Any]:
    def coerce(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return resolve(value.strip())
        except (ImportError, ValueError, AttributeError, IndexError):
            raise _Invalid("a dotted name of an importable object") from None

    return coerce


def _serializer(resolve: Callable[[str], Any]) -> Callable[[Any], Any]:
    def coerce(value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in _SERIALIZER_NAMES:
            return value.strip().lower()
        try:
            found = _dotted(resolve)(value)
        except _Invalid:
            found = None
        if callable(getattr(found, "dumps", None)) and callable(
            getattr(found, "loads", None)
        ):
            return found
        raise _Invalid(
            '"bson", "json", "pickle" or the dotted name of an object '
            "with dumps() and loads()"
        )

    return coerce


def _client_callable(resolve: Callable[[str], Any]) -> Callable[[Any], Any]:
    def coerce(value: Any) -> Any:
        if _is_none(value):
            return None
        found = _dotted(resolve)(value)
        if callable(found):
            return found
        raise _Invalid("the dotted name of a callable(settings) -> MongoClient")

    return coerce


def _coercers(
    resolve: Callable[[str], Any], from_ini: bool
) -> Mapping[str, Callable[[Any], Any]]:
    return {
        "secret": _secrets_from_ini if from_ini else _secrets,
        "url": _url,
        "database": _optional_text,
        "collection": _text,
        "timeout": _optional(_whole_number(1)),
        "absolute_timeout": _optional(_whole_number(1)),
        "reissue_time": _optional(_whole_number(0)),
        "cookie_name": _cookie_name,
        "cookie_max_age": _optional(_whole_number(1)),
        "cookie_path": _text,
        "cookie_domain": _optional_text,
        "cookie_secure": _boolean,
        "cookie_httponly": _boolean,
        "cookie_samesite": _samesite,
        "cookie_on_exception": _boolean,
        "reaper": _reaper,
        "reap_interval": _whole_number(1),
        "serializer": _serializer(resolve),
        "read_preference": _read_preference,
        "client_callable": _client_callable(resolve),
        "username": _optional_text,
        "password": _optional_text,
        "server_selection_timeout": _seconds,
    }


def _import_dotted(name: str) -> Any:
    from pyramid.path import DottedNameResolver

    return DottedNameResolver().resolve(name)


def build_options(
    values: Mapping[str, Any],
    prefix: str = "",
    resolve: Callable[[str], Any] = _import_dotted,
) -> Options:
    """Coerce and check ``values`` (names without ``prefix``) into
    :class:`Options`, raising :class:`ConfigurationError` on the first bad
    value.  Errors name settings with ``prefix`` in front."""
    coercers = _coercers(resolve, from_ini=prefix == PREFIX)
    unknown = sorted(set(values) - set(coercers))
    if unknown:
        raise ConfigurationError(
            f"unknown setting {prefix}{unknown[0]}; known settings are "
            + ", ".join(prefix + name for name in coercers)
        )
    if "secret" not in values:
        raise ConfigurationError(
            f"{prefix}secret is required: the secret that signs the session cookie"
        )
    parsed = {}
    for name, value in values.items():
        try:
            parsed[name] = coercers[name](value)
        except _Invalid as invalid:
            raise ConfigurationError(
                f"{prefix}{name} must be {invalid.expected}, not {value!r}"
            ) from None
    options = Options(**parsed)
    _check_combinations(options, prefix)
    if "reap_interval" in values and options.reaper != "tween":
        raise ConfigurationError(
            f"{prefix}reap_interval is only used with {prefix}reaper = tween, "
            f"not {options.reaper!r}"
        )
    return options


def _check_combinations(options: Options, prefix: str) -> None:
    if (
        options.timeout is not None
        and options.reissue_time is not None
        and options.reissue_time >= options.timeout
    ):
        raise ConfigurationError(
            f"{prefix}reissue_time ({options.reissue_time}) must be less than "
            f"{prefix}timeout ({options.timeout}), or sessions expire before "
            "they are renewed"
        )
    interval = options.renewal_interval(options.timeout)
    if options.cookie_max_age is not None and options.cookie_max_age < interval:
        raise ConfigurationError(
            f"{prefix}cookie_max_age ({options.cookie_max_age}) must be at least "
            f"the renewal interval ({interval} s), or the cookie of an active "
            "session expires before it is renewed"
        )
    if options.cookie_samesite == "None" and not options.cookie_secure:
        raise ConfigurationError(
            f"{prefix}cookie_samesite = None needs {prefix}cookie_secure = true: "
            "browsers reject SameSite=None cookies that are not Secure"
        )
    if options.password is not None and options.username is None:
        raise ConfigurationError(f"{prefix}password is set but {prefix}username is not")


def options_from_settings(
    settings: Mapping[str, Any], resolve: Callable[[str], Any] = _import_dotted
) -> Options:
    """Read every ``mongosession.*`` key of a Pyramid settings dict."""
    values = {
        key[len(PREFIX) :]: value
        for key, value in settings.items()
        if key.startswith(PREFIX)
    }
    return build_options(values, PREFIX, resolve)
