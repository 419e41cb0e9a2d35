"""``mongosession.*`` settings and factory keywords -> one frozen :class:`Options`.

Every value may arrive as a string (from a paste ini file) or already typed
(from Python code); both go through the same coercion, and every error names
the setting, the expected form and the value given.
"""
import dataclasses
import logging
from typing import Any, Callable, Mapping, Optional, Tuple

from pyramid.exceptions import ConfigurationError

from . import coercion as coerce
from .coercion import Invalid
from .errors import MAX_DOCUMENT_BYTES
from .expiry import renewal_interval

PREFIX = "mongosession."
# Shorter secrets are warned about: an HMAC key should hold at least as
# many random bits as the session id it protects.
SHORTEST_SECRET = 32

log = logging.getLogger(__name__)

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

@dataclasses.dataclass(frozen=True)
class Options:
    """The parsed, validated configuration of one session factory: one
    attribute per ``mongosession.*`` setting, of the same name, with the
    same default.  Frozen."""

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
    operation_timeout: Optional[float] = 3.0
    max_size: int = 256 * 1024
    max_sessions_per_principal: Optional[int] = None
    import_from: Optional[Callable[[Any], Optional[Mapping[str, Any]]]] = None
    record_user_agent: bool = False
    record_client_address: bool = False



def _coercers(
    resolve: Callable[[str], Any], from_ini: bool
) -> Mapping[str, Callable[[Any], Any]]:
    return {
        "secret": coerce.secrets_from_ini if from_ini else coerce.secrets,
        "url": coerce.url,
        "database": coerce.optional_text,
        "collection": coerce.text,
        "timeout": coerce.optional(coerce.lifetime(1)),
        "absolute_timeout": coerce.optional(coerce.lifetime(1)),
        "reissue_time": coerce.optional(coerce.lifetime(0)),
        "cookie_name": coerce.cookie_name,
        "cookie_max_age": coerce.optional(coerce.lifetime(1)),
        "cookie_path": coerce.cookie_path,
        "cookie_domain": coerce.optional(coerce.cookie_domain),
        "cookie_secure": coerce.boolean,
        "cookie_httponly": coerce.boolean,
        "cookie_samesite": coerce.samesite,
        "cookie_on_exception": coerce.boolean,
        "reaper": coerce.reaper,
        "reap_interval": coerce.whole_number(1),
        "serializer": coerce.serializer(resolve),
        "read_preference": coerce.read_preference,
        "client_callable": coerce.a_callable(resolve, "a callable(settings) -> MongoClient"),
        "username": coerce.optional_text,
        "password": coerce.optional_text,
        "server_selection_timeout": coerce.seconds,
        "operation_timeout": coerce.optional(coerce.seconds),
        "max_size": coerce.whole_number(1024, "bytes"),
        "max_sessions_per_principal": coerce.optional(coerce.whole_number(1, "sessions")),
        "import_from": coerce.a_callable(resolve, "a callable(request) -> mapping or None"),
        "record_user_agent": coerce.boolean,
        "record_client_address": coerce.boolean,
    }


def _shown(name: str, value: Any) -> str:
    """How an error message shows a refused value: never a secret."""
    if name in ("secret", "password"):
        return ""
    if name == "url" and isinstance(value, str):
        return f", not {coerce.redacted_url(value)!r}"
    return f", not {value!r}"


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
        except Invalid as invalid:
            raise ConfigurationError(
                f"{prefix}{name} must be {invalid.expected}{_shown(name, value)}"
            ) from None
    options = Options(**parsed)
    _check_combinations(options, prefix)
    _check_cookie_prefix(options, prefix)
    if any(len(secret) < SHORTEST_SECRET for secret in options.secret):
        log.warning(
            "%ssecret is shorter than %d characters; use a long random one, "
            "e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'",
            prefix,
            SHORTEST_SECRET,
        )
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
    interval = renewal_interval(options.timeout, options.reissue_time)
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
    if options.max_size > MAX_DOCUMENT_BYTES:
        raise ConfigurationError(
            f"{prefix}max_size ({options.max_size:,}) must be at most MongoDB's "
            f"limit of {MAX_DOCUMENT_BYTES:,} bytes for one document"
        )
    if options.password is not None and options.username is None:
        raise ConfigurationError(f"{prefix}password is set but {prefix}username is not")
    if options.username is not None and coerce.has_credentials(options.url):
        # pymongo would take the settings' silently.
        raise ConfigurationError(
            f"{prefix}username is set, and {prefix}url has credentials too: "
            "give them in one place"
        )


def _check_cookie_prefix(options: Options, prefix: str) -> None:
    """Browsers refuse a ``__Secure-`` cookie that is not Secure, and a
    ``__Host-`` one that is not also on ``/`` without a domain."""
    name = options.cookie_name
    # Browsers match the prefixes without regard to case.
    host_only = name.lower().startswith("__host-")
    if not host_only and not name.lower().startswith("__secure-"):
        return
    problem = None
    if not options.cookie_secure:
        problem = f"needs {prefix}cookie_secure = true"
    elif host_only and options.cookie_path != "/":
        problem = f"needs {prefix}cookie_path = /, not {options.cookie_path!r}"
    elif host_only and options.cookie_domain is not None:
        problem = f"must not have {prefix}cookie_domain, not {options.cookie_domain!r}"
    if problem:
        raise ConfigurationError(f"{prefix}cookie_name {name!r} {problem}")


def options_from_settings(
    settings: Mapping[str, Any], resolve: Callable[[str], Any] = _import_dotted
) -> Options:
    """Read and check every ``mongosession.*`` key of a Pyramid settings
    dict, as ``includeme`` does; raises
    :class:`~pyramid.exceptions.ConfigurationError` naming the first bad
    setting, the expected form and the value.

    Parameters:

    ``settings``
      A Pyramid settings dict.  Required.

    ``resolve``
      Resolves dotted names (``serializer``, ``client_callable``,
      ``import_from``).  Default: :class:`pyramid.path.DottedNameResolver`.
    """
    values = {
        key[len(PREFIX) :]: value
        for key, value in settings.items()
        if key.startswith(PREFIX)
    }
    return build_options(values, PREFIX, resolve)
