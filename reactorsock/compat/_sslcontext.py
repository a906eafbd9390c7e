"""``SSLContext`` of ``reactorsock.compat.ssl``: the stdlib's settings over a pyOpenSSL context.

``SSLContext`` has the attributes and methods of the stdlib's
``ssl.SSLContext`` that clients and servers use (``verify_mode``,
``check_hostname``, ``options``, ``minimum_version``/``maximum_version``,
``load_cert_chain``, ``load_verify_locations``, ALPN, ciphers, SNI
callback...) and makes ``SSLSocket`` objects with ``wrap_socket`` and
``SSLObject`` objects with ``wrap_bio``.  It holds one
``OpenSSL.SSL.Context``; connections are their business.
``create_default_context`` and ``_create_unverified_context`` make contexts
with the stdlib's defaults.

Design notes
------------
Settings go straight into the ``OpenSSL.SSL.Context``, as CPython's go
into its ``SSL_CTX``, so that a bad file or cipher string raises at the
call, not at the next connection.  pyOpenSSL can set option bits but not
clear them; clearing one rebuilds the pyOpenSSL context from the settings
and replays every load (``_loads``).  Defaults (``options``, versions)
are read once per protocol from a stdlib context of the running
interpreter, so they are what the stdlib would give.

Trust: ``load_default_certs``/``set_default_verify_paths`` load the
locations the stdlib's OpenSSL reports (``ssl.get_default_verify_paths()``,
which honours ``SSL_CERT_FILE``/``SSL_CERT_DIR``), so both modules trust
the same store; pyOpenSSL's own defaults are the fallback.
"""

from __future__ import annotations

import os
import ssl as _stdssl
import sys
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from cryptography import x509
from OpenSSL import SSL, crypto

from reactorsock.compat._sslcert import decode_certificate
from reactorsock.compat._sslobject import SSLObject
from reactorsock.compat._sslsocket import SSLSocket

__all__ = ["SSLContext", "create_default_context", "_create_unverified_context"]

_CLIENT = _stdssl.PROTOCOL_TLS_CLIENT
_SERVER = _stdssl.PROTOCOL_TLS_SERVER
_FIXED_VERSIONS = {
    getattr(_stdssl, name): version
    for name, version in (
        ("PROTOCOL_TLSv1", SSL.TLS1_VERSION),
        ("PROTOCOL_TLSv1_1", SSL.TLS1_1_VERSION),
        ("PROTOCOL_TLSv1_2", SSL.TLS1_2_VERSION),
    )
    if hasattr(_stdssl, name)
}
_PROTOCOLS = {_stdssl.PROTOCOL_TLS, _CLIENT, _SERVER, *_FIXED_VERSIONS}
_VERIFY_BITS = {
    _stdssl.CERT_NONE: SSL.VERIFY_NONE,
    _stdssl.CERT_OPTIONAL: SSL.VERIFY_PEER,
    _stdssl.CERT_REQUIRED: SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT,
}
_defaults: dict[int, tuple[int, int, int]] = {}


def _stdlib_defaults(protocol: int) -> tuple[int, int, int]:
    """``(options, minimum_version, maximum_version)`` of a new stdlib context."""
    found = _defaults.get(protocol)
    if found is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            std = _stdssl.SSLContext(protocol)
        found = _defaults[protocol] = (
            int(std.options),
            int(std.minimum_version),
            int(std.maximum_version),
        )
    return found


def _ssl_error(exc: Exception, fallback: str) -> _stdssl.SSLError:
    """A stdlib ``SSLError`` for a pyOpenSSL error, named like OpenSSL's reason."""
    reasons = [e[-1] for e in (exc.args[0] if exc.args and isinstance(exc.args[0], list) else [])]
    text = str(reasons[-1]) if reasons else fallback
    reason = text.upper().replace(" ", "_")
    err = _stdssl.SSLError(1, f"[SSL: {reason}] {text}")
    err.reason, err.library = reason, "SSL"
    return err


def _password_callback(password: Any) -> Callable[..., bytes]:
    def callback(maxlength: int, verify: bool, userdata: Any) -> bytes:
        value = password() if callable(password) else password
        if isinstance(value, str):
            value = value.encode("utf-8")
        if not isinstance(value, (bytes, bytearray)):
            raise TypeError("password callback must return a string")
        if len(value) > maxlength:
            raise ValueError(f"password cannot be longer than {maxlength} bytes")
        return bytes(value)

    return callback


