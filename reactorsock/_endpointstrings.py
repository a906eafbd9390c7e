"""Endpoint description strings: the grammar, the type registry and the parsers.

``serverFromString``/``clientFromString`` split a description such as
``"tcp:8080:interface=127.0.0.1"`` into fields (``parse_description``),
look the type up in ``SERVER_PARSERS``/``CLIENT_PARSERS`` and let its
``EndpointSyntax`` convert the values and build the endpoint.  The syntax
and the built-in types are documented in ``endpoints.py``, which
re-exports this module.  The endpoint classes themselves are not here
(they are in ``endpoints.py``, looked up when an endpoint is built), nor
are the TLS types (``_tlsendpoints.py``, imported on first use).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from reactorsock.tcp import is_ipv6_literal

if TYPE_CHECKING:
    from reactorsock.endpoints import (
        UDPServerEndpoint,
        UNIXClientEndpoint,
        UNIXServerEndpoint,
    )

__all__ = [
    "serverFromString",
    "clientFromString",
    "Param",
    "EndpointSyntax",
    "SERVER_PARSERS",
    "CLIENT_PARSERS",
    "parse_description",
]


def _split(description: str) -> list[tuple[str | None, str]]:
    """Split a description into ``(key or None, value)`` fields, undoing escapes.

    The type is the first field, returned as ``(None, type)``.
    """
    fields: list[tuple[str | None, str]] = []
    key: str | None = None
    current: list[str] = []
    chars = iter(description)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, None)
            if nxt is None:
                raise ValueError("the description ends with a lone backslash (write \\\\)")
            current.append(nxt)
        elif ch == ":":
            fields.append((key, "".join(current)))
            key, current = None, []
        elif ch == "=" and key is None and fields:
            key, current = "".join(current), []
        else:
            current.append(ch)
    fields.append((key, "".join(current)))
    return fields


def parse_description(description: str | bytes) -> tuple[str, list[str], dict[str, str]]:
    """Split description into ``(type, positional values, keyword values)``.

    ``ValueError`` for an empty type, an empty or repeated keyword, or a
    trailing lone backslash.
    """
    if isinstance(description, bytes):
        description = description.decode("utf-8")
    if not isinstance(description, str):
        raise TypeError(f"an endpoint description is a str, not {type(description).__name__}")
    fields = _split(description)
    kind = fields[0][1]
    if not kind:
        raise ValueError(f"endpoint description {description!r} does not start with a type")
    args: list[str] = []
    kwargs: dict[str, str] = {}
    for key, value in fields[1:]:
        if key is None:
            args.append(value)
        elif not key:
            raise ValueError(f"empty keyword before '={value}' in {description!r}")
        elif key in kwargs:
            raise ValueError(f"{key!r} is given twice in {description!r}")
        else:
            kwargs[key] = value
    return kind, args, kwargs


# -- converters: str -> value, ValueError with a short reason -----------------


def _port(text: str) -> int:
    try:
        port = int(text, 10)
    except ValueError:
        raise ValueError("not an integer") from None
    if not 0 <= port <= 65535:
        raise ValueError("out of range 0-65535")
    return port


def _count(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise ValueError("not an integer") from None
    if value < 0:
        raise ValueError("negative")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("not a number of seconds") from None
    if not value > 0:  # also rejects nan
        raise ValueError("must be positive")
    return value


def _flag(text: str) -> bool:
    value = {"1": True, "0": False, "true": True, "false": False, "yes": True, "no": False}.get(
        text.lower()
    )
    if value is None:
        raise ValueError("not one of 0, 1, true, false, yes, no")
    return value


def _mode(text: str) -> int:
    digits = text[2:] if text[:2].lower() == "0o" else text
    try:
        mode = int(digits, 8)
    except ValueError:
        raise ValueError("not an octal file mode such as 660") from None
    if not 0 <= mode <= 0o7777:
        raise ValueError("not a file mode (0-7777 octal)")
    return mode


def _text(text: str) -> str:
    if not text:
        raise ValueError("empty")
    return text


def _host_port(text: str) -> tuple[str, int]:
    """``HOST``, ``HOST:PORT``, ``IPV6`` or ``[IPV6]:PORT`` as a bind address."""
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError("not [IPV6]:PORT")
        return host, _port(rest[1:]) if rest else 0
    if is_ipv6_literal(text):
        return text, 0
    host, sep, port = text.rpartition(":")
    if not sep:
        return _text(text), 0
    return _text(host), _port(port)


@attrs.frozen
class Param:
    """One parameter of an endpoint type: its keyword, converter and aliases.

    ``name`` is the keyword in descriptions and the builder's argument
    name; ``aliases`` are other keywords accepted for it.
    """

    name: str
    convert: Callable[[str], Any] = _text
    required: bool = False
    aliases: tuple[str, ...] = ()


@attrs.frozen
class EndpointSyntax:
    """The description syntax of one endpoint type, and how to build it.

    ``build(reactor, **values)`` gets each given parameter converted, under
    its ``name``.  ``form`` is the synopsis shown in error messages.
    Positional values fill ``params`` in order, skipping those given by
    keyword.
    """

    form: str
    params: tuple[Param, ...]
    build: Callable[..., Any]

    def parse(
        self, reactor: Any, args: list[str], kwargs: dict[str, str], description: str
    ) -> Any:
        """Build the endpoint that args and kwargs describe; ``ValueError`` if they don't fit."""

        # An empty field is what an unescaped "::" (an IPv6 address) leaves.
        hint = " (an empty field: write a ':' inside a value as '\\:')" if "" in args else ""

        def bad(problem: str) -> ValueError:
            return ValueError(f"{problem} in {description!r}; expected {self.form}{hint}")

        by_keyword = {}
        for p in self.params:
            for k in (p.name, *p.aliases):
                by_keyword[k] = p
        raw: dict[str, tuple[str, str]] = {}  # name -> (spelling, text)
        for key, text in kwargs.items():
            p = by_keyword.get(key)
            if p is None:
                known = ", ".join(p.name for p in self.params)
                raise bad(f"unknown keyword {key!r} (known: {known})")
            if p.name in raw:
                raise bad(f"{p.name!r} is given twice (as {raw[p.name][0]!r} and {key!r})")
            raw[p.name] = (key, text)
        free = [p for p in self.params if p.name not in raw]
        if len(args) > len(free):
            extra = ":".join(args[len(free) :])
            raise bad(f"unexpected positional value(s) {extra!r}")
        for p, text in zip(free, args, strict=False):
            raw[p.name] = (p.name, text)
        values = {}
        for p in self.params:
            if p.name not in raw:
                if p.required:
                    raise bad(f"missing {p.name}")
                continue
            spelling, text = raw[p.name]
            try:
                values[p.name] = p.convert(text)
            except ValueError as e:
                raise bad(f"bad {spelling} {text!r}: {e}") from None
        return self.build(reactor, **values)


