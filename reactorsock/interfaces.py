"""Every zope.interface declaration of reactorsock, in sections by layer.

This module holds declarations only: the contracts live in the docstrings, and
implementations say "See ``IThing.method``" plus what differs.  Names and
semantics follow Twisted's ``twisted.internet.interfaces`` wherever Twisted
has the concept, so Twisted users read familiar contracts; the channel and
selector layers are reactorsock's own.
"""

from __future__ import annotations

from zope.interface import Attribute, Interface

__all__ = [
    "IAddress",
    "IChannel",
    "ISelector",
    "IReactorCore",
    "IReactorTime",
    "IDelayedCall",
    "IReactorFDSet",
    "IReactorThreads",
    "IReactorPluggableResolver",
    "IReactorTCP",
    "IReactorUDP",
    "IReactorMulticast",
    "IReactorUNIX",
    "IReactorSSL",
    "IReactorProcess",
    "IReactorSocket",
    "IFileDescriptor",
    "IReadDescriptor",
    "IWriteDescriptor",
    "IReadWriteDescriptor",
    "IProtocol",
    "IProtocolFactory",
    "IHalfCloseableProtocol",
    "IProcessProtocol",
    "ITransport",
    "ITCPTransport",
    "IUDPTransport",
    "IUNIXTransport",
    "IProcessTransport",
    "ITLSTransport",
    "IListeningPort",
    "IConnector",
    "IConsumer",
    "IProducer",
    "IPushProducer",
    "IPullProducer",
    "IStreamServerEndpoint",
    "IStreamClientEndpoint",
    "IDatagramServerEndpoint",
]


# --------------------------------------------------------------------------
# Addresses


class IAddress(Interface):
    """An endpoint address: ``IPv4Address``, ``IPv6Address``, ``UNIXAddress``.

    Implementations are frozen attrs classes, so addresses compare by value
    and can be dict keys.
    """


# --------------------------------------------------------------------------
# Channel layer


class IChannel(Interface):
    """A non-blocking OS endpoint that is its own file descriptor.

    A channel is an ``int`` subclass equal to its fd, so it passes straight
    through ``select.select``, ``select.epoll``, ``selectors``, ``os.read`` and
    dict keys.  Operations never block: "would block" is reported by return
    value (``read() -> None``, ``write() -> 0``, ``accept() -> None``), end of
    file by ``b""``, and real errors by ``OSError`` carrying ``errno``.
    """

    closed = Attribute("True once close() has run; the int value keeps the old fd.")

    def fileno() -> int:
        """Return the fd as a plain int; ``ValueError`` once closed."""

    def close() -> None:
        """Release the OS object.  Idempotent."""


# --------------------------------------------------------------------------
# Selector layer


class ISelector(Interface):
    """Readiness multiplexer over fds; one per reactor, not thread-safe.

    ``register``/``modify`` take the portable event bits ``selector.READ`` and
    ``selector.WRITE``.  ``poll`` returns the backend's own masks untranslated,
    to keep the reactor's per-event work to a few ``&`` operations; the class
    constants say which native bits mean what:

    - ``READ_EVENTS``: dispatch ``doRead`` (includes hang-up and error bits,
      so a reader learns of EOF or an error by reading);
    - ``WRITE_EVENTS``: dispatch ``doWrite``;
    - ``INVALID_EVENTS``: the fd was closed behind the selector's back (it is
      no longer a valid descriptor).  The selector has already forgotten it;
      the owner must drop its handler instead of dispatching.
    """

    name = Attribute("The backend's name: 'select', 'poll' or 'epoll'.")
    READ_EVENTS = Attribute("Native mask bits that mean 'call doRead'.")
    WRITE_EVENTS = Attribute("Native mask bits that mean 'call doWrite'.")
    INVALID_EVENTS = Attribute("Native mask bits that mean 'fd is not open'.")

    def register(fd: int, events: int) -> None:
        """Report READ/WRITE readiness for fd.

        Raises ``ValueError`` if events is 0 or has unknown bits, or if fd is
        negative or beyond what the backend can watch (select: FD_SETSIZE);
        ``KeyError`` if fd is already registered.
        """

    def modify(fd: int, events: int) -> None:
        """Change the events watched for a registered fd; ``KeyError`` if not registered."""

    def unregister(fd: int) -> None:
        """Stop watching fd; ``KeyError`` if not registered.  Works on a closed fd."""

    def events(fd: int) -> int:
        """The READ/WRITE bits fd is registered for; 0 if it is not registered.

        The selector's map is the only fd -> events map: the reactor asks it
        rather than keeping a copy (one dict entry less per connection).
        """

    def poll(timeout: float | None) -> list[tuple[int, int]]:
        """Wait up to timeout seconds (None: forever, 0: not at all).

        Returns the kernel's (fd, mask) list, untranslated; ``[]`` on timeout
        or EINTR (the caller's loop recomputes its timeout and calls again).
        """

    def close() -> None:
        """Release the backend's own fd, if it has one.  Idempotent."""


