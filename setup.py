# The metadata is in pyproject.toml; this shim is for tools that still run
# setup.py directly.
from setuptools import setup

setup()
