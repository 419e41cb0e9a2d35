"""Views of a signed-in user, shared by the tests of the operations on a
principal's sessions."""
from pyramid.config import Configurator

from .support import include_settings


def sign_in(request):
    """A sign-in as an application does it: a new id, then the principal."""
    request.session.regenerate_id()
    request.session.principal = request.matchdict["name"]
    return "signed in"


def sign_in_in_place(request):
    """A sign-in without a new id."""
    request.session.principal = request.matchdict["name"]
    return "signed in"


def sign_out(request):
    """A sign-out that keeps the session."""
    request.session.principal = None
    return "signed out"


def whoami(request):
    return request.session.principal


def visit(request):
    request.session["visits"] = request.session.get("visits", 0) + 1
    return request.session["visits"]


SIGN_IN_VIEWS = {"/sign_in/{name}": sign_in, "/whoami": whoami, "/visit": visit}


def app_with_views(collection, settings, views):
    """An app including the package with ``mongosession.*`` ``settings``,
    serving each ``{pattern: view}`` of ``views`` as JSON."""
    config = Configurator(settings=include_settings(collection, settings))
    config.include("pyramid_mongosession")
    for pattern, view in views.items():
        config.add_route(view.__name__, pattern)
        config.add_view(view, route_name=view.__name__, renderer="json")
    return config.make_wsgi_app()