# --------------------------------------------------------------------------
# Reactor


class IReactorCore(Interface):
    """The loop itself: run, stop, and system event triggers.

    System events are ``"startup"`` and ``"shutdown"``, each with phases
    ``"before"``, ``"during"``, ``"after"``.  A "before" trigger that returns
    a Deferred holds the later phases until that Deferred fires.
    """

    running = Attribute("True from startup until the loop has stopped.")

    def resolve(name: str, timeout: float = 10) -> object:
        """Return a Deferred firing with an IPv4 address for name (never blocks the loop)."""

    def run(installSignalHandlers: bool = True) -> None:
        """Fire startup, run the loop until stop(), fire shutdown, then return."""

    def stop() -> None:
        """Ask the loop to fire shutdown triggers and return from run().

        ``error.ReactorNotRunning`` if it is not running.
        """

    def crash() -> None:
        """Stop the loop at once, without shutdown triggers."""

    def iterate(delay: float = 0) -> None:
        """Run one iteration of the loop, waiting at most delay seconds for I/O."""

    def fireSystemEvent(eventType: str) -> None:
        """Run the before/during/after triggers of eventType."""

    def addSystemEventTrigger(phase: str, eventType: str, callable, *args, **kwargs) -> object:
        """Call callable(*args, **kwargs) in that phase of that event; return a handle."""

    def removeSystemEventTrigger(triggerID: object) -> None:
        """Remove a trigger added by addSystemEventTrigger; ``ValueError`` if unknown."""

    def callWhenRunning(callable, *args, **kwargs) -> object | None:
        """Call now if running, else at startup; return the trigger handle or None."""


class IReactorTime(Interface):
    """Timed calls."""

    def seconds() -> float:
        """The reactor's notion of now (``time.monotonic`` for real reactors)."""

    def callLater(delay: float, callable, *args, **kwargs) -> IDelayedCall:
        """Call callable(*args, **kwargs) no earlier than delay seconds from now.

        Calls due at the same moment run in the order they were scheduled.
        ``ValueError`` for a negative or non-finite delay.
        """

    def getDelayedCalls() -> list[IDelayedCall]:
        """The calls scheduled and not yet run or cancelled."""


class IDelayedCall(Interface):
    """A call scheduled by ``IReactorTime.callLater``."""

    def getTime() -> float:
        """When the call is due, in ``seconds()`` terms."""

    def cancel() -> None:
        """Unschedule it; ``error.AlreadyCalled`` / ``error.AlreadyCancelled`` if too late."""

    def delay(secondsLater: float) -> None:
        """Postpone it by secondsLater seconds."""

    def reset(secondsFromNow: float) -> None:
        """Reschedule it to secondsFromNow seconds after now."""

    def active() -> bool:
        """True until it has run or been cancelled."""


class IReactorFDSet(Interface):
    """Watching descriptors (objects with ``fileno``, ``doRead``/``doWrite``)."""

    def addReader(reader: IReadDescriptor) -> None:
        """Call reader.doRead() whenever its fd is readable."""

    def addWriter(writer: IWriteDescriptor) -> None:
        """Call writer.doWrite() whenever its fd is writable."""

    def removeReader(reader: IReadDescriptor) -> None:
        """Stop watching reader; no error if it was not watched."""

    def removeWriter(writer: IWriteDescriptor) -> None:
        """Stop watching writer; no error if it was not watched."""

    def removeAll() -> list[IReadDescriptor]:
        """Stop watching everything except the reactor's internal descriptors.

        Returns the readers and writers that were removed.
        """

    def getReaders() -> list[IReadDescriptor]:
        """The watched readers, excluding internal ones."""

    def getWriters() -> list[IWriteDescriptor]:
        """The watched writers, excluding internal ones."""


