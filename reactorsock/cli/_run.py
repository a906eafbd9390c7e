"""``reactorsock run``: bind the endpoints, serve the app, drain on SIGTERM.

``run_command(args)`` does the work of one ``run`` invocation and returns
the exit status.  In one process it serves on its own reactor; with
``--workers`` it binds here, then hands the bound sockets to a
``_workers.Supervisor`` that forks the workers (each adopts the sockets on
a fresh reactor, built after the fork).  This module is not the argument
parser (``_args``) nor the app loader (``_apps``).

Design notes
------------
Graceful shutdown needs the number of open connections, so the app's
factory is wrapped (``ConnectionTracker``): the wrapper's ``buildProtocol``
counts the new protocol and replaces its ``connectionLost`` by an instance
attribute that counts it out.  Nothing is added to the data path: the
transport still calls the protocol's own ``dataReceived`` (DESIGN.md
"Data path").

Signals are caught by the runner's own handlers, not the reactor's
(``run(installSignalHandlers=False)``), because the runner does more than
stop: first SIGTERM/SIGINT stops listening and drains; a second SIGINT
raises ``KeyboardInterrupt`` out of the loop, which exits at once.
The handlers only count and queue (``callFromThread``); logging happens in
the loop, never inside a handler.

Everything the user should read about startup (what is served where, how
to try it, worker pids) goes to stdout, one line each; the log (stderr)
carries events.  An error that stops the runner is one ``reactorsock:
error:`` line on stderr and a non-zero status; its traceback is logged only
with ``--log-level debug``, except for an error inside the app's module,
whose traceback is always shown.
"""

from __future__ import annotations

import argparse
import errno
import inspect
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs

from reactorsock import error
from reactorsock.cli._apps import App, AppError, ReactorCall, classify, drop_module, load_app
from reactorsock.cli._args import DEFAULT_LISTEN
from reactorsock.defer import CancelledError, ensureDeferred
from reactorsock.failure import Failure

__all__ = [
    "run_command",
    "ConnectionTracker",
    "JSONFormatter",
    "Server",
    "configure_logging",
    "UsageError",
    "ServeError",
    "LateFactory",
]

log = logging.getLogger("reactorsock.cli")

#: Default listen endpoint of an app that only speaks UDP.
DEFAULT_UDP_LISTEN = "udp:8000:interface=127.0.0.1"
#: Seconds between a worker's checks that its supervisor still lives.
PARENT_CHECK_INTERVAL = 1.0


class UsageError(Exception):
    """A problem with what was typed (exit status 2)."""


class ServeError(Exception):
    """Serving failed (exit status 1); ``str()`` is the one-line message."""


# ---------------------------------------------------------------------------
# Logging


class JSONFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, pid (and exception)."""

    def format(self, record: logging.LogRecord) -> str:
        """Return record as one line of JSON."""
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s"


def configure_logging(level: str, fmt: str, stream: Any = None) -> Callable[[], None]:
    """Send log records at level and above to stream (stderr); return an undo function."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JSONFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(level.upper())

    def undo() -> None:
        root.removeHandler(handler)
        root.setLevel(old_level)

    return undo


# ---------------------------------------------------------------------------
# Connection tracking


