"""A child process with spawnProcess and a ProcessProtocol that collects its output.

python examples/spawn_process.py --demo     # a Python child: stdin in, stdout/stderr out
python examples/spawn_process.py ls -l /    # any program (found on PATH)
"""

import argparse
import sys

from reactorsock.protocol import ProcessProtocol
from reactorsock.reactor import new_reactor

CHILD = "import sys; print(sys.stdin.read().upper()); print('bye', file=sys.stderr); sys.exit(3)"


class Collect(ProcessProtocol):
    def __init__(self, reactor, stdin):
        self.reactor, self.stdin, self.out, self.err, self.code = reactor, stdin, b"", b"", None

    def connectionMade(self):  # self.transport is the process
        self.transport.write(self.stdin)
        self.transport.closeStdin()  # EOF for the child's read()

    def outReceived(self, data):
        self.out += data

    def errReceived(self, data):
        self.err += data

    def processEnded(self, reason):  # exited, and every pipe is closed
        # ProcessDone (exit 0) or ProcessTerminated: exitCode, signal (when killed)
        self.code, self.reason = reason.value.exitCode, reason.getErrorMessage()
        self.reactor.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", action="store_true")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.demo or not args.command:
        args.command = [sys.executable, "-c", CHILD]
    reactor = new_reactor()
    proto = Collect(reactor, b"hello from the parent")
    # args is the whole argv (args[0] included); env=None passes our environment on.
    reactor.spawnProcess(proto, args.command[0], args.command, env=None)
    reactor.run()
    print("stdout:", proto.out.decode().strip())
    print("stderr:", proto.err.decode().strip())
    print("exit code:", proto.code)
    print("reason:", proto.reason)


if __name__ == "__main__":
    main()