class IReactorThreads(Interface):
    """Threads: calls into the loop from outside, and a worker pool."""

    def callFromThread(callable, *args, **kwargs) -> None:
        """Thread-safely arrange for callable(*args, **kwargs) to run in the loop thread.

        Calls run in the order they were made, and the loop wakes at once.
        """

    def callInThread(callable, *args, **kwargs) -> None:
        """Run callable(*args, **kwargs) in the reactor's thread pool."""

    def getThreadPool() -> object:
        """The reactor's ``threads.ThreadPool`` (started on first use)."""

    def suggestThreadPoolSize(size: int) -> None:
        """Set the thread pool's maximum size."""


class IReactorPluggableResolver(Interface):
    """Name resolution without blocking the loop."""

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0) -> object:
        """Return a Deferred firing with ``socket.getaddrinfo``'s list, run in the pool."""


class IReactorTCP(Interface):
    """TCP servers and clients."""

    def listenTCP(port: int, factory, backlog: int = 50, interface: str = "") -> IListeningPort:
        """Listen on port (0: any free port) of interface ('' : all IPv4; '::': all IPv6).

        ``error.CannotListenError`` if the address cannot be bound.
        """

    def connectTCP(host, port, factory, timeout: float = 30, bindAddress=None) -> IConnector:
        """Connect to (host, port) with a ClientFactory; host names resolve off-loop."""


class IReactorUDP(Interface):
    """UDP."""

    def listenUDP(port: int, protocol, interface: str = "", maxPacketSize: int = 8192):
        """Bind a DatagramProtocol to port of interface; return its IListeningPort."""


class IReactorMulticast(Interface):
    """Multicast UDP."""

    def listenMulticast(port, protocol, interface="", maxPacketSize=8192, listenMultiple=False):
        """Like listenUDP, returning a port with joinGroup/leaveGroup/setTTL/...."""


class IReactorUNIX(Interface):
    """UNIX-domain stream sockets."""

    def listenUNIX(address, factory, backlog: int = 50, mode: int = 0o666, wantPID: bool = False):
        """Listen on a filesystem path, or on Linux an abstract name starting with NUL or '@'."""

    def connectUNIX(address, factory, timeout: float = 30, checkPID: bool = False):
        """Connect to a UNIX socket with a ClientFactory."""


class IReactorSSL(Interface):
    """TLS over TCP."""

    def listenSSL(port, factory, contextFactory, backlog: int = 50, interface: str = ""):
        """Like listenTCP, with every connection wrapped in server-side TLS."""

    def connectSSL(host, port, factory, contextFactory, timeout=30, bindAddress=None):
        """Like connectTCP, with the connection wrapped in client-side TLS."""


class IReactorProcess(Interface):
    """Child processes with pipe channels to their fds."""

    def spawnProcess(
        processProtocol,
        executable,
        args=(),
        env=None,
        path=None,
        uid=None,
        gid=None,
        usePTY=False,
        childFDs=None,
    ) -> IProcessTransport:
        """Start a child process connected to processProtocol."""


class IReactorSocket(Interface):
    """Adopting sockets made elsewhere (fds, channels or socket objects)."""

    def adoptStreamPort(fileDescriptor, addressFamily, factory) -> IListeningPort:
        """Serve factory on an already listening stream socket; the fd is duplicated."""

    def adoptStreamConnection(fileDescriptor, addressFamily, factory) -> None:
        """Run a protocol from factory on an already connected stream socket."""

    def adoptDatagramPort(fileDescriptor, addressFamily, protocol, maxPacketSize=8192):
        """Run a DatagramProtocol on an already bound datagram socket."""


# --------------------------------------------------------------------------
# Descriptors: what the reactor dispatches readiness to