class ConnectionTracker:
    """Counts the open connections of wrapped factories; calls ``on_empty`` at zero."""

    def __init__(self) -> None:
        self.open: set[Any] = set()
        self.total = 0
        self.on_empty: Callable[[], None] | None = None

    def wrap(self, factory: Any) -> Any:
        """Return a factory that builds factory's protocols and tracks them."""
        # A subclass named after the wrapped factory keeps tcp.Port's log
        # prefix (the factory's class name) meaningful.
        cls = type(type(factory).__name__, (_TrackingFactory,), {})
        return cls(self, factory)

    def opened(self, proto: Any, addr: Any) -> None:
        """Count proto in."""
        self.open.add(proto)
        self.total += 1
        if log.isEnabledFor(logging.DEBUG):
            log.debug("connection from %s (%d open)", _peer(addr), len(self.open))

    def closed(self, proto: Any, reason: Failure) -> None:
        """Count proto out; ordinary disconnects log no traceback."""
        self.open.discard(proto)
        if log.isEnabledFor(logging.DEBUG):
            why = reason.getErrorMessage() if isinstance(reason, Failure) else reason
            log.debug("connection closed: %s (%d open)", why, len(self.open))
        if not self.open and self.on_empty is not None:
            self.on_empty()

    def abort_all(self) -> int:
        """Abort every open connection; return how many there were."""
        victims = list(self.open)
        for proto in victims:
            transport = getattr(proto, "transport", None)
            abort = getattr(transport, "abortConnection", None) or getattr(
                transport, "loseConnection", None
            )
            if abort is not None:
                try:
                    abort()
                except Exception:
                    log.exception("error aborting %r", proto)
        return len(victims)


class LateFactory:
    """Stands in for a factory that is chosen later: ``target``, set in each worker.

    The supervisor binds with it, so whatever the endpoint wraps around the
    factory (``ssl:`` wraps it in a TLS factory) is kept; a worker sets
    ``target`` and adopts the socket with the port's own factory.  Until
    then it refuses connections (the supervisor never accepts).
    """

    def __init__(self) -> None:
        self.target: Any = None

    def logPrefix(self) -> str:
        """The target's log prefix."""
        target = self.target
        return target.logPrefix() if target is not None else type(self).__name__

    def doStart(self) -> None:
        """Forward to the target, if there is one yet."""
        if self.target is not None:
            self.target.doStart()

    def doStop(self) -> None:
        """Forward to the target, if there is one yet."""
        if self.target is not None:
            self.target.doStop()

    def buildProtocol(self, addr: Any) -> Any:
        """The target's protocol; None (refuse) before there is a target."""
        return self.target.buildProtocol(addr) if self.target is not None else None


class _TrackingFactory:
    """Wraps a factory: ``buildProtocol`` registers each protocol with a tracker."""

    def __init__(self, tracker: ConnectionTracker, wrapped: Any) -> None:
        self._tracker = tracker
        self._wrapped = wrapped

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapped, name)

    def logPrefix(self) -> str:
        """The wrapped factory's log prefix."""
        prefix = getattr(self._wrapped, "logPrefix", None)
        return prefix() if callable(prefix) else type(self._wrapped).__name__

    def doStart(self) -> None:
        """Forward to the wrapped factory."""
        self._wrapped.doStart()

    def doStop(self) -> None:
        """Forward to the wrapped factory."""
        self._wrapped.doStop()

    def buildProtocol(self, addr: Any) -> Any:
        """Build the wrapped factory's protocol and count it until its ``connectionLost``."""
        proto = self._wrapped.buildProtocol(addr)
        if proto is None:
            return None
        tracker = self._tracker
        original = proto.connectionLost

        def connectionLost(reason: Failure) -> None:
            try:
                original(reason)
            finally:
                proto.__dict__.pop("connectionLost", None)  # break the proto <-> closure cycle
                tracker.closed(proto, reason)

        try:
            proto.connectionLost = connectionLost
        except AttributeError:  # __slots__ without __dict__: can't be tracked
            log.warning("%s has no __dict__: its connections are not drained", type(proto))
            return proto
        tracker.opened(proto, addr)
        return proto


def _peer(addr: Any) -> str:
    host = getattr(addr, "host", None)
    if host is not None:
        return f"{host}:{addr.port}"
    name = getattr(addr, "name", None)
    return "unix socket" if name is not None else str(addr)


# ---------------------------------------------------------------------------
# Binding


