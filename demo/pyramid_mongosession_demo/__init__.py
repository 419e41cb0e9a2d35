"""A small shop whose sessions live in MongoDB: sign-in, a cart, flash
messages, "remember me", and a page that shows what the session store did."""
from typing import Any

from pyramid.config import Configurator
from pyramid.csrf import CookieCSRFStoragePolicy
from pyramid.tweens import INGRESS

from .database import DemoDatabase


def main(global_config: Any, **settings: Any) -> Any:
    """The paste app factory (``use = egg:pyramid_mongosession_demo``)."""
    database = DemoDatabase.from_settings(settings)
    settings["mongosession.url"] = database.url
    settings["demo.database"] = database
    with Configurator(settings=settings) as config:
        config.registry.demo_database = database
        config.include("pyramid_jinja2")
        config.include("pyramid_mongosession")
        # A CSRF token in its own cookie: showing a form to a visitor who
        # stores nothing costs no session document.
        config.set_csrf_storage_policy(CookieCSRFStoragePolicy(samesite="Lax"))
        config.set_default_csrf_options(require_csrf=True)
        config.add_tween(
            "pyramid_mongosession_demo.tweens.command_log_tween_factory", under=INGRESS
        )
        config.add_static_view("static", "pyramid_mongosession_demo:static", cache_max_age=3600)
        config.add_route("shop", "/")
        config.add_route("sign_in", "/sign-in")
        config.add_route("sign_out", "/sign-out")
        config.add_route("sign_out_others", "/sign-out-others")
        config.add_route("sign_out_device", "/sign-out-device")
        config.add_route("cart_add", "/cart/add")
        config.add_route("cart_remove", "/cart/remove")
        config.add_route("your_session", "/session")
        config.scan(".views")
    return config.make_wsgi_app()