def _version_bound(attr: str, doc: str) -> property:
    """``SSLContext.minimum_version`` (attr ``_minimum``) or ``maximum_version``."""

    def get(self: SSLContext) -> _stdssl.TLSVersion:
        return _stdssl.TLSVersion(getattr(self, attr))

    def set_(self: SSLContext, value: _stdssl.TLSVersion) -> None:
        self._set_version_bound(attr, value)

    return property(get, set_, doc=doc)


class SSLContext:
    """TLS settings, certificates and trust for ``SSLSocket`` objects: the stdlib's API."""

    __module__ = "reactorsock.compat.ssl"
    sslsocket_class = SSLSocket
    sslobject_class = SSLObject

    def __init__(self, protocol: int | None = None, *args: Any, **kwargs: Any) -> None:
        if protocol is None:
            warnings.warn(
                "ssl.SSLContext() without protocol argument is deprecated.",
                DeprecationWarning,
                stacklevel=2,
            )
            protocol = _stdssl.PROTOCOL_TLS
        if protocol not in _PROTOCOLS:
            raise ValueError(f"invalid or unsupported protocol version {protocol}")
        if protocol not in (_CLIENT, _SERVER):
            name = _stdssl._SSLMethod(protocol).name
            warnings.warn(f"ssl.{name} is deprecated", DeprecationWarning, stacklevel=2)
        self._protocol = _stdssl._SSLMethod(protocol)
        options, self._minimum, self._maximum = _stdlib_defaults(protocol)
        if protocol in _FIXED_VERSIONS:
            self._minimum = self._maximum = _FIXED_VERSIONS[protocol]
        self._options = options
        self._verify_mode = _stdssl.CERT_REQUIRED if protocol == _CLIENT else _stdssl.CERT_NONE
        self._check_hostname = protocol == _CLIENT
        self._verify_flags = _stdssl.VerifyFlags.VERIFY_X509_TRUSTED_FIRST
        self._alpn: list[bytes] = []
        self._ciphers: bytes | None = None
        self._sni_callback: Any = None
        self._keylog_filename: str | None = None
        self.post_handshake_auth = False
        self.hostname_checks_common_name = False
        self._loads: list[Callable[[SSL.Context], None]] = []
        self._ca_sources: list[bytes] = []  # PEM/DER data of cafile/cadata, for get_ca_certs
        self._ctx = self._new_openssl_context()

    # -- the pyOpenSSL context ------------------------------------------------------

    def _new_openssl_context(self) -> SSL.Context:
        protocol = self._protocol
        if protocol == _CLIENT:
            method = SSL.TLS_CLIENT_METHOD
        elif protocol == _SERVER:
            method = SSL.TLS_SERVER_METHOD
        else:
            method = SSL.TLS_METHOD
        ctx = SSL.Context(method)
        ctx.set_options(self._options)
        ctx.set_verify(_VERIFY_BITS[self._verify_mode])
        ctx.set_min_proto_version(max(self._minimum, 0))
        ctx.set_max_proto_version(max(self._maximum, 0))
        ctx.get_cert_store().set_flags(int(self._verify_flags))
        ctx.set_alpn_select_callback(self._select_alpn)
        if self._alpn:
            ctx.set_alpn_protos(self._alpn)
        if self._ciphers is not None:
            ctx.set_cipher_list(self._ciphers)
        if self._sni_callback is not None:
            ctx.set_tlsext_servername_callback(self._servername)
        if self._keylog_filename is not None:
            ctx.set_keylog_callback(self._keylog)
        for load in self._loads:
            load(ctx)
        return ctx

    def _openssl_context(self) -> SSL.Context:
        """The ``OpenSSL.SSL.Context`` new connections are made from."""
        return self._ctx

    def _load(self, step: Callable[[SSL.Context], None]) -> None:
        """Apply a load now, and again whenever the pyOpenSSL context is rebuilt."""
        step(self._ctx)
        self._loads.append(step)

    # -- settings ---------------------------------------------------------------------

    @property
    def protocol(self) -> _stdssl._SSLMethod:
        """The protocol given at construction (``PROTOCOL_TLS_CLIENT``...)."""
        return self._protocol

    @property
    def verify_mode(self) -> _stdssl.VerifyMode:
        """Whether to verify the peer: ``CERT_NONE``, ``CERT_OPTIONAL`` or ``CERT_REQUIRED``."""
        return _stdssl.VerifyMode(self._verify_mode)

    @verify_mode.setter
    def verify_mode(self, value: int) -> None:
        if value not in _VERIFY_BITS:
            raise ValueError("invalid value for verify_mode")
        if value == _stdssl.CERT_NONE and self._check_hostname:
            raise ValueError("Cannot set verify_mode to CERT_NONE when check_hostname is enabled.")
        self._verify_mode = int(value)
        self._ctx.set_verify(_VERIFY_BITS[self._verify_mode])

    @property
    def check_hostname(self) -> bool:
        """Whether a client checks the server's name (True sets ``CERT_REQUIRED`` if unset)."""
        return self._check_hostname

    @check_hostname.setter
    def check_hostname(self, value: bool) -> None:
        value = bool(value)
        if value and self._verify_mode == _stdssl.CERT_NONE:
            self.verify_mode = _stdssl.CERT_REQUIRED
        self._check_hostname = value

    @property
    def options(self) -> _stdssl.Options:
        """OpenSSL option bits (``OP_*``); clearing a bit rebuilds the pyOpenSSL context."""
        return _stdssl.Options(self._options)

    @options.setter
    def options(self, value: int) -> None:
        value = int(value)
        cleared = self._options & ~value
        self._options = value
        if cleared:
            self._ctx = self._new_openssl_context()
        else:
            self._ctx.set_options(value)

    def _set_version_bound(self, attr: str, value: _stdssl.TLSVersion) -> None:
        if self._protocol not in (_stdssl.PROTOCOL_TLS, _CLIENT, _SERVER):
            raise ValueError(
                "The context's protocol doesn't support modification of highest and lowest "
                "version."
            )
        setattr(self, attr, int(_stdssl.TLSVersion(value)))
        self._ctx.set_min_proto_version(max(self._minimum, 0))
        self._ctx.set_max_proto_version(max(self._maximum, 0))

    minimum_version = _version_bound(
        "_minimum", "The lowest TLS version allowed (``TLSVersion``)."
    )
    maximum_version = _version_bound(
        "_maximum", "The highest TLS version allowed (``TLSVersion``)."
    )

    @property
    def verify_flags(self) -> _stdssl.VerifyFlags:
        """Certificate verification flags (``VERIFY_*``)."""
        return _stdssl.VerifyFlags(self._verify_flags)

    @verify_flags.setter
    def verify_flags(self, value: int) -> None:
        cleared = self._verify_flags & ~int(value)
        self._verify_flags = _stdssl.VerifyFlags(value)
        if cleared:  # X509_STORE flags, like options, can only be added
            self._ctx = self._new_openssl_context()
        else:
            self._ctx.get_cert_store().set_flags(int(value))

    @property
    def security_level(self) -> int:
        """OpenSSL's security level (the default: 2)."""
        from OpenSSL._util import lib  # no public pyOpenSSL call

        return int(lib.SSL_CTX_get_security_level(self._ctx._context))

    @property
    def keylog_filename(self) -> str | None:
        """File that TLS secrets are appended to (NSS key log format), or None."""
        return self._keylog_filename

    @keylog_filename.setter
    def keylog_filename(self, path: str | None) -> None:
        if path is None:
            self._keylog_filename = None
            self._ctx.set_keylog_callback(lambda conn, line: None)
            return
        path = os.fspath(path)
        with open(path, "a"):  # the stdlib checks that it can write, at once
            pass
        self._keylog_filename = path
        self._ctx.set_keylog_callback(self._keylog)

    def _keylog(self, conn: Any, line: bytes) -> None:
        if self._keylog_filename is not None:
            with open(self._keylog_filename, "ab") as f:
                f.write(line + b"\n")

    # -- certificates and trust ---------------------------------------------------------

    def load_cert_chain(self, certfile: Any, keyfile: Any = None, password: Any = None) -> None:
        """Load our certificate (and its chain) and private key from PEM files."""
        certfile = os.fspath(certfile)
        keyfile = certfile if keyfile is None else os.fspath(keyfile)
        for path in (certfile, keyfile):
            with open(path, "rb"):  # FileNotFoundError/PermissionError, as the stdlib
                pass
        if password is not None and not (
            callable(password) or isinstance(password, (str, bytes, bytearray))
        ):
            raise TypeError("password should be a string or callable")

        def step(ctx: SSL.Context) -> None:
            if password is not None:
                ctx.set_passwd_cb(_password_callback(password))
            try:
                ctx.use_certificate_chain_file(certfile)
                ctx.use_privatekey_file(keyfile)
                ctx.check_privatekey()
            except SSL.Error as e:
                raise _ssl_error(e, "PEM lib") from None

        self._load(step)

    def load_verify_locations(
        self, cafile: Any = None, capath: Any = None, cadata: Any = None
    ) -> None:
        """Trust the CA certificates in cafile (PEM), capath (hashed dir) or cadata."""
        if cafile is None and capath is None and cadata is None:
            raise TypeError("cafile, capath and cadata cannot be all omitted")
        if cafile is not None:
            cafile = os.fspath(cafile)
            with open(cafile, "rb") as f:
                self._ca_sources.append(f.read())
        if capath is not None:
            capath = os.fspath(capath)
            if not os.path.isdir(capath):
                raise FileNotFoundError(2, "No such file or directory")
        if cafile is not None or capath is not None:

            def step(ctx: SSL.Context) -> None:
                try:
                    ctx.load_verify_locations(cafile, capath)
                except SSL.Error as e:
                    raise _ssl_error(e, "no certificate or crl found") from None

            self._load(step)
        if cadata is not None:
            certs = self._parse_cadata(cadata)

            def add(ctx: SSL.Context) -> None:
                store = ctx.get_cert_store()
                for cert in certs:
                    try:
                        store.add_cert(crypto.X509.from_cryptography(cert))
                    except crypto.Error:
                        pass  # already there: the stdlib ignores duplicates too

            self._load(add)

    def _parse_cadata(self, cadata: Any) -> list[x509.Certificate]:
        if isinstance(cadata, str):
            data = cadata.encode("ascii")
            try:
                certs = x509.load_pem_x509_certificates(data)
            except ValueError:
                raise _stdssl.SSLError(1, "[X509: NO_CERTIFICATE_OR_CRL_FOUND]") from None
        else:
            data = bytes(memoryview(cadata))
            certs = []
            rest = data
            while rest:  # concatenated DER certificates
                cert = self._load_der_prefix(rest)
                certs.append(cert)
                rest = rest[len(cert.public_bytes(_der())) :]
        if not certs:
            raise _stdssl.SSLError(1, "[X509: NO_CERTIFICATE_OR_CRL_FOUND] no certificate")
        self._ca_sources.append(data)
        return certs

    @staticmethod
    def _load_der_prefix(data: bytes) -> x509.Certificate:
        # DER: a SEQUENCE; its length says where the next certificate starts.
        if len(data) < 2 or data[0] != 0x30:
            raise _stdssl.SSLError(1, "[X509: NOT_ENOUGH_DATA] not enough data")
        size = data[1]
        if size & 0x80:
            count = size & 0x7F
            size = 2 + count + int.from_bytes(data[2 : 2 + count], "big")
        else:
            size += 2
        try:
            return x509.load_der_x509_certificate(data[:size])
        except ValueError:
            raise _stdssl.SSLError(1, "[X509: NOT_ENOUGH_DATA] not enough data") from None

    def load_default_certs(self, purpose: Any = _stdssl.Purpose.SERVER_AUTH) -> None:
        """Trust the system's CA store (the one the stdlib's OpenSSL uses)."""
        if not isinstance(purpose, _stdssl._ASN1Object):
            raise TypeError(purpose)
        self.set_default_verify_paths()

    def set_default_verify_paths(self) -> None:
        """Trust the default CA locations of the stdlib's OpenSSL (``SSL_CERT_FILE``...)."""
        paths = _stdssl.get_default_verify_paths()
        cafile = paths.cafile if paths.cafile and os.path.isfile(paths.cafile) else None
        capath = paths.capath if paths.capath and os.path.isdir(paths.capath) else None
        if cafile is None and capath is None:
            self._load(lambda ctx: ctx.set_default_verify_paths())
        else:
            self.load_verify_locations(cafile, capath)

    def load_dh_params(self, path: Any) -> None:
        """Load Diffie-Hellman parameters for DHE ciphers (TLS 1.2 servers)."""
        path = os.fspath(path)
        with open(path, "rb"):
            pass
        self._load(lambda ctx: ctx.load_tmp_dh(path))

    def set_ecdh_curve(self, name: str) -> None:
        """Accepted for compatibility: OpenSSL 3 negotiates ECDH groups itself."""
        if not isinstance(name, str):
            raise TypeError("curve name must be a str")

    def _ca_certificates(self) -> list[x509.Certificate]:
        seen: dict[bytes, x509.Certificate] = {}
        for data in self._ca_sources:
            if data.lstrip().startswith(b"-----"):
                certs = x509.load_pem_x509_certificates(data)
            else:
                certs, rest = [], data
                while rest:
                    cert = self._load_der_prefix(rest)
                    certs.append(cert)
                    rest = rest[len(cert.public_bytes(_der())) :]
            for cert in certs:
                seen.setdefault(cert.public_bytes(_der()), cert)
        return list(seen.values())

    def get_ca_certs(self, binary_form: bool = False) -> list[Any]:
        """CA certificates loaded from cafile/cadata (not capath's, loaded lazily), as dicts."""
        out = []
        for cert in self._ca_certificates():
            if _is_ca(cert):
                out.append(cert.public_bytes(_der()) if binary_form else decode_certificate(cert))
        return out

    def cert_store_stats(self) -> dict[str, int]:
        """Counts of certificates loaded from cafile/cadata: ``x509``, ``crl``, ``x509_ca``."""
        certs = self._ca_certificates()
        return {"x509": len(certs), "crl": 0, "x509_ca": sum(1 for c in certs if _is_ca(c))}

    # -- negotiation ---------------------------------------------------------------------

    def set_ciphers(self, ciphers: str) -> None:
        """Set the TLS 1.2-and-lower cipher list (OpenSSL cipher string)."""
        data = ciphers.encode("ascii")
        try:
            self._ctx.set_cipher_list(data)
        except SSL.Error:
            raise _stdssl.SSLError(1, "No cipher can be selected.") from None
        self._ciphers = data

    def set_alpn_protocols(self, alpn_protocols: Iterable[str]) -> None:
        """Offer (client) or accept (server, first of ours the client offers) these protocols."""
        protocols = []
        for proto in alpn_protocols:
            encoded = bytes(proto, "ascii")
            if len(encoded) == 0 or len(encoded) > 255:
                raise _stdssl.SSLError("ALPN protocols must be 1 to 255 in length")
            protocols.append(encoded)
        self._alpn = protocols
        self._ctx.set_alpn_protos(protocols)

    def _select_alpn(self, conn: Any, offered: list[bytes]) -> bytes:
        for proto in self._alpn:
            if proto in offered:
                return proto
        return SSL.NO_OVERLAPPING_PROTOCOLS  # no ALPN in the answer, as CPython's server

    def set_npn_protocols(self, npn_protocols: Any) -> None:
        """NPN is gone from OpenSSL 3: raises NotImplementedError, as the stdlib there."""
        warnings.warn("ssl NPN is deprecated, use ALPN instead", DeprecationWarning, stacklevel=2)
        raise NotImplementedError("The NPN extension requires OpenSSL 1.0.1 or later.")

    @property
    def sni_callback(self) -> Any:
        """Server: ``callback(sslsocket, server_name, sslcontext)`` run on the client's SNI."""
        return self._sni_callback

    @sni_callback.setter
    def sni_callback(self, callback: Any) -> None:
        if callback is not None and not callable(callback):
            raise TypeError("not a callable object")
        self._sni_callback = callback
        if callback is not None:
            self._ctx.set_tlsext_servername_callback(self._servername)
        else:
            self._ctx.set_tlsext_servername_callback(lambda conn: None)

    def set_servername_callback(self, server_name_callback: Any) -> None:
        """The older spelling of ``sni_callback = server_name_callback``."""
        self.sni_callback = server_name_callback

    def _servername(self, conn: Any) -> None:
        callback = self._sni_callback
        sslsocket = conn.get_app_data()
        if callback is None or sslsocket is None:
            return
        name = conn.get_servername()
        server_name = name.decode("ascii", "replace") if name else None
        result = callback(sslsocket, server_name, self)
        if result is not None:  # an ALERT_DESCRIPTION_*: fail the handshake
            raise _stdssl.SSLError(1, f"[SSL: TLSV1_ALERT_{result}] SNI callback refused")

    # -- sockets -------------------------------------------------------------------------

    def wrap_socket(
        self,
        sock: Any,
        server_side: bool = False,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        server_hostname: str | None = None,
        session: Any = None,
    ) -> SSLSocket:
        """Take over sock's fd (sock is detached) and return an ``SSLSocket`` on it.

        sock may be a compat or a stdlib socket.  A connected socket runs the
        handshake now (with do_handshake_on_connect); an unconnected one at
        ``connect``, a listening one per ``accept``.
        """
        return self.sslsocket_class._create(
            sock=sock,
            server_side=server_side,
            do_handshake_on_connect=do_handshake_on_connect,
            suppress_ragged_eofs=suppress_ragged_eofs,
            server_hostname=server_hostname,
            context=self,
            session=session,
        )

    def wrap_bio(
        self,
        incoming: Any,
        outgoing: Any,
        server_side: bool = False,
        server_hostname: str | None = None,
        session: Any = None,
    ) -> SSLObject:
        """An ``SSLObject``: TLS between the ``MemoryBIO`` objects incoming and outgoing."""
        return self.sslobject_class._create(
            incoming,
            outgoing,
            server_side=server_side,
            server_hostname=server_hostname,
            session=session,
            context=self,
        )

    def session_stats(self) -> dict[str, int]:
        """Session cache counters (OpenSSL's ``SSL_CTX_sess_*``)."""
        from OpenSSL._util import lib  # no public pyOpenSSL call

        ctx = self._ctx._context
        names = ("number", "connect", "connect_good", "connect_renegotiate", "accept",
                 "accept_good", "accept_renegotiate", "hits", "misses", "timeouts",
                 "cache_full")  # fmt: skip
        stats = {}
        for name in names:
            fn = getattr(lib, f"SSL_CTX_sess_{name}", None)
            stats[name] = int(fn(ctx)) if fn is not None else 0
        return stats


