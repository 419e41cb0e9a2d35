"""``mongosession.*`` settings: defaults, coercion and every error message."""
import copy
import dataclasses
import json
import marshal
import re
import types

import pytest
from pyramid.exceptions import ConfigurationError
from pyramid.settings import falsey, truthy

from pyramid_mongosession.expiry import renewal_interval
from pyramid_mongosession.settings import Options, build_options, options_from_settings


def parse(**values):
    """Options from a settings dict, as ``includeme`` would read it."""
    values.setdefault("secret", "s")
    return options_from_settings({"mongosession." + k: v for k, v in values.items()})


def assert_rejected(message, **values):
    with pytest.raises(ConfigurationError, match=f"^{re.escape(message)}$"):
        parse(**values)


class Codec:
    """A serializer object given directly from Python code."""

    dumps = staticmethod(json.dumps)
    loads = staticmethod(json.loads)


def make_client(settings):
    raise AssertionError("never called while parsing")


# -- defaults ---------------------------------------------------------------

DEFAULTS = {
    "secret": ("s",), "url": "mongodb://localhost:27017/",
    "database": None,  # the URL's path, else "pyramid": the store decides
    "collection": "sessions", "timeout": 1200, "absolute_timeout": None,
    "reissue_time": None, "cookie_name": "session", "cookie_max_age": None,
    "cookie_path": "/", "cookie_domain": None, "cookie_secure": False,
    "cookie_httponly": True, "cookie_samesite": "Lax", "cookie_on_exception": True,
    "reaper": "ttl", "reap_interval": 60, "serializer": "bson", "read_preference": "primary",
    "client_callable": None,
    "username": None, "password": None, "server_selection_timeout": 3.0,
    "operation_timeout": 3.0, "max_size": 262144, "max_sessions_per_principal": None,
    "import_from": None, "record_user_agent": False, "record_client_address": False,
}


@pytest.mark.parametrize("name, default", DEFAULTS.items())
def test_each_setting_defaults_to_the_contract_value(name, default):
    options = options_from_settings({"mongosession.secret": "s"})
    assert getattr(options, name) == default


def test_defaults_cover_every_option_field():
    assert [f.name for f in dataclasses.fields(Options)] == list(DEFAULTS)


def test_options_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        parse().timeout = 5


def test_timeout_none_means_sessions_never_expire():
    options = parse(timeout="none")
    assert (options.timeout, renewal_interval(options.timeout, options.reissue_time)) == (None, 0)


# -- coercion ---------------------------------------------------------------

COERCIONS = {  # setting: [(as given, as parsed), ...] -- ini strings and typed values
    "secret": [("one", ("one",)), ("  new\n  old older ", ("new", "old", "older")),
               (["new", "old"], ("new", "old")), (("only",), ("only",))],
    "url": [(" mongodb+srv://db.example.net/app ", "mongodb+srv://db.example.net/app"),
            ("mongodb://a,b/app?replicaSet=rs&w=majority",
             "mongodb://a,b/app?replicaSet=rs&w=majority")],
    "database": [(" app ", "app")],
    "collection": [("web_sessions", "web_sessions")],
    "timeout": [("600", 600), (" 600 ", 600), (600, 600)],
    "absolute_timeout": [("86400", 86400), (86400, 86400)],
    "reissue_time": [("0", 0), (0, 0)],
    "cookie_name": [("__Host-sid", "__Host-sid")],
    "cookie_max_age": [("600", 600), (3600, 3600)],
    "cookie_path": [(" /app ", "/app")],
    "cookie_domain": [(".example.com", ".example.com")],
    "cookie_samesite": [("strict", "Strict"), (" LAX ", "Lax"), ("Strict", "Strict")],
    "read_preference": [("secondaryPreferred", "secondaryPreferred"),
                        (" PRIMARYPREFERRED ", "primaryPreferred"), ("nearest", "nearest")],
    "reaper": [("TWEEN", "tween"), ("off", "off"), ("ttl", "ttl")],
    "reap_interval": [("30", 30), (30, 30)],
    "serializer": [("JSON", "json"), (" Pickle ", "pickle"), ("bson", "bson"),
                   ("marshal", marshal), (Codec, Codec)],
    "client_callable": [("tests.test_settings:make_client", make_client),
                        (make_client, make_client)],
    "username": [("alice", "alice")],
    "password": [("pw", "pw")],
    "server_selection_timeout": [("0.5", 0.5), ("10", 10.0), (2, 2.0)],
    "operation_timeout": [("0.5", 0.5), (" 10 ", 10.0), (2, 2.0)],
    "max_size": [("1024", 1024), (16 * 1024 * 1024, 16 * 1024 * 1024)],
    "max_sessions_per_principal": [("5", 5), (" 1 ", 1), (3, 3), ("none", None)],
    "import_from": [("tests.test_settings:make_client", make_client),
                    (make_client, make_client), ("none", None)],
}


