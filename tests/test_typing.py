"""The public API keeps its signatures for a user's type checker: an
application checked with ``mypy --strict`` is told about wrong calls."""
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

import pyramid_mongosession

from .extras import need_module

pytestmark = pytest.mark.typing

APPLICATION = '''\
from typing import Any

from pyramid.config import Configurator
from pyramid_mongosession import (
    MongoSession, MongoSessionFactory, SessionStore, get_session_store, includeme,
)


def view(session: MongoSession) -> str:
    session["cart"] = [1, 2]
    session.adjust_timeout(600)
    session.principal = "alice"
    principal: "str | None" = session.principal
    session.flash("saved", queue="info")
    return session.get_csrf_token() + str(principal) + session.id


def make(collection: Any, config: Configurator) -> int:
    MongoSessionFactory(collection, secret="s" * 32, timeout=600, cookie_secure=True)
    MongoSessionFactory(collection, secret=["new" * 11, "old" * 11], serializer="json")
    includeme(config)
    store: SessionStore = get_session_store(config.registry)
    return store.revoke("alice")


def wrong(session: MongoSession, collection: Any, config: Configurator) -> None:
    session.adjust_timeout("ten")  # error: adjust_timeout
    session.principal = 42  # error: principal
    MongoSessionFactory(collection, secret=1)  # error: secret
    MongoSessionFactory(collection, secret="s" * 32, timeut=600)  # error: timeut
    MongoSessionFactory(collection, secret="s" * 32, cookie_secure="yes")  # error: cookie_secure
    revoked: str = get_session_store(config.registry).revoke("alice")  # error: revoke
    session.regenerate_id(True)  # error: regenerate_id
'''

# The package as it is imported here (an editable install's import hook
# is not followed by mypy).
MYPY_CONFIG = f"""\
[mypy]
strict = true
mypy_path = {pathlib.Path(pyramid_mongosession.__file__).parent.parent}
[mypy-pyramid.*,pyramid_retry.*,transaction.*,webob.*,zope.*]
ignore_missing_imports = true
"""


def test_a_strict_type_checker_flags_each_wrong_call_and_only_those(tmp_path):
    need_module("mypy", "types")
    (tmp_path / "application.py").write_text(APPLICATION)
    (tmp_path / "mypy.ini").write_text(MYPY_CONFIG)
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini",
         "--cache-dir", str(tmp_path / "cache"), "application.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    flagged = {
        int(line) for line in re.findall(r"^application\.py:(\d+): error:", checked.stdout, re.M)
    }
    expected = {
        number
        for number, line in enumerate(APPLICATION.splitlines(), start=1)
        if "# error:" in line
    }
    assert flagged == expected, textwrap.indent(checked.stdout + checked.stderr, "  ")
