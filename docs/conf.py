"""Sphinx configuration for the pyramid_mongosession documentation.

Build it with ``sphinx-build -W -n -b html docs docs/_build/html``: warnings
are errors, and every cross-reference must resolve (nitpicky).  References
to Python, pymongo, Pyramid and WebOb go through intersphinx, from the small
inventories in ``_inventories/`` (see ``make_inventories.py`` there), so the
build needs no network."""
import pyramid_mongosession

project = "pyramid_mongosession"
copyright = "2026, the pyramid_mongosession developers"
version = release = pyramid_mongosession.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.intersphinx", "sphinx.ext.viewcode"]
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
# Defaults as written in the source (time.time), not as repr() shows them.
autodoc_preserve_defaults = True
exclude_patterns = ["_build", "_inventories"]
html_theme = "alabaster"
html_static_path: list = []

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", "_inventories/python.inv"),
    "pymongo": ("https://pymongo.readthedocs.io/en/stable", "_inventories/pymongo.inv"),
    "pyramid": (
        "https://docs.pylonsproject.org/projects/pyramid/en/latest",
        "_inventories/pyramid.inv",
    ),
    "webob": ("https://docs.pylonsproject.org/projects/webob/en/stable", "_inventories/webob.inv"),
}

# The one internal type in the signature of a public name: the factory's
# keyword options, a TypedDict that type checkers read; the settings page
# documents each of them.
nitpick_ignore = [("py:class", "pyramid_mongosession.factory.FactoryOptions")]


def setup(app):
    # ``.. confval:: mongosession.timeout`` on the settings page, and
    # ``:confval:`mongosession.timeout``` anywhere to link to it.
    app.add_object_type(
        "confval", "confval", objname="setting", indextemplate="pair: %s; setting"
    )
