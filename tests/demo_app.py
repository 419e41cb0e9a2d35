"""The demo shop, configured from development.ini, for in-process tests."""
import os

import webtest
from pyramid.paster import get_appsettings
from pyramid_mongosession_demo import main

from bench.load import cart_on

from . import ROOT

DEVELOPMENT_INI = os.path.join(ROOT, "development.ini")


def demo_settings(url, collection):
    """development.ini's settings, on ``url`` and ``collection``."""
    settings = dict(get_appsettings(DEVELOPMENT_INI))
    settings.update({
        "mongosession.url": url,
        "mongosession.server_selection_timeout": "1",
        "mongosession.database": collection.database.name,
        "mongosession.collection": collection.name,
    })
    return settings


class Shopper:
    """A browser of the demo shop: keeps its cookies, posts forms with the
    CSRF token the page gave it."""

    def __init__(self, url, collection):
        self.app = webtest.TestApp(main({}, **demo_settings(url, collection)))

    def get(self, path="/", **kwargs):
        return self.app.get(path, **kwargs)

    def post(self, path, csrf=True, **fields):
        if csrf:
            fields["csrf_token"] = self.app.cookies["csrf_token"]
        return self.app.post(path, fields, **{"expect_errors": not csrf})

    def add(self, item):
        return self.post("/cart/add", item=item).follow()

    def cart(self):
        return cart_on(self.get("/").text)

    @property
    def session_cookie(self):
        return self.app.cookies.get("session")
