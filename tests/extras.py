"""Tests that need a tool from one of the package's extras (docs, types,
browser, bench) skip without it, so that ``pip install -e ".[testing]"``
runs the rest; with ``MONGOSESSION_REQUIRE_EXTRAS`` set, as .ci/run sets
it, they fail instead."""
import importlib.util
import os

import pytest


def need_module(name, extra):
    if importlib.util.find_spec(name) is None:
        message = f"needs {name}, from the {extra!r} extra: pip install -e '.[{extra}]'"
        if os.environ.get("MONGOSESSION_REQUIRE_EXTRAS"):
            pytest.fail(message)
        pytest.skip(message)