class IFileDescriptor(Interface):
    """Anything the reactor can watch."""

    def fileno() -> int:
        """The fd to watch; -1 once closed (the reactor then drops it)."""

    def connectionLost(reason) -> None:
        """The reactor has dropped this descriptor; reason is a ``Failure``."""

    def logPrefix() -> str:
        """A short name for log lines about this descriptor."""


class IReadDescriptor(IFileDescriptor):
    """A descriptor the reactor reads for."""

    def doRead() -> object | None:
        """Called when readable.

        Returns None to keep going, or an exception/``Failure`` to have the
        reactor remove the descriptor and call ``connectionLost`` with it.
        """


class IWriteDescriptor(IFileDescriptor):
    """A descriptor the reactor writes for."""

    def doWrite() -> object | None:
        """Called when writable; return value as for ``IReadDescriptor.doRead``."""


class IReadWriteDescriptor(IReadDescriptor, IWriteDescriptor):
    """Both."""


# --------------------------------------------------------------------------
# Protocols


class IProtocol(Interface):
    """A stream protocol.

    Call order: ``makeConnection -> connectionMade -> dataReceived* ->
    connectionLost``.
    """

    def makeConnection(transport) -> None:
        """Attach transport and call connectionMade."""

    def connectionMade() -> None:
        """The connection is up; ``self.transport`` is set."""

    def dataReceived(data: bytes) -> None:
        """Some bytes arrived; message boundaries are not preserved."""

    def connectionLost(reason) -> None:
        """The connection is closed; reason is a Failure of ConnectionDone or ConnectionLost."""


class IHalfCloseableProtocol(Interface):
    """A protocol that can go on after one direction of the stream closes."""

    def readConnectionLost() -> None:
        """The peer will send no more; the protocol may still write."""

    def writeConnectionLost() -> None:
        """Our write side is shut (after loseWriteConnection); reading goes on."""


class IProtocolFactory(Interface):
    """Makes protocols for connections."""

    def buildProtocol(addr) -> IProtocol | None:
        """A protocol for a connection with addr, or None to refuse it."""

    def doStart() -> None:
        """Called when a port or connector starts using the factory (counts uses)."""

    def doStop() -> None:
        """Called when a port or connector stops using the factory."""


class IProcessProtocol(Interface):
    """A protocol for a child process.

    Call order: ``makeConnection -> connectionMade -> childDataReceived* ->
    childConnectionLost* -> processExited -> processEnded``.
    """

    def makeConnection(process) -> None:
        """Attach the process transport and call connectionMade."""

    def childDataReceived(childFD: int, data: bytes) -> None:
        """The child wrote data on childFD."""

    def childConnectionLost(childFD: int) -> None:
        """The pipe to childFD closed."""

    def processExited(reason) -> None:
        """The child exited; reason is a Failure of ProcessDone or ProcessTerminated."""

    def processEnded(reason) -> None:
        """The child exited and all its pipes are closed."""


# --------------------------------------------------------------------------
# Transports


class ITransport(Interface):
    """The write side of a connection, handed to a protocol."""

    def write(data: bytes) -> None:
        """Send data in order, buffering what the OS will not take now; never blocks."""

    def writeSequence(data) -> None:
        """Write each bytes object of an iterable, in order."""

    def loseConnection() -> None:
        """Close after everything written so far has been sent."""

    def getPeer() -> IAddress:
        """The remote address."""

    def getHost() -> IAddress:
        """The local address."""


class ITCPTransport(ITransport):
    """A TCP connection."""

    def loseWriteConnection() -> None:
        """Half-close: send FIN after the buffer drains; reading goes on."""

    def abortConnection() -> None:
        """Close now, dropping buffered data (RST where the OS allows)."""

    def getTcpNoDelay() -> bool:
        """Whether Nagle's algorithm is off."""

    def setTcpNoDelay(enabled: bool) -> None:
        """Turn Nagle's algorithm off (True) or on."""

    def getTcpKeepAlive() -> bool:
        """Whether SO_KEEPALIVE is on."""

    def setTcpKeepAlive(enabled: bool) -> None:
        """Turn SO_KEEPALIVE on or off."""