def _der() -> Any:
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return cert.version == x509.Version.v1  # X509_check_ca counts v1 roots as CAs


def create_default_context(
    purpose: Any = _stdssl.Purpose.SERVER_AUTH,
    *,
    cafile: Any = None,
    capath: Any = None,
    cadata: Any = None,
) -> SSLContext:
    """A context with the stdlib's secure defaults for purpose.

    ``Purpose.SERVER_AUTH`` (a client's): ``CERT_REQUIRED`` and
    ``check_hostname``, trusting cafile/capath/cadata or else the system
    store.  ``Purpose.CLIENT_AUTH`` (a server's): no client certificate
    asked.  ``SSLKEYLOGFILE`` sets ``keylog_filename``, as in the stdlib.
    """
    if not isinstance(purpose, _stdssl._ASN1Object):
        raise TypeError(purpose)
    if purpose == _stdssl.Purpose.SERVER_AUTH:
        context = SSLContext(_CLIENT)
    elif purpose == _stdssl.Purpose.CLIENT_AUTH:
        context = SSLContext(_SERVER)
    else:
        raise ValueError(purpose)
    return _load_defaults(context, purpose, cafile, capath, cadata)


def _load_defaults(
    context: SSLContext, purpose: Any, cafile: Any, capath: Any, cadata: Any
) -> SSLContext:
    """The CA certificates given, else (when verifying) the system's; and ``SSLKEYLOGFILE``."""
    if cafile or capath or cadata:
        context.load_verify_locations(cafile, capath, cadata)
    elif context.verify_mode != _stdssl.CERT_NONE:
        context.load_default_certs(purpose)
    keylog = os.environ.get("SSLKEYLOGFILE")
    if keylog and not sys.flags.ignore_environment:
        context.keylog_filename = keylog
    return context