def _endpoint_class(name: str) -> type:
    # endpoints.py imports this module (to re-export it), so its classes
    # are looked up when an endpoint is built, not when this module loads.
    from reactorsock import endpoints

    return getattr(endpoints, name)


def _tcp_server(endpoint: str, interface_default: str) -> Callable[..., Any]:
    def build(reactor: Any, port: int, interface: str = interface_default, backlog: int = 50):
        return _endpoint_class(endpoint)(reactor, port, backlog, interface)

    return build


def _unix_server(
    reactor: Any, address: str, mode: int = 0o666, lockfile: bool = False, backlog: int = 50
) -> UNIXServerEndpoint:
    return _endpoint_class("UNIXServerEndpoint")(reactor, address, backlog, mode, lockfile)


def _udp_server(
    reactor: Any, port: int, interface: str = "", maxPacketSize: int = 8192
) -> UDPServerEndpoint:
    return _endpoint_class("UDPServerEndpoint")(reactor, port, interface, maxPacketSize)


def _tcp_client(endpoint: str) -> Callable[..., Any]:
    def build(reactor: Any, host: str, port: int, timeout: float = 30, bindAddress: Any = None):
        return _endpoint_class(endpoint)(reactor, host, port, timeout, bindAddress)

    return build


def _unix_client(
    reactor: Any, path: str, timeout: float = 30, checkPID: bool = False
) -> UNIXClientEndpoint:
    return _endpoint_class("UNIXClientEndpoint")(reactor, path, timeout, checkPID)


_TCP_SERVER_PARAMS = (
    Param("port", _port, required=True),
    Param("interface", str),
    Param("backlog", _count),
)
_TCP_CLIENT_PARAMS = (
    Param("host", _text, required=True),
    Param("port", _port, required=True),
    Param("timeout", _seconds),
    Param("bindAddress", _host_port),
)