@pytest.mark.parametrize(
    "name, given, expected",
    [(name, given, expected) for name, pairs in COERCIONS.items() for given, expected in pairs],
)
def test_values_from_ini_strings_and_from_python_are_coerced(name, given, expected):
    needs = {"password": {"username": "alice"}, "reap_interval": {"reaper": "tween"},
             "cookie_name": {"cookie_secure": "true"}}
    values = dict(needs.get(name, {}), **{name: given})
    assert getattr(parse(**values), name) == expected


@pytest.mark.parametrize(
    "name",
    ["database", "timeout", "absolute_timeout", "reissue_time", "cookie_max_age",
     "cookie_domain", "client_callable", "username", "password", "operation_timeout"],
)
@pytest.mark.parametrize("none", ["none", "None", " NONE ", "nOnE", None])
def test_none_in_any_case_means_unset(name, none):
    assert getattr(parse(**{name: none}), name) is None


def test_samesite_none_in_any_case_is_the_none_attribute_value():
    for word in ("none", "None", "NONE"):
        assert parse(cookie_samesite=word, cookie_secure="true").cookie_samesite == "None"


@pytest.mark.parametrize("name", ["cookie_secure", "cookie_httponly", "cookie_on_exception",
                                  "record_user_agent", "record_client_address"])
@pytest.mark.parametrize(
    "given, expected",
    [(word, True) for word in sorted(truthy)]
    + [(word, False) for word in sorted(falsey)]
    + [("TRUE", True), (" Yes ", True), ("Off", False), (True, True), (False, False),
       (1, True), (0, False)],
)
def test_booleans_accept_pyramid_truthy_and_falsey_words(name, given, expected):
    assert getattr(parse(**{name: given}), name) is expected


def test_dotted_names_go_through_the_given_resolver():
    resolved = []

    def resolve(name):
        resolved.append(name)
        return Codec if name == "app.codec" else make_client

    options = options_from_settings(
        {"mongosession.secret": "s", "mongosession.serializer": " app.codec ",
         "mongosession.client_callable": "app.client"},
        resolve=resolve,
    )
    assert (options.serializer, options.client_callable) == (Codec, make_client)
    assert sorted(resolved) == ["app.client", "app.codec"]


# -- errors -----------------------------------------------------------------

WHOLE = "a whole number of seconds"
ERRORS = {  # expected form: {setting: [bad values]}
    "one or more secrets separated by white space": {
        "secret": ["", " \n ", [], [b"bytes"], 42, "none", "s None"]},
    "a mongodb:// or mongodb+srv:// URL": {"url": ["http://localhost/", None]},
    "a non-empty string": {"database": [""], "collection": ["  ", 7, "none", "None"],
                           "username": [""]},
    "a path that starts with / and has no ; nor control characters": {
        "cookie_path": ["", "none", "app", "/a\n/b", "/a;b", 7]},
    'a domain name (letters, digits, -, _ and .) or "none"': {
        "cookie_domain": ["", "a.com; HttpOnly", "exa mple.com", "http://x.com", "a..com"]},
    f'{WHOLE} or "none"': {"timeout": ["abc", "-5", "1.5", 1.5, True],
                           "cookie_max_age": ["-1"]},
    f'{WHOLE}, from 1 to 31,557,600,000 (1,000 years) or "none"': {
        "timeout": ["0", -5, "99999999999999999999999"], "absolute_timeout": [0, 31557600001],
        "cookie_max_age": [-1, "0", "9999999999999"]},
    f'{WHOLE}, from 0 to 31,557,600,000 (1,000 years) or "none"': {
        "reissue_time": [-1, 10**12]},
    f"{WHOLE}, at least 1": {"reap_interval": ["0"]},
    WHOLE: {"reap_interval": ["none"]},
    "a cookie name (letters, digits and !#$%&'*+-.^_`|~)": {"cookie_name": ["my session", "a;b"]},
    "true or false": {"cookie_secure": ["maybe"], "cookie_httponly": [2],
                      "cookie_on_exception": [None], "record_user_agent": ["ua"],
                      "record_client_address": ["ip"]},
    '"Strict", "Lax" or "None"': {"cookie_samesite": ["loose", None, ["Lax"]]},
    '"ttl", "tween" or "off"': {"reaper": ["cron", None]},
    '"primary", "primaryPreferred", "secondary", "secondaryPreferred" or "nearest"': {
        "read_preference": ["secondaries", "", None, "none"]},
    '"bson", "json", "pickle" or the dotted name of an object with dumps() and loads()': {
        "serializer": ["no_such_module.codec", "os", "", object()]},
    "a dotted name of an importable object": {
        "client_callable": ["no_such_module.factory", ".."],
        "import_from": ["no_such_module.importer"]},
    "the dotted name of a callable(settings) -> MongoClient": {
        "client_callable": ["os.sep", 42]},
    "the dotted name of a callable(request) -> mapping or None": {
        "import_from": ["os.sep", {"cart": {}}]},
    "a number of seconds above 0, at most 1,000,000": {
        "server_selection_timeout": ["0", -1, "soon", "none", "inf", True, "1e12"]},
    'a number of seconds above 0, at most 1,000,000 or "none"': {
        "operation_timeout": ["0", -1, "soon", "inf", True, "", "1e7"]},
}