@attrs.define
class Bound:
    """One listening endpoint: its description, port object and kind."""

    description: str
    port: Any
    datagram: bool
    family: int

    @property
    def scheme(self) -> str:
        """The endpoint type as the description names it: tcp, tcp6, unix, udp, ssl..."""
        return self.description.partition(":")[0]

    @property
    def shown(self) -> str:
        """The real address, e.g. ``tcp:127.0.0.1:43211`` (port 0 resolved)."""
        host = self.port.getHost()
        if self.family == getattr(socket, "AF_UNIX", None):
            name = host.name
            return f"unix:{os.fsdecode(name) if isinstance(name, bytes) else name}"
        scheme = self.scheme
        if self.family == socket.AF_INET6:
            scheme = "tcp6" if scheme == "tcp" else scheme
            return f"{scheme}:[{host.host}]:{host.port}"
        return f"{scheme}:{host.host}:{host.port}"

    def try_hint(self) -> str:
        """A command line that talks to this endpoint (nc; openssl for TLS)."""
        host = self.port.getHost()
        if self.family == getattr(socket, "AF_UNIX", None):
            return f"nc -U {self.shown[len('unix:') :]}"
        where = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host.host, host.host)
        if self.scheme == "ssl":
            where = f"[{where}]" if ":" in where else where
            return f"openssl s_client -quiet -connect {where}:{host.port}"
        return f"nc {'-u ' if self.datagram else ''}{where} {host.port}"


def _endpoint(reactor: Any, description: str) -> Any:
    from reactorsock.endpoints import SERVER_PARSERS, serverFromString

    kind = description.partition(":")[0]
    if kind == "ssl" and kind not in SERVER_PARSERS:
        try:  # reactorsock.tls registers the ssl: endpoint type when imported
            import reactorsock.tls  # noqa: F401
        except ImportError as e:
            raise UsageError(f"ssl: endpoints need TLS support, which is unavailable: {e}")
    try:
        return serverFromString(reactor, description)
    except ValueError as e:
        raise UsageError(f"bad --listen endpoint: {e}") from None
    except OSError as e:  # a file the description names (ssl: privateKey, certKey...)
        what = f"{e.filename!r}: " if e.filename is not None else ""
        reason = e.strerror or str(e)
        raise UsageError(
            f"bad --listen endpoint: cannot read {what}{reason[:1].lower()}{reason[1:]} "
            f"(in {description!r})"
        ) from None


def _is_datagram_endpoint(endpoint: Any) -> bool:
    from reactorsock.endpoints import UDPServerEndpoint

    return isinstance(endpoint, UDPServerEndpoint)


def _listen_error(description: str, exc: BaseException) -> str:
    inner = getattr(exc, "socketError", exc)
    code = getattr(inner, "errno", None)
    port = getattr(exc, "port", None)
    if code == errno.EADDRINUSE:
        reason = "address already in use"
    elif code in (errno.EACCES, errno.EPERM):
        reason = "permission denied"
        if isinstance(port, int) and 0 < port < 1024:
            reason += f" (port {port} is below 1024: it needs root or CAP_NET_BIND_SERVICE)"
    elif code == errno.EADDRNOTAVAIL:
        reason = "address not available on this host"
    else:
        reason = getattr(inner, "strerror", None) or str(inner)
        if not reason[1:2].isupper():  # "No such file" -> "no such file"; "AF_UNIX ..." kept
            reason = reason[:1].lower() + reason[1:]
    where = ""
    if isinstance(exc, error.CannotListenError):
        if exc.interface:
            where = f"{exc.interface}:{exc.port}"
        else:
            where = f"port {exc.port}" if isinstance(exc.port, int) else f"{exc.port}"
        where = f" ({where})"
    return f"cannot listen on {description!r}{where}: {reason}"