class IUNIXTransport(ITransport):
    """A UNIX-domain stream connection."""

    def loseWriteConnection() -> None:
        """Half-close: shut down writing after the buffer drains; reading goes on."""

    def abortConnection() -> None:
        """Close now, dropping buffered data."""


class IUDPTransport(Interface):
    """A UDP port, as seen by its DatagramProtocol."""

    def write(packet: bytes, addr=None) -> None:
        """Send one datagram to addr (or to the connected peer when addr is None)."""

    def connect(host: str, port: int) -> None:
        """Only exchange datagrams with (host, port); host must be an IP address."""

    def getHost() -> IAddress:
        """The local address."""

    def stopListening() -> object:
        """Close the port; return a Deferred."""

    def setBroadcastAllowed(enabled: bool) -> None:
        """Allow or forbid sending to broadcast addresses."""

    def getBroadcastAllowed() -> bool:
        """Whether sending to broadcast addresses is allowed."""


class ITLSTransport(ITCPTransport):
    """A connection that can start TLS."""

    def startTLS(contextFactory) -> None:
        """Switch to TLS after what is already written has been sent."""


class IProcessTransport(ITransport):
    """The transport of a child process."""

    pid = Attribute("The child's process id; None once it has been reaped.")

    def closeStdin() -> None:
        """Close the child's stdin."""

    def closeChildFD(descriptor: int) -> None:
        """Close the pipe to descriptor."""

    def writeToChild(childFD: int, data: bytes) -> None:
        """Write data to the child's fd childFD."""

    def signalProcess(signalID) -> None:
        """Send 'TERM', 'KILL', 'INT', 'HUP' or a signal number.

        ``error.ProcessExitedAlready`` if the child is gone.
        """


class IListeningPort(Interface):
    """A listening socket."""

    def startListening() -> None:
        """Start accepting; ``error.CannotListenError`` if that fails."""

    def stopListening() -> object:
        """Stop accepting and close; return a Deferred firing when done."""

    def getHost() -> IAddress:
        """The bound address, with the real port after binding port 0."""


class IConnector(Interface):
    """An outgoing connection attempt, handed to ClientFactory callbacks."""

    def stopConnecting() -> None:
        """Abandon the attempt (the factory gets clientConnectionFailed with UserError)."""

    def disconnect() -> None:
        """Stop connecting, or drop the connection if it is up."""

    def connect() -> None:
        """Try again (used by reconnecting factories)."""

    def getDestination() -> IAddress:
        """The address being connected to."""


# --------------------------------------------------------------------------
# Producers and consumers (flow control)


class IConsumer(Interface):
    """Something data is written to, which can push back on its producer."""

    def registerProducer(producer, streaming: bool) -> None:
        """Attach producer; streaming=True for an IPushProducer, False for IPullProducer.

        ``RuntimeError`` if a producer is already registered.
        """

    def unregisterProducer() -> None:
        """Detach the producer."""

    def write(data: bytes) -> None:
        """Consume data."""


class IProducer(Interface):
    """Something that produces data for a consumer."""

    def stopProducing() -> None:
        """Stop for good; the consumer is going away."""


class IPushProducer(IProducer):
    """Produces on its own; the consumer pauses and resumes it."""

    def pauseProducing() -> None:
        """Stop writing until resumeProducing."""

    def resumeProducing() -> None:
        """Go on writing."""


class IPullProducer(IProducer):
    """Produces one chunk each time the consumer asks."""

    def resumeProducing() -> None:
        """Write one chunk to the consumer."""


# --------------------------------------------------------------------------
# Endpoints


class IStreamServerEndpoint(Interface):
    """Where a stream server listens."""

    def listen(protocolFactory) -> object:
        """Return a Deferred firing with an IListeningPort."""


class IStreamClientEndpoint(Interface):
    """Where a stream client connects."""

    def connect(protocolFactory) -> object:
        """Return a Deferred firing with the connected protocol."""


class IDatagramServerEndpoint(Interface):
    """Where a datagram (UDP) server listens: the ``udp:`` endpoint string."""

    def listen(protocol) -> object:
        """Return a Deferred firing with the port serving protocol.

        protocol is a ``DatagramProtocol``, or a factory whose
        ``buildProtocol(None)`` returns one.
        """