@pytest.mark.parametrize(
    "name, value, expected",
    [(name, value, expected) for expected, cases in ERRORS.items()
     for name, values in cases.items() for value in values],
)
def test_bad_value_names_setting_expected_form_and_value(name, value, expected):
    # A secret is never shown, not even a malformed one.
    shown = "" if name in ("secret", "password") else f", not {value!r}"
    assert_rejected(f"mongosession.{name} must be {expected}{shown}", **{name: value})


@pytest.mark.parametrize(
    "values, message",
    [
        ({"reap_interval": "30"},
         "mongosession.reap_interval is only used with mongosession.reaper = tween, not 'ttl'"),
        ({"cookie_max_age": "60"},
         "mongosession.cookie_max_age (60) must be at least the renewal interval (120 s), "
         "or the cookie of an active session expires before it is renewed"),
    ],
)
def test_more_contradictions_are_rejected(values, message):
    assert_rejected(message, **values)


def test_error_text_matches_the_house_style_example():
    with pytest.raises(ConfigurationError) as excinfo:
        options_from_settings({"mongosession.secret": "s", "mongosession.timeout": "abc"})
    assert str(excinfo.value) == (
        "mongosession.timeout must be a whole number of seconds or \"none\", not 'abc'"
    )


def test_unknown_setting_is_rejected_naming_the_key():
    known = ", ".join("mongosession." + f.name for f in dataclasses.fields(Options))
    assert_rejected(
        f"unknown setting mongosession.timout; known settings are {known}", timout="600"
    )


@pytest.mark.parametrize("settings", [{}, {"mongosession.timeout": "600"}])
def test_missing_secret_is_rejected(settings):
    with pytest.raises(ConfigurationError) as excinfo:
        options_from_settings(settings)
    assert str(excinfo.value) == (
        "mongosession.secret is required: the secret that signs the session cookie"
    )


@pytest.mark.parametrize(
    "values, reissue_time, timeout",
    [({"reissue_time": "1200"}, 1200, 1200), ({"timeout": "60", "reissue_time": 61}, 61, 60)],
)
def test_reissue_time_not_below_timeout_is_rejected(values, reissue_time, timeout):
    assert_rejected(
        f"mongosession.reissue_time ({reissue_time}) must be less than "
        f"mongosession.timeout ({timeout}), or sessions expire before they are renewed",
        **values,
    )


def test_any_reissue_time_is_allowed_when_sessions_never_expire():
    assert parse(timeout="none", reissue_time="5000").reissue_time == 5000


def test_samesite_none_without_secure_is_rejected():
    assert_rejected(
        "mongosession.cookie_samesite = None needs mongosession.cookie_secure = true: "
        "browsers reject SameSite=None cookies that are not Secure",
        cookie_samesite="none",
    )


def test_credentials_in_the_url_and_in_settings_are_rejected():
    assert_rejected(
        "mongosession.username is set, and mongosession.url has credentials too: "
        "give them in one place",
        url="mongodb://app:secret@db.example.com/", username="other", password="pw",
    )


def test_password_without_username_is_rejected():
    assert_rejected("mongosession.password is set but mongosession.username is not",
                    password="pw")


def test_username_without_password_is_allowed():
    options = parse(username="alice")
    assert (options.username, options.password) == ("alice", None)


def test_build_options_without_prefix_names_the_bare_option():
    known = ", ".join(f.name for f in dataclasses.fields(Options))
    cases = [
        ({"secret": "s", "timeout": "abc"},
         "timeout must be a whole number of seconds or \"none\", not 'abc'"),
        ({"secret": "s", "timout": 5}, f"unknown setting timout; known settings are {known}"),
        ({"timeout": 5}, "secret is required: the secret that signs the session cookie"),
        ({"secret": "s", "timeout": 10, "reissue_time": 10},
         "reissue_time (10) must be less than timeout (10), or sessions expire before "
         "they are renewed"),
        ({"secret": "s", "cookie_samesite": "None"},
         "cookie_samesite = None needs cookie_secure = true: "
         "browsers reject SameSite=None cookies that are not Secure"),
        ({"secret": "s", "password": "pw"}, "password is set but username is not"),
    ]
    for values, message in cases:
        with pytest.raises(ConfigurationError) as excinfo:
            build_options(values, "")
        assert str(excinfo.value) == message


