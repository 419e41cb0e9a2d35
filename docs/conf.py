"""Sphinx configuration for the pyramid_mongosession documentation.

The narrative pages include README.rst, section by section, so that the
README and this site say the same thing."""
import pyramid_mongosession

project = "pyramid_mongosession"
copyright = "2026, the pyramid_mongosession developers"
version = release = pyramid_mongosession.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.viewcode"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path: list = []
