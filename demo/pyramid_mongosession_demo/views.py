"""The shop's views.  Every change is a POST, checked against the CSRF
token, and ends in a flash message and a redirect."""
import datetime
import logging
from typing import Any, Dict, List, Tuple

import bson
from bson import json_util
from pyramid.csrf import new_csrf_token
from pyramid.exceptions import BadCSRFToken
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from pyramid_mongosession import SessionStoreError, get_session_store

from .catalogue import PRODUCTS, euros

log = logging.getLogger(__name__)

REMEMBER_ME_SECONDS = 30 * 24 * 3600
MAX_NAME_LENGTH = 40


def _back_to_shop(request: Any) -> HTTPSeeOther:
    return HTTPSeeOther(request.route_url("shop"))


def _cart_lines(cart: Dict[str, int]) -> Tuple[List[Dict[str, Any]], str]:
    lines = [
        {"id": item, "name": PRODUCTS[item].name, "quantity": quantity,
         "price": euros(PRODUCTS[item].price * quantity)}
        for item, quantity in cart.items()
        if item in PRODUCTS
    ]
    total = sum(PRODUCTS[line["id"]].price * line["quantity"] for line in lines)
    return lines, euros(total)


@view_config(route_name="shop", renderer="templates/shop.jinja2")
def shop(request: Any) -> Dict[str, Any]:
    lines, total = _cart_lines(request.session.get("cart", {}))
    products = [
        {"id": item, "name": product.name, "price": euros(product.price)}
        for item, product in PRODUCTS.items()
    ]
    return {"products": products, "lines": lines, "total": total}


@view_config(route_name="sign_in", request_method="POST")
def sign_in(request: Any) -> Any:
    name = request.POST.get("name", "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        request.session.flash(f"Type a name of 1 to {MAX_NAME_LENGTH} characters.", "error")
        return _back_to_shop(request)
    # A new id at sign-in: an id planted before it (fixation) is worth nothing.
    request.session.regenerate_id()
    new_csrf_token(request)
    # Its own indexed field: what lets the store list and revoke a user's
    # sessions on every device.
    request.session.principal = name
    if request.POST.get("remember"):
        request.session.adjust_timeout(REMEMBER_ME_SECONDS)
        request.session.flash(f"Signed in as {name}; remembered for 30 days.")
    else:
        request.session.flash(f"Signed in as {name}.")
    return _back_to_shop(request)


@view_config(route_name="sign_out", request_method="POST")
def sign_out(request: Any) -> Any:
    request.session.invalidate()
    new_csrf_token(request)
    # Stored in a new session of its own, as data given after invalidate() is.
    request.session.flash("Signed out. Your cart went with your session.")
    return _back_to_shop(request)


@view_config(route_name="sign_out_others", request_method="POST")
def sign_out_others(request: Any) -> Any:
    principal = request.session.principal
    if principal is None:
        request.session.flash("Sign in first.", "error")
    else:
        store = get_session_store(request.registry)
        count = store.revoke(principal, except_id=request.session.id)
        request.session.flash(f"Signed out {count} other session(s) of {principal}.")
    return HTTPSeeOther(request.route_url("your_session"))


def _chosen_product(request: Any) -> str:
    item = request.POST.get("item", "")
    if item not in PRODUCTS:
        request.session.flash("There is no such product.", "error")
        return ""
    return item


@view_config(route_name="cart_add", request_method="POST")
def cart_add(request: Any) -> Any:
    item = _chosen_product(request)
    if item:
        # Changed in place: the session notices without changed().
        cart = request.session.setdefault("cart", {})
        cart[item] = cart.get(item, 0) + 1
        request.session.flash(f"Added a {PRODUCTS[item].name.lower()} to your cart.")
    return _back_to_shop(request)


@view_config(route_name="cart_remove", request_method="POST")
def cart_remove(request: Any) -> Any:
    item = _chosen_product(request)
    cart = request.session.get("cart", {})
    if item and item in cart:
        cart[item] -= 1
        if not cart[item]:
            del cart[item]
        request.session.flash(f"Took a {PRODUCTS[item].name.lower()} out of your cart.")
    return _back_to_shop(request)


def _stored_document(request: Any) -> Dict[str, Any]:
    """What MongoDB holds for this session, read beside the session store."""
    session = request.session
    if session.new:
        return {}
    store = get_session_store(request.registry)
    with request.registry.demo_database.recorder.paused():
        document = store.document(session.id)
    if document is None:
        return {}
    return {
        "id": store.hashed_id(session.id),
        "data_keys": sorted(session.keys()),
        "data": json_util.dumps(
            document["data"], indent=1, json_options=json_util.RELAXED_JSON_OPTIONS
        ),
        "created": document["created"],
        "expires": document.get("expires"),
        "timeout": document.get("timeout"),
        "principal": document.get("principal"),
        "size": len(bson.encode(document)),
    }


@view_config(route_name="sign_out_device", request_method="POST")
def sign_out_device(request: Any) -> Any:
    principal = request.session.principal
    if principal is None:
        request.session.flash("Sign in first.", "error")
        return HTTPSeeOther(request.route_url("your_session"))
    store = get_session_store(request.registry)
    try:
        ended = store.revoke_one(principal, request.POST.get("id", ""))
    except ValueError:  # not an id the page listed
        ended = False
    if ended:
        request.session.flash("Signed out that device.")
    else:
        request.session.flash("That device was already signed out.", "error")
    return HTTPSeeOther(request.route_url("your_session"))


def _devices(request: Any) -> List[Dict[str, Any]]:
    """Where the signed-in user is signed in, this device first."""
    principal = request.session.principal
    if principal is None:
        return []
    store = get_session_store(request.registry)
    with request.registry.demo_database.recorder.paused():
        sessions = store.sessions_of(principal)
    this_one = store.hashed_id(request.session.id)
    listed = [{"info": info, "this": info.hashed_id == this_one} for info in sessions]
    return sorted(listed, key=lambda device: not device["this"])


@view_config(route_name="your_session", renderer="templates/session.jinja2")
def your_session(request: Any) -> Dict[str, Any]:
    recorder = request.registry.demo_database.recorder
    document = _stored_document(request)
    devices = _devices(request)
    now = datetime.datetime.now(datetime.timezone.utc)
    return {
        "document": document,
        "principal": request.session.principal,
        "devices": devices,
        "others": [device for device in devices if not device["this"]],
        "limit": get_session_store(request.registry).max_sessions_per_principal,
        "expires_in": int((document["expires"] - now).total_seconds())
        if document.get("expires") else None,
        "this_request": recorder.current(),
        "recent": recorder.recent(request.demo_visitor),
    }


@view_config(context=SessionStoreError, renderer="templates/unavailable.jinja2")
def session_storage_unavailable(exc: Any, request: Any) -> Dict[str, Any]:
    log.warning("session storage unavailable: %s", exc)
    request.response.status_int = 503
    request.response.headers["Retry-After"] = "30"
    return {}


@view_config(context=BadCSRFToken, renderer="templates/refused.jinja2")
def refused_without_token(exc: Any, request: Any) -> Dict[str, Any]:
    request.response.status_int = 400
    return {}