def bind_all(reactor: Any, app: App, descriptions: list[str], tracker: Any) -> list[Bound]:
    """Listen on every description; all or nothing.

    tracker wraps the app's factory, or is None to bind with placeholders
    (a ``LateFactory``, a bare ``DatagramProtocol``): the supervisor binds
    for its workers and never accepts.
    """
    from reactorsock.protocol import DatagramProtocol

    endpoints = [(d, _endpoint(reactor, d)) for d in descriptions]
    for description, endpoint in endpoints:
        if _is_datagram_endpoint(endpoint) and app.datagram is None:
            raise UsageError(f"app {app.name} has no UDP variant: it can't serve {description!r}")
        if not _is_datagram_endpoint(endpoint) and app.factory is None:
            raise UsageError(
                f"app {app.name} is a DatagramProtocol: it serves udp: endpoints, "
                f"not {description!r}"
            )
    stream_factory = None
    if app.factory is not None:
        stream_factory = tracker.wrap(app.factory) if tracker is not None else LateFactory()
    bound: list[Bound] = []
    try:
        for description, endpoint in endpoints:
            datagram = _is_datagram_endpoint(endpoint)
            if datagram:
                target = app.datagram() if tracker is not None else DatagramProtocol()
            else:
                target = stream_factory
            outcome: list[Any] = []
            endpoint.listen(target).addBoth(outcome.append)
            result = outcome[0]
            if isinstance(result, Failure):
                exc = result.value
                if log.isEnabledFor(logging.DEBUG):
                    log.debug("listen failed:\n%s", result.getTraceback())
                if isinstance(exc, OSError):
                    raise ServeError(_listen_error(description, exc))
                if isinstance(exc, ValueError):  # e.g. InvalidAddressError: udp takes IPs only
                    raise UsageError(f"bad --listen endpoint: {exc} (in {description!r})")
                result.raiseException()
            family = getattr(result, "family", None) or _family(result.getHost())
            bound.append(Bound(description, result, datagram, family))
    except BaseException:
        for b in bound:
            b.port.stopListening()
        raise
    return bound


def _family(address: Any) -> int:
    host = getattr(address, "host", None)
    if host is None:
        return socket.AF_UNIX
    return socket.AF_INET6 if ":" in host else socket.AF_INET


# ---------------------------------------------------------------------------
# Serving in one process


