"""The small Pyramid app every store is measured on, and a client that
keeps each user's cookie and calls it in-process through WSGI."""
import json
import os

from pyramid.config import Configurator
from webob import Request

LARGE_KEYS = 50
LARGE_VALUE = "x" * 400  # 50 keys of ~400 bytes: a ~20 KB session


def untouched(request):
    return "untouched"


def read(request):
    return request.session.get("counter", 0)


def write(request):
    request.session["counter"] = request.session.get("counter", 0) + 1
    return request.session["counter"]


def flash(request):
    request.session.flash("saved")
    return "flashed"


def pop(request):
    return request.session.pop_flash()


def seed_large(request):
    for number in range(LARGE_KEYS):
        request.session[f"key{number}"] = LARGE_VALUE
    return "seeded"


def large(request):
    request.session["key7"] = os.urandom(200).hex()  # one key of 50 changes
    return "changed"


def set_key(request):
    request.session[request.params["key"]] = 1
    return "set"


def dump(request):
    return sorted(request.session.keys())


VIEWS = {f.__name__: f for f in (untouched, read, write, flash, pop, seed_large, large,
                                 set_key, dump)}


def make_app(configure, server):
    """The app with the store ``configure`` sets up on ``server``."""
    config = Configurator(settings={})
    configure(config, server)
    for name, view in VIEWS.items():
        config.add_route(name, f"/{name}")
        config.add_view(view, route_name=name, renderer="json")
    return config.make_wsgi_app()


class User:
    """One browser: its session cookie, nothing else."""

    def __init__(self, wsgi):
        self.wsgi = wsgi
        self.cookie = None

    def get(self, path):
        request = Request.blank(path)
        if self.cookie:
            request.headers["Cookie"] = f"session={self.cookie}"
        response = request.get_response(self.wsgi)
        if response.status_int != 200:
            raise RuntimeError(f"{path}: {response.status}")
        for header in response.headers.getall("Set-Cookie"):
            name, _, rest = header.partition("=")
            if name.strip() == "session":
                value = rest.split(";")[0]
                self.cookie = value if value and "Max-Age=0" not in header else None
        return json.loads(response.body)
