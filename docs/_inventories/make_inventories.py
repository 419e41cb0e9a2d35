"""Write the intersphinx inventories the documentation links through.

    .venv/bin/python docs/_inventories/make_inventories.py

The build has no network, so instead of fetching the objects.inv of Python,
pymongo, Pyramid and WebOb, ``docs/conf.py`` reads these small ones.  Each
lists only the objects the pages and docstrings refer to, at their address
on the project's own site (relative to the base URL in
``intersphinx_mapping``).  To link to another object, add it below, with an
address checked on the real page, and run this script again.

The files are in Sphinx's inventory format, version 2 (what
``sphinx.util.inventory.InventoryFile.dump`` writes), and are read back
with Sphinx's own reader before the script ends."""
import os
import zlib

from sphinx.util.inventory import InventoryFile

HERE = os.path.dirname(os.path.abspath(__file__))

# project: (name, version, base URL, [(object, domain:role, address), ...])
INVENTORIES = {
    "python": ("Python", "3", "https://docs.python.org/3", [
        ("datetime.datetime", "py:class", "library/datetime.html#datetime.datetime"),
        ("time.time", "py:function", "library/time.html#time.time"),
        ("hmac.compare_digest", "py:function", "library/hmac.html#hmac.compare_digest"),
        ("secrets", "py:module", "library/secrets.html#module-secrets"),
        ("uuid.UUID", "py:class", "library/uuid.html#uuid.UUID"),
        ("LookupError", "py:exception", "library/exceptions.html#LookupError"),
        ("ValueError", "py:exception", "library/exceptions.html#ValueError"),
        ("TypeError", "py:exception", "library/exceptions.html#TypeError"),
        ("RuntimeError", "py:exception", "library/exceptions.html#RuntimeError"),
        ("str", "py:class", "library/stdtypes.html#str"),
        ("int", "py:class", "library/functions.html#int"),
        ("float", "py:class", "library/functions.html#float"),
        ("bool", "py:class", "library/functions.html#bool"),
        ("None", "py:data", "library/constants.html#None"),
    ]),
    "pymongo": ("PyMongo", "4", "https://pymongo.readthedocs.io/en/stable", [
        ("pymongo.collection.Collection", "py:class",
         "api/pymongo/collection.html#pymongo.collection.Collection"),
        ("pymongo.mongo_client.MongoClient", "py:class",
         "api/pymongo/mongo_client.html#pymongo.mongo_client.MongoClient"),
        ("pymongo.timeout", "py:function", "api/pymongo/index.html#pymongo.timeout"),
        ("pymongo.errors.PyMongoError", "py:exception",
         "api/pymongo/errors.html#pymongo.errors.PyMongoError"),
    ]),
    "pyramid": ("Pyramid", "2", "https://docs.pylonsproject.org/projects/pyramid/en/latest", [
        ("pyramid.session.SignedCookieSessionFactory", "py:function",
         "api/session.html#pyramid.session.SignedCookieSessionFactory"),
        ("pyramid.session.JSONSerializer", "py:class",
         "api/session.html#pyramid.session.JSONSerializer"),
        ("pyramid.session.PickleSerializer", "py:class",
         "api/session.html#pyramid.session.PickleSerializer"),
        ("pyramid.csrf.SessionCSRFStoragePolicy", "py:class",
         "api/csrf.html#pyramid.csrf.SessionCSRFStoragePolicy"),
        ("pyramid.csrf.CookieCSRFStoragePolicy", "py:class",
         "api/csrf.html#pyramid.csrf.CookieCSRFStoragePolicy"),
        # An interface on Pyramid's site; listed as a class, the role that
        # refers to it here.
        ("pyramid.interfaces.ISession", "py:class",
         "api/interfaces.html#pyramid.interfaces.ISession"),
        ("pyramid.config.Configurator", "py:class",
         "api/config.html#pyramid.config.Configurator"),
        ("pyramid.config.Configurator.set_session_factory", "py:method",
         "api/config.html#pyramid.config.Configurator.set_session_factory"),
        ("pyramid.registry.Registry", "py:class", "api/registry.html#pyramid.registry.Registry"),
        ("pyramid.path.DottedNameResolver", "py:class",
         "api/path.html#pyramid.path.DottedNameResolver"),
        ("pyramid.exceptions.ConfigurationError", "py:exception",
         "api/exceptions.html#pyramid.exceptions.ConfigurationError"),
        ("pyramid.paster.bootstrap", "py:function", "api/paster.html#pyramid.paster.bootstrap"),
    ]),
    "webob": ("WebOb", "1.8", "https://docs.pylonsproject.org/projects/webob/en/stable", [
        ("webob.cookies.SignedSerializer", "py:class",
         "api/cookies.html#webob.cookies.SignedSerializer"),
    ]),
}


def write(path, project, version, objects):
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    # name domain:role priority address display-name ('-': the name itself)
    body = "".join(
        f"{name} {role} 1 {address} -\n" for name, role, address in sorted(objects)
    )
    with open(path, "wb") as out:
        out.write(header.encode() + zlib.compress(body.encode(), 9))


def check(path, base, objects):
    with open(path, "rb") as stream:
        inventory = InventoryFile.load(stream, base, lambda a, b: a + "/" + b)
    for name, role, address in objects:
        item = inventory[role][name]
        # An object with attributes in Sphinx 8.2 and later, a tuple before.
        uri = getattr(item, "uri", None) or item[2]
        assert uri == f"{base}/{address}", (path, name, uri)


def main():
    for key, (project, version, base, objects) in INVENTORIES.items():
        path = os.path.join(HERE, f"{key}.inv")
        write(path, project, version, objects)
        check(path, base, objects)
        print(f"{path}: {len(objects)} objects")


if __name__ == "__main__":
    main()