class Server:
    """Runs a reactor over bound ports until stopped; drains connections on a signal.

    ``stop_gracefully`` stops listening, waits up to grace seconds for the
    tracked connections to close, aborts the rest and stops the reactor.
    ``run()`` returns the exit status: 0, 1 if the app's coroutine failed,
    130 after a second SIGINT.
    """

    def __init__(self, reactor: Any, tracker: ConnectionTracker, grace: float) -> None:
        self.reactor = reactor
        self.tracker = tracker
        self.grace = grace
        self.ports: list[Any] = []
        self.status = 0
        self.stopping = False
        self._signals = 0
        self._grace_call: Any = None
        self._app_deferred: Any = None
        self._old_handlers: dict[int, Any] = {}
        self.reload_hint = "SIGHUP ignored: reloading needs --workers"

    # -- the app's own coroutine ---------------------------------------------

    def watch(self, awaitable: Any) -> None:
        """Run a ``main(reactor)`` app's coroutine or Deferred; its end stops the reactor."""
        d = self._app_deferred = ensureDeferred(awaitable)

        def done(result: Any) -> None:
            self._app_deferred = None
            if isinstance(result, Failure):
                if not (self.stopping and result.check(CancelledError)):
                    log.error("the app failed:\n%s", result.getTraceback())
                    self.status = 1
            else:
                log.info("the app finished")
            self._stop_reactor()

        d.addBoth(done)

    # -- stopping --------------------------------------------------------------

    def stop_gracefully(self, why: str) -> None:
        """Stop listening; stop the reactor once connections close or grace expires."""
        if self.stopping:
            return
        self.stopping = True
        for port in self.ports:
            try:
                port.stopListening()
            except Exception:
                log.exception("error while closing %r", port)
        if self._app_deferred is not None:
            self._app_deferred.cancel()
        n = len(self.tracker.open)
        if not n:
            log.info("%s: stopping", why)
            self._stop_reactor()
            return
        log.info("%s: stopped listening; %d connection(s) get %gs to finish", why, n, self.grace)
        self.tracker.on_empty = self._drained
        self._grace_call = self.reactor.callLater(self.grace, self._grace_over)

    def _drained(self) -> None:
        log.info("all connections closed")
        if self._grace_call is not None and self._grace_call.active():
            self._grace_call.cancel()
        self._stop_reactor()

    def _grace_over(self) -> None:
        self.tracker.on_empty = None
        n = self.tracker.abort_all()
        log.warning("grace period of %gs is over: aborted %d connection(s)", self.grace, n)
        self._stop_reactor()

    def _stop_reactor(self) -> None:
        reactor = self.reactor
        if reactor.running:
            try:
                reactor.stop()
            except error.ReactorNotRunning:
                pass
        else:
            reactor.callWhenRunning(self._stop_reactor)

    # -- signals ---------------------------------------------------------------

    def _on_signal(self, signum: int, frame: Any) -> None:
        # Runs between bytecodes of the loop: count, then queue or raise.
        name = signal.Signals(signum).name
        if signum == signal.SIGHUP:
            self.reactor.callFromThread(log.warning, self.reload_hint)
            return
        self._signals += 1
        if self._signals == 1:
            self.reactor.callFromThread(self.stop_gracefully, f"received {name}")
        elif signum == signal.SIGINT:
            raise KeyboardInterrupt
        else:
            self.reactor.callFromThread(log.info, "received %s again: still draining", name)

    def install_signal_handlers(self) -> None:
        """Catch SIGINT, SIGTERM and SIGHUP from now on (``run`` restores the old handlers).

        Called before the startup lines are printed, so that a signal sent
        as soon as they appear is already handled.
        """
        if not self._old_handlers:
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                self._old_handlers[signum] = signal.signal(signum, self._on_signal)

    def restore_signal_handlers(self) -> None:
        """Put back the handlers ``install_signal_handlers`` replaced."""
        old, self._old_handlers = self._old_handlers, {}
        for signum, handler in old.items():
            signal.signal(signum, handler)

    def run(self) -> int:
        """Run the reactor with the runner's signal handlers; return the exit status."""
        self.install_signal_handlers()
        try:
            self.reactor.run(installSignalHandlers=False)
        except KeyboardInterrupt:
            log.warning("second interrupt: exiting at once")
            self.status = 130
            self.tracker.on_empty = None
            try:
                self.reactor.disconnectAll()
            except Exception:  # pragma: no cover - best effort on the way out
                pass
        finally:
            self.restore_signal_handlers()
        return self.status


# ---------------------------------------------------------------------------
# pid files


def _write_pidfile(path: str) -> None:
    try:
        with open(path) as f:
            other = int(f.read().strip() or 0)
    except (OSError, ValueError):
        other = 0
    if other and other != os.getpid():
        try:
            os.kill(other, 0)
        except ProcessLookupError:
            pass
        except PermissionError:
            raise ServeError(f"pidfile {path!r} names running process {other}") from None
        else:
            raise ServeError(f"pidfile {path!r} names running process {other}")
    try:
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(f"{os.getpid()}\n")
        os.replace(tmp, path)
    except OSError as e:
        raise ServeError(f"cannot write pidfile {path!r}: {e.strerror or e}") from None


def _remove_pidfile(path: str) -> None:
    try:
        with open(path) as f:
            if f.read().strip() == str(os.getpid()):
                os.unlink(path)
    except OSError:
        pass


# ---------------------------------------------------------------------------
# The command


def _say(line: str) -> None:
    print(f"reactorsock: {line}", flush=True)


def _new_reactor(name: str | None) -> Any:
    from reactorsock.reactor import new_reactor

    try:
        return new_reactor(name)
    except ValueError as e:
        raise UsageError(str(e)) from None


