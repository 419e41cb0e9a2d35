"""The Sphinx site in docs/ builds without a warning."""
import os
import subprocess
import sys

import pytest

from . import ROOT

pytestmark = pytest.mark.docs


def test_the_documentation_builds_without_warnings(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), os.path.join(ROOT, "docs"), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=300,
    )

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    api = (tmp_path / "html" / "api.html").read_text()
    for name in ("MongoSessionFactory", "SessionStore.revoke", "MongoSession.principal",
                 "get_session_store", "SessionTooLargeError", "client_from_settings",
                 "SessionStore.document"):
        assert f'id="pyramid_mongosession.{name}"' in api
