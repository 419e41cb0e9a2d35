import os
import re

from setuptools import find_packages, setup

here = os.path.abspath(os.path.dirname(__file__))


def read(name):
    with open(os.path.join(here, name), encoding="utf-8") as f:
        return f.read()


version = re.search(
    r'^__version__ = "([^"]+)"', read("pyramid_mongosession/__init__.py"), re.M
).group(1)

tests_require = [
    "pytest >= 7",
    "pytest-cov",
    "WebTest >= 3",
    "hypothesis >= 6",
    "SecantusDB >= 0.7.0b3",
    # The neighbours the package is proven beside (contract §9).
    "pyramid_retry >= 2.1",
    "pyramid_tm >= 2.5",
    "transaction >= 3.0",
    "pyramid_debugtoolbar >= 4.10",
    # --no-control-socket, which the tests pass, is gunicorn 27's.
    "gunicorn >= 27",
    "waitress >= 3",
    # Drives Debian's Chromium in the browser tests; downloads no browser.
    "playwright >= 1.40",
    "Sphinx >= 7",
    "mypy >= 1.10",
    "ruff >= 0.5",
]

setup(
    name="pyramid_mongosession",
    version=version,
    description="Server-side Pyramid sessions stored in MongoDB",
    long_description=read("README.rst"),
    long_description_content_type="text/x-rst",
    classifiers=[
        "Framework :: Pyramid",
        "Programming Language :: Python :: 3",
        "Topic :: Internet :: WWW/HTTP :: Session",
        "License :: OSI Approved :: MIT License",
        "Typing :: Typed",
    ],
    keywords="pyramid session mongodb pymongo",
    license="MIT",
    packages=find_packages(exclude=["tests", "tests.*", "demo", "demo.*"]),
    include_package_data=True,
    package_data={"pyramid_mongosession": ["py.typed"]},
    zip_safe=False,
    python_requires=">=3.11",
    install_requires=[
        "pyramid >= 2.0",
        # pymongo.timeout() needs 4.2; the tests' MongoDB-wire server, 4.6.
        "pymongo >= 4.6, < 5",
        "WebOb >= 1.8",
    ],
    extras_require={
        "testing": tests_require,
        # bench/compare.py: the stores it compares, and its chart.
        "bench": [
            "Beaker >= 1.12",
            "pyramid_beaker",
            "pyramid_session_redis >= 1.6",
            "redis",
            "matplotlib",
        ],
    },
    entry_points={
        "console_scripts": ["mongosession = pyramid_mongosession.scripts.mongosession:run"],
    },
)