def _resolve(loaded: App | ReactorCall, reactor: Any) -> App:
    if isinstance(loaded, App):
        return loaded
    import traceback

    try:
        return classify(loaded.func, loaded.name, with_reactor=reactor)
    except AppError:
        raise
    except Exception:
        raise AppError(f"error in {loaded.name}(reactor)", 1, traceback.format_exc()) from None


def _listens(app: App, args: argparse.Namespace) -> list[str]:
    if app.factory is None and app.datagram is None:  # a main(reactor)-style app
        if args.listen:
            raise UsageError(f"app {app.name} runs its own main(): it takes no --listen")
        return []
    if args.listen:
        return list(args.listen)
    return [DEFAULT_LISTEN if app.factory is not None else DEFAULT_UDP_LISTEN]


def _announce(app: App, bound: list[Bound], backend: str, args: argparse.Namespace) -> None:
    for b in bound:
        _say(f"serving {app.name} on {b.shown}")
    mode = f"{args.workers} workers" if args.workers else "1 process"
    _say(f"pid {os.getpid()}, {backend} reactor, {mode}; stop with Ctrl-C or SIGTERM")
    if app.builtin and bound:
        _say(f"try it: {bound[0].try_hint()}")


def _serve_single(loaded: App | ReactorCall, args: argparse.Namespace) -> int:
    reactor = _new_reactor(args.reactor)
    app = None
    bound: list[Bound] = []
    pidfile = None
    server = None
    try:
        app = _resolve(loaded, reactor)
        tracker = ConnectionTracker()
        server = Server(reactor, tracker, args.grace)
        bound = bind_all(reactor, app, _listens(app, args), tracker)
        server.ports = [b.port for b in bound]
        server.install_signal_handlers()
        if args.pidfile:
            _write_pidfile(args.pidfile)
            pidfile = args.pidfile
        _announce(app, bound, reactor.backend, args)
        if app.awaitable is not None:
            server.watch(app.awaitable)
        status = server.run()
        log.info("stopped after %d connection(s)", tracker.total)
        _say("stopped")
        return status
    except BaseException:
        for b in bound:
            if b.port.connected:
                b.port.stopListening()
        if app is not None and inspect.iscoroutine(app.awaitable):
            app.awaitable.close()  # never started: spare the "never awaited" warning
        raise
    finally:
        if server is not None:
            server.restore_signal_handlers()
        if pidfile:
            _remove_pidfile(pidfile)
        reactor.close()


def _serve_workers(loaded: App | ReactorCall, args: argparse.Namespace) -> int:
    from reactorsock.cli._workers import Supervisor

    if isinstance(loaded, ReactorCall) or loaded.awaitable is not None:
        if isinstance(loaded, App) and hasattr(loaded.awaitable, "close"):
            loaded.awaitable.close()  # a coroutine that will not run
        raise UsageError(
            f"--workers needs an app built before the reactor exists (a Factory, a Protocol "
            f"or DatagramProtocol, or a callable taking no arguments); {loaded.name} "
            f"is a main(reactor)-style app"
        )
    app = loaded
    binder = _new_reactor(args.reactor)  # validates --reactor before forking
    bound: list[Bound] = []
    pidfile = None
    closed = False

    def close_listeners() -> None:
        nonlocal closed
        if not closed:
            closed = True
            for b in bound:
                b.port.stopListening()

    def worker_main(slot: int, ready_fd: int, fresh: bool) -> int:
        # In the child: forget the supervisor's reactor, serve on a new one.
        binder.close()
        return _worker(slot, ready_fd, fresh, app, bound, args)

    def announce() -> None:
        # Here, not before run(): the signals are caught now, so a SIGTERM
        # sent as soon as the pidfile appears stops us through the finally
        # below, which removes it.
        nonlocal pidfile
        if args.pidfile:
            _write_pidfile(args.pidfile)
            pidfile = args.pidfile
        _announce(app, bound, binder.backend, args)

    try:
        bound = bind_all(binder, app, _listens(app, args), None)
        supervisor = Supervisor(args.workers, worker_main, args.grace, close_listeners)
        status = supervisor.run(announce)
        _say("stopped")
        return status
    finally:
        close_listeners()
        if pidfile:
            _remove_pidfile(pidfile)
        binder.close()


