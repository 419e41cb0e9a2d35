"""The smallest application with pyramid_mongosession, for the console
script's tests (``use = call:tests.script_app:main``)."""
from pyramid.config import Configurator


def main(global_config, **settings):
    with Configurator(settings=settings) as config:
        config.include("pyramid_mongosession")
    return config.make_wsgi_app()


def without_mongo_sessions(global_config, **settings):
    return Configurator(settings=settings).make_wsgi_app()