def _create_unverified_context(
    protocol: int | None = None,
    *,
    cert_reqs: int = _stdssl.CERT_NONE,
    check_hostname: bool = False,
    purpose: Any = _stdssl.Purpose.SERVER_AUTH,
    certfile: Any = None,
    keyfile: Any = None,
    cafile: Any = None,
    capath: Any = None,
    cadata: Any = None,
) -> SSLContext:
    """A context that verifies nothing by default (the stdlib's private helper, used by urllib)."""
    if not isinstance(purpose, _stdssl._ASN1Object):
        raise TypeError(purpose)
    if purpose == _stdssl.Purpose.SERVER_AUTH:
        if protocol is None:
            protocol = _CLIENT
    elif purpose == _stdssl.Purpose.CLIENT_AUTH:
        if protocol is None:
            protocol = _SERVER
    else:
        raise ValueError(purpose)
    context = SSLContext(protocol)
    context.check_hostname = check_hostname
    if cert_reqs is not None:
        context.verify_mode = cert_reqs
    if check_hostname:
        context.check_hostname = True
    if keyfile and not certfile:
        raise ValueError("certfile must be specified")
    if certfile or keyfile:
        context.load_cert_chain(certfile, keyfile)
    return _load_defaults(context, purpose, cafile, capath, cadata)