def _worker(
    slot: int, ready_fd: int, fresh: bool, app: App, bound: list[Bound], args: argparse.Namespace
) -> int:
    """Serve app on the inherited sockets in a forked worker; return its exit status."""
    from reactorsock.cli._workers import STOP_SIGNALS

    if fresh and args.app and ":" in args.app:
        drop_module(args.app)
        try:
            loaded = load_app(args.app)
        except AppError as e:
            _print_error(str(e), e.details)
            return 1
        if not isinstance(loaded, App) or loaded.awaitable is not None:
            _print_error(f"reloaded app {args.app} is no longer servable by workers")
            return 1
        app = loaded
    reactor = _new_reactor(args.reactor)
    tracker = ConnectionTracker()
    server = Server(reactor, tracker, args.grace)
    server.reload_hint = "SIGHUP goes to the supervisor, not to a worker: ignored"
    factory = tracker.wrap(app.factory) if app.factory is not None else None
    for b in bound:
        fd = b.port.fileno()
        if b.datagram:
            port = reactor.adoptDatagramPort(fd, b.family, app.datagram())
        else:
            # The port's factory is the LateFactory bind_all used, or what the
            # endpoint wrapped around it (TLS): point it at this worker's factory.
            _late_factory(b.port.factory).target = factory
            port = reactor.adoptStreamPort(fd, b.family, b.port.factory)
        server.ports.append(port)
        # The adopted port holds a duplicate; drop the inherited descriptor so
        # that the socket closes once the supervisor and the workers close theirs.
        b.port.channel.close()
    supervisor_pid = os.getppid()

    def ready() -> None:
        os.write(ready_fd, b"r")
        os.close(ready_fd)
        log.info("worker %d serving (pid %d)", slot, os.getpid())

    def check_parent() -> None:
        if os.getppid() != supervisor_pid:
            server.stop_gracefully("the supervisor is gone")
        elif not server.stopping:
            reactor.callLater(PARENT_CHECK_INTERVAL, check_parent)

    reactor.callWhenRunning(ready)
    reactor.callLater(PARENT_CHECK_INTERVAL, check_parent)
    server.install_signal_handlers()
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # blocked since the fork
    try:
        return server.run()
    finally:
        reactor.close()


def _late_factory(factory: Any) -> LateFactory:
    """Find the ``LateFactory`` inside factory's chain of wrapped factories."""
    seen = factory
    for _ in range(8):
        if isinstance(seen, LateFactory):
            return seen
        seen = getattr(seen, "wrappedFactory", None) or getattr(seen, "_wrapped", None)
    raise RuntimeError(f"no LateFactory in {factory!r}")  # pragma: no cover - bind_all's


def _print_error(message: str, details: str | None = None) -> None:
    print(f"reactorsock: error: {message}", file=sys.stderr, flush=True)
    if details:
        print(details.rstrip("\n"), file=sys.stderr, flush=True)


def run_command(args: argparse.Namespace) -> int:
    """Do ``reactorsock run`` as args say; return the exit status."""
    undo_logging = configure_logging(args.log_level, args.log_format)
    started = time.monotonic()
    try:
        try:
            loaded = load_app(args.app)
            if args.workers:
                return _serve_workers(loaded, args)
            return _serve_single(loaded, args)
        except AppError as e:
            _print_error(str(e), e.details)
            return e.status
        except UsageError as e:
            _print_error(str(e))
            return 2
        except ServeError as e:
            if log.isEnabledFor(logging.DEBUG):
                log.debug("traceback of the error:", exc_info=True)
            _print_error(str(e))
            return 1
    finally:
        log.debug("run took %.3fs", time.monotonic() - started)
        undo_logging()
