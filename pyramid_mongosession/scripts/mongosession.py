"""``mongosession CONFIG_URI COMMAND``: look after the sessions of the
application a paste config describes, the way ``pshell`` and ``proutes`` do."""
import argparse
import dataclasses
import datetime
import json
import logging
import re
import sys
import time
import traceback
from typing import Any, Callable, Dict, List, Optional, Sequence, TextIO

from pymongo.errors import ServerSelectionTimeoutError
from pyramid.exceptions import ConfigurationError, ConfigurationExecutionError
from pyramid.paster import bootstrap, setup_logging
from pyramid.scripts.common import parse_vars

from .. import SessionStoreError, __version__, get_session_store
from ..keys import stored_id_from_text

DESCRIPTION = """\
Look after the sessions of the Pyramid application described by CONFIG_URI
(a paste ini file, optionally followed by #app_name): the store its
pyramid_mongosession session factory uses.  KEY=VALUE arguments after the
command set variables for the ini file, as with pserve and ptweens.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mongosession",
        description=DESCRIPTION,
        epilog="Each command has its own help: mongosession development.ini reap --help",
    )
    parser.add_argument("config_uri", metavar="CONFIG_URI", help="e.g. production.ini")
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s (pyramid_mongosession) {__version__}"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true",
        help="on failure, print the traceback too; log as the ini file's logging "
        "sections say (default: errors only)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser(
        "ensure-indexes", help="create the indexes (principal; TTL on expires)",
        description="Create the sparse index on principal and, with reaper = ttl, the "
        "TTL index on expires, or fix an expires index with other options.",
    )
    reap = commands.add_parser(
        "reap", help="delete expired sessions, in batches",
        description="Delete the sessions that have expired, a batch at a time, "
        "showing progress.",
    )
    reap.add_argument("--batch-size", type=_positive, default=1000, metavar="N",
                      help="documents per delete command (default: 1000)")
    stats = commands.add_parser(
        "stats", help="count live and expired sessions, and their size",
        description="Count the live sessions, the expired ones not yet removed, "
        "those with a principal, and the bytes they take.",
    )
    stats.add_argument("--json", action="store_true", help="print JSON")
    revoke = commands.add_parser(
        "revoke", help="delete every session of a principal, or one",
        description="Delete every session of PRINCIPAL: signs them out everywhere. "
        "With --only, delete just the session of that hashed id, as the sessions "
        "command lists it.",
    )
    revoke.add_argument("principal", type=_principal, metavar="PRINCIPAL")
    revoke.add_argument("--only", type=_hashed_id, metavar="HASHED_ID",
                        help="the one session to delete (64 hex digits)")
    sessions = commands.add_parser(
        "sessions", help="list the live sessions of a principal",
        description="List the live sessions of PRINCIPAL (hashed ids, never the ids), "
        "with the user agent and address that created each, when recorded.",
    )
    sessions.add_argument("principal", type=_principal, metavar="PRINCIPAL")
    sessions.add_argument("--json", action="store_true", help="print JSON")
    for command in commands.choices.values():
        command.add_argument(
            "config_vars", nargs="*", metavar="KEY=VALUE",
            help="a variable for the ini file, e.g. db_url=mongodb://db1/shop",
        )
    return parser


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number above 0, not {text!r}")
    return int(text)


def _principal(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def _hashed_id(text: str) -> str:
    try:
        stored_id_from_text(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a hashed id as the sessions command lists it (64 hex digits), not {text!r}"
        ) from None
    return text


def main(argv: Sequence[str] = sys.argv, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """The console script; returns the exit status."""
    parser = build_parser()
    # KEY=VALUE after a command's options are left over, not parsed.
    args, left_over = parser.parse_known_args(list(argv[1:]))
    unknown = [arg for arg in left_over if arg.startswith("-")]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        args.config_vars = parse_vars(args.config_vars + left_over)
    except ValueError as error:
        parser.error(str(error))
    try:
        env = _load(args)
    except Exception as error:  # whatever loading the application raises
        if args.verbose:
            traceback.print_exc(file=err)
        print(f"mongosession: cannot load {args.config_uri}: {_one_line(error)}", file=err)
        return 1
    try:
        COMMANDS[args.command](get_session_store(env["registry"]), args, out, err)
    except (LookupError, SessionStoreError) as error:
        print(f"mongosession: {_one_line(error)}", file=err)
        return 1
    except KeyboardInterrupt:
        print("mongosession: interrupted", file=err)
        return 130
    finally:
        env["closer"]()
    return 0


def _load(args: argparse.Namespace) -> Dict[str, Any]:
    if args.verbose:
        setup_logging(args.config_uri, global_conf=args.config_vars)
    else:
        logging.basicConfig(level=logging.ERROR, format="mongosession: %(message)s")
    env: Dict[str, Any] = bootstrap(args.config_uri, options=args.config_vars)
    return env


_EXPLAINED = (ConfigurationError, LookupError, OSError, SessionStoreError)


def _one_line(error: BaseException) -> str:
    if isinstance(error, ConfigurationExecutionError):
        error = error.evalue  # not Pyramid's "in: Line 0 of file None" wrapping
    text = " ".join(str(error).split())
    if isinstance(getattr(error, "error", error), ServerSelectionTimeoutError):
        text = _without_topology(text)
    if not isinstance(error, _EXPLAINED) or not text:
        text = f"{type(error).__name__}: {text}".rstrip(": ")
    return text if len(text) <= 300 else text[:297] + "..."


_SELECTION_TIMEOUT = re.compile(r", Timeout: ([0-9.]+)s, Topology Description: .*$")
_CONFIGURED_TIMEOUTS = re.compile(r" \(configured timeouts: [^)]*\)")


def _without_topology(text: str) -> str:
    """pymongo's server selection error, without the topology description
    and the socket timeouts it appends: what each server said, and how
    long the command waited."""
    waited = _SELECTION_TIMEOUT.search(text)
    if waited:
        seconds = float(waited.group(1))
        text = text[: waited.start()] + f" (no server answered within {seconds:.1f} s)"
    return _CONFIGURED_TIMEOUTS.sub("", text)


def ensure_indexes(store: Any, args: Any, out: TextIO, err: TextIO) -> None:
    store.ensure_indexes()
    found = sorted(store.indexes.information().items())
    for name, spec in found:
        details = [f"{key} {direction}" for key, direction in spec["key"]]
        if spec.get("sparse"):
            details.append("sparse")
        if "expireAfterSeconds" in spec:
            details.append(f"expireAfterSeconds={spec['expireAfterSeconds']}")
        print(f"{store.collection.full_name} {name}: {', '.join(details)}", file=out)
    # The ones that only make operations faster are logged, not raised, when refused.
    indexed = {key for _name, spec in found for key, _direction in spec["key"]}
    missing = [field for field in ("principal", "expires") if field not in indexed]
    if missing:
        raise LookupError(
            f"{store.collection.full_name} has no index on {', '.join(missing)}: "
            "the server refused to create them (run with -v to see why)"
        )


def reap(store: Any, args: Any, out: TextIO, err: TextIO) -> None:
    now = store.clock()
    bar = ProgressBar(store.count_expired(now), err)
    try:
        deleted = store.reap(now, batch_size=args.batch_size, progress=bar.update)
    except KeyboardInterrupt:
        bar.finish()
        print(f"interrupted after deleting {bar.done:,} expired sessions", file=out)
        raise
    bar.finish()
    print(f"deleted {deleted:,} expired sessions from {store.collection.full_name}", file=out)


def stats(store: Any, args: Any, out: TextIO, err: TextIO) -> None:
    figures = {"collection": store.collection.full_name, **dataclasses.asdict(store.stats())}
    if args.json:
        print(json.dumps(figures), file=out)
        return
    for label, value in figures.items():
        shown = f"{value:,}" if isinstance(value, int) else value
        print(f"{label.replace('_', ' ') + ':':<16}{shown}", file=out)


def revoke(store: Any, args: Any, out: TextIO, err: TextIO) -> None:
    if args.only is None:
        count = store.revoke(args.principal)
        noun = "session" if count == 1 else "sessions"
        print(f"revoked {count:,} {noun} of {args.principal!r}", file=out)
        return
    if store.revoke_one(args.principal, args.only):
        print(f"revoked session {args.only} of {args.principal!r}", file=out)
    else:
        raise LookupError(f"{args.principal!r} has no session {args.only}")


def sessions(store: Any, args: Any, out: TextIO, err: TextIO) -> None:
    found = store.sessions_of(args.principal)
    rows: List[Dict[str, Any]] = [
        {
            "hashed_id": info.hashed_id,
            "created": _when(info.created),
            "renewed": _when(info.renewed),
            "expires": _when(info.expires),
            "own_timeout": info.timeout,
            "user_agent": info.user_agent,
            "client_address": info.client_address,
        }
        for info in found
    ]
    if args.json:
        print(json.dumps(rows), file=out)
        return
    print(f"{len(rows)} live sessions of {args.principal!r}", file=out)
    for row in rows:
        shown = (f"{key}={_shown(value)}" for key, value in row.items())
        print("  " + "  ".join(shown), file=out)


def _shown(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str) and (" " in value or not value.isprintable()):
        return json.dumps(value)  # a user agent: quoted, control characters escaped
    return str(value)


def _when(moment: Optional[datetime.datetime]) -> Optional[str]:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


COMMANDS: Dict[str, Callable[[Any, Any, TextIO, TextIO], None]] = {
    "ensure-indexes": ensure_indexes,
    "reap": reap,
    "stats": stats,
    "revoke": revoke,
    "sessions": sessions,
}


class ProgressBar:
    """``[#####.....]  50,000/100,000`` on a terminal, redrawn in place at
    most ten times a second; elsewhere a line per update."""

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO):
        self.total = max(total, 1)
        self.stream = stream
        self.on_terminal = stream.isatty()
        self._drawn = float("-inf")
        self.done = 0

    def update(self, done: int) -> None:
        self.done = done
        if self.on_terminal and time.monotonic() - self._drawn < 0.1 and done < self.total:
            return
        self._drawn = time.monotonic()
        filled = min(self.WIDTH, self.WIDTH * done // self.total)
        line = f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {done:,}/{self.total:,}"
        self.stream.write(("\r" + line) if self.on_terminal else line + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.on_terminal and self._drawn != float("-inf"):
            self.stream.write("\n")
            self.stream.flush()


def run() -> None:  # pragma: no cover - the console_scripts entry point
    sys.exit(main())
