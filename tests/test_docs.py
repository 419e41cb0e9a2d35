"""The Sphinx site in docs/ builds without a warning, every cross-reference
resolved (nitpicky), and documents the public names."""
import os
import subprocess
import sys

import pytest

from . import ROOT
from .extras import need_module

pytestmark = pytest.mark.docs


def test_the_documentation_builds_without_warnings(tmp_path):
    need_module("sphinx", "docs")
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-n", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), os.path.join(ROOT, "docs"), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=300,
    )

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    api = (tmp_path / "html" / "api.html").read_text()
    for name in ("MongoSessionFactory", "SessionStore.revoke", "SessionStore.revoke_one",
                 "MongoSession.principal", "get_session_store", "SessionTooLargeError",
                 "client_from_settings", "SessionStore.document",
                 # Shown only with a docstring: autodoc leaves out undocumented members.
                 "MongoSession.created", "MongoSession.new", "MongoSession.flash",
                 "MongoSession.pop_flash", "MongoSession.peek_flash",
                 "MongoSession.new_csrf_token", "MongoSession.get_csrf_token",
                 "SessionInfo.hashed_id", "SessionInfo.created", "SessionInfo.expires",
                 "SessionStats.live"):
        assert f'id="pyramid_mongosession.{name}"' in api
    # The store's methods for one session are the factory's, not the API.
    for name in ("load", "insert", "update", "check_size", "delete"):
        assert f'id="pyramid_mongosession.SessionStore.{name}"' not in api
