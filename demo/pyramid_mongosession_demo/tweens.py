"""Records the MongoDB commands of each request for the "your session" page."""
import secrets
from typing import Any, Callable

VISITOR_COOKIE = "demo_visitor"


def command_log_tween_factory(handler: Callable[[Any], Any], registry: Any) -> Any:
    recorder = registry.demo_database.recorder

    def command_log_tween(request: Any) -> Any:
        if request.path_info.startswith("/static/"):
            return handler(request)
        visitor = request.cookies.get(VISITOR_COOKIE)
        request.demo_visitor = visitor or secrets.token_urlsafe(16)
        with recorder.recording(request.demo_visitor, f"{request.method} {request.path_info}"):
            response = handler(request)
        if visitor is None:
            response.set_cookie(
                VISITOR_COOKIE, request.demo_visitor, httponly=True, samesite="Lax"
            )
        return response

    return command_log_tween