#: Server endpoint types by name: ``EndpointSyntax`` or ``"module:attribute"``.
SERVER_PARSERS: dict[str, Any] = {
    "tcp": EndpointSyntax(
        "tcp:PORT[:interface=IPV4][:backlog=N], e.g. tcp:8080:interface=127.0.0.1",
        _TCP_SERVER_PARAMS,
        _tcp_server("TCP4ServerEndpoint", ""),
    ),
    "tcp6": EndpointSyntax(
        "tcp6:PORT[:interface=IPV6][:backlog=N], e.g. tcp6:8080:interface=\\:\\:1",
        _TCP_SERVER_PARAMS,
        _tcp_server("TCP6ServerEndpoint", "::"),
    ),
    "unix": EndpointSyntax(
        "unix:PATH[:mode=OCTAL][:lockfile=0|1][:backlog=N], e.g. unix:/run/app.sock:mode=660",
        (
            Param("address", _text, required=True),
            Param("mode", _mode),
            Param("lockfile", _flag, aliases=("wantPID",)),
            Param("backlog", _count),
        ),
        _unix_server,
    ),
    "udp": EndpointSyntax(
        "udp:PORT[:interface=IP][:maxPacketSize=N], e.g. udp:5353:interface=127.0.0.1",
        (
            Param("port", _port, required=True),
            Param("interface", str),
            Param("maxPacketSize", _count),
        ),
        _udp_server,
    ),
    # TLS needs pyOpenSSL: _tlsendpoints is imported only when a description uses it.
    "ssl": "reactorsock._tlsendpoints:SSL_SERVER_SYNTAX",
}

#: Client endpoint types by name: ``EndpointSyntax`` or ``"module:attribute"``.
CLIENT_PARSERS: dict[str, Any] = {
    "tcp": EndpointSyntax(
        "tcp:HOST:PORT[:timeout=SECONDS][:bindAddress=IP[\\:PORT]], "
        "e.g. tcp:host=example.com:port=80:timeout=5",
        _TCP_CLIENT_PARAMS,
        _tcp_client("TCP4ClientEndpoint"),
    ),
    "tcp6": EndpointSyntax(
        "tcp6:HOST:PORT[:timeout=SECONDS][:bindAddress=IPV6], e.g. tcp6:host=\\:\\:1:port=80",
        _TCP_CLIENT_PARAMS,
        _tcp_client("TCP6ClientEndpoint"),
    ),
    "unix": EndpointSyntax(
        "unix:PATH[:timeout=SECONDS][:checkPID=0|1], e.g. unix:path=/tmp/s:timeout=2",
        (
            Param("path", _text, required=True),
            Param("timeout", _seconds),
            Param("checkPID", _flag, aliases=("lockfile",)),
        ),
        _unix_client,
    ),
    "tls": "reactorsock._tlsendpoints:TLS_CLIENT_SYNTAX",
}


def _syntax(registry: dict[str, Any], kind: str, role: str, description: str) -> Any:
    syntax = registry.get(kind)
    if syntax is None:
        known = ", ".join(sorted(registry))
        hint = f"; did you mean 'tcp:{description}'?" if kind.isdigit() else ""
        raise ValueError(
            f"unknown {role} endpoint type {kind!r} in {description!r} (known: {known}){hint}"
        )
    if isinstance(syntax, str):  # "module:attribute", imported on first use
        module, _, attr = syntax.partition(":")
        try:
            loaded = getattr(importlib.import_module(module), attr, None)
        except ImportError as e:
            raise ValueError(f"{role} endpoint type {kind!r} is unavailable: {e}") from e
        if loaded is None:
            raise ValueError(f"{role} endpoint type {kind!r} is unavailable: no {syntax}")
        syntax = registry[kind] = loaded
    return syntax


def _from_string(registry: dict[str, Any], role: str, reactor: Any, description: Any) -> Any:
    if isinstance(description, bytes):
        description = description.decode("utf-8")
    try:
        kind, args, kwargs = parse_description(description)
    except ValueError as e:
        raise ValueError(f"malformed {role} endpoint description: {e}") from None
    return _syntax(registry, kind, role, description).parse(reactor, args, kwargs, description)


def serverFromString(reactor: Any, description: str | bytes) -> Any:
    """Build the server endpoint that description names, e.g. ``"tcp:8080"``.

    See the module docstring for the syntax; ``ValueError`` if it is malformed.
    """
    return _from_string(SERVER_PARSERS, "server", reactor, description)


def clientFromString(reactor: Any, description: str | bytes) -> Any:
    """Build the client endpoint that description names, e.g. ``"tcp:example.com:80"``.

    See the module docstring for the syntax; ``ValueError`` if it is malformed.
    """
    return _from_string(CLIENT_PARSERS, "client", reactor, description)
