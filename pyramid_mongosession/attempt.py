"""Whether a request's attempt counts: pyramid_retry will not retry it,
and the pyramid_tm transaction its view ran in, if any, did not fail to
commit.  A session writes back only for an attempt that counts."""
from typing import Any, Optional

try:
    from transaction.interfaces import NoTransaction
except ImportError:  # pragma: no cover - without transaction there is no pyramid_tm

    class NoTransaction(Exception):  # type: ignore[no-redef]
        pass

try:
    from pyramid_retry import is_error_retryable
except ImportError:  # pragma: no cover - without pyramid_retry nothing is retried

    def is_error_retryable(request: Any, exc: BaseException) -> bool:
        return False


def will_be_retried(request: Any) -> bool:
    """pyramid_retry discards this attempt's response and tries again: the
    error an exception view answered is retryable, and attempts are left."""
    exception = getattr(request, "exception", None)
    return exception is not None and bool(is_error_retryable(request, exception))


class CommitWatch:
    """Notes whether the last pyramid_tm transaction the session was used
    in failed to commit (a conflict, say): its changes must not be stored.
    A transaction aborted because the view raised (or doomed, or vetoed)
    is not a failed commit; then ``cookie_on_exception`` decides, as
    without pyramid_tm."""

    def __init__(self) -> None:
        self.failed = False
        self._watched: Optional[Any] = None

    def watch(self, request: Any) -> None:
        """Watch the transaction pyramid_tm has open for ``request``: called
        when its ``environ["tm.active"]`` says it has one."""
        environ = request.environ
        try:
            transaction = environ["tm.manager"].get()
        except NoTransaction:  # an explicit manager, between transactions
            return
        if transaction is not self._watched:
            self._watched = transaction
            transaction.addAfterCommitHook(self._after_commit)

    def _after_commit(self, committed: bool) -> None:
        self.failed = not committed