@pytest.mark.parametrize("value, message", [
    ("1000", "mongosession.max_size must be a whole number of bytes, at least 1024, not '1000'"),
    ("big", "mongosession.max_size must be a whole number of bytes, not 'big'"),
    (str(16 * 1024 * 1024 + 1), "mongosession.max_size (16,777,217) must be at most MongoDB's "
                                "limit of 16,777,216 bytes for one document"),
])
def test_a_bad_limit_is_refused(value, message):
    with pytest.raises(ConfigurationError) as error:
        options_from_settings({"mongosession.secret": "s" * 32, "mongosession.max_size": value})
    assert str(error.value) == message


@pytest.mark.parametrize("value, message", [
    ("0", "mongosession.max_sessions_per_principal must be a whole number of sessions, "
          "at least 1 or \"none\", not '0'"),
    ("few", "mongosession.max_sessions_per_principal must be a whole number of sessions "
            "or \"none\", not 'few'"),
    ("2.5", "mongosession.max_sessions_per_principal must be a whole number of sessions "
            "or \"none\", not '2.5'"),
])
def test_a_bad_session_limit_is_refused(value, message):
    with pytest.raises(ConfigurationError) as error:
        options_from_settings({"mongosession.secret": "s" * 32,
                               "mongosession.max_sessions_per_principal": value})
    assert str(error.value) == message


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"cookie_secure": "false"}, "needs mongosession.cookie_secure = true"),
        ({"cookie_path": "/app"}, "needs mongosession.cookie_path = /, not '/app'"),
        ({"cookie_domain": "example.com"},
         "must not have mongosession.cookie_domain, not 'example.com'"),
    ],
)
def test_a_host_prefixed_cookie_name_refuses_what_browsers_would_refuse(settings, message):
    values = {"secret": "s" * 32, "cookie_name": "__Host-session", "cookie_secure": "true"}
    values.update(settings)
    with pytest.raises(ConfigurationError) as error:
        options_from_settings({"mongosession." + k: v for k, v in values.items()})
    assert str(error.value) == f"mongosession.cookie_name '__Host-session' {message}"


def test_a_secure_prefixed_cookie_name_needs_cookie_secure():
    with pytest.raises(ConfigurationError) as error:
        options_from_settings({"mongosession.secret": "s" * 32,
                               "mongosession.cookie_name": "__Secure-session"})
    assert str(error.value) == (
        "mongosession.cookie_name '__Secure-session' needs mongosession.cookie_secure = true")


# -- the settings dict ------------------------------------------------------

def test_settings_outside_the_mongosession_prefix_are_ignored():
    options = options_from_settings({
        "mongosession.secret": "s", "mongosessions.timeout": "abc", "session.secret": "x",
        "redis.sessions.timeout": "x", "pyramid.reload_templates": "true",
    })
    assert options == parse()


@pytest.mark.parametrize("timeout", [" 600 ", "abc"])
def test_settings_dict_is_never_modified(timeout):
    settings = {"mongosession.secret": ["new", "old"], "mongosession.timeout": timeout,
                "mongosession.serializer": "JSON", "pyramid.includes": "pyramid_tm"}
    before = copy.deepcopy(settings)
    try:
        options_from_settings(settings)
    except ConfigurationError:
        pass
    assert settings == before


def test_a_read_only_mapping_is_enough():
    settings = types.MappingProxyType({"mongosession.secret": "s", "mongosession.timeout": "60"})
    assert options_from_settings(settings).timeout == 60


def test_python_secret_str_is_one_secret_and_a_list_is_several():
    assert build_options({"secret": "pass phrase with spaces"}).secret == (
        "pass phrase with spaces",
    )
    assert build_options({"secret": ["new one", "old"]}).secret == ("new one", "old")
    with pytest.raises(ConfigurationError, match=r"^secret must be a non-empty string or a "
                                                 r"list of them$"):
        build_options({"secret": [""]})


def test_a_secret_shorter_than_32_characters_is_warned_about(caplog):
    with caplog.at_level("WARNING", "pyramid_mongosession"):
        parse(secret="x" * 32)
        assert caplog.text == ""
        parse(secret="x" * 32 + " short")  # the ini splits: two secrets
    assert "mongosession.secret is shorter than 32 characters" in caplog.text
