"""Plain blocking socket code that also runs, unchanged, on reactorsock.compat.

    python examples/blocking_echo.py server [--port 8003]
    python examples/blocking_echo.py client [--host 127.0.0.1] [--port 8003] [--message hi]
    python examples/blocking_echo.py --demo                          # stdlib sockets
    python -m reactorsock.compat examples/blocking_echo.py --demo    # reactorsock channels

Nothing here imports reactorsock: under ``python -m reactorsock.compat``,
``import socket`` gives ``reactorsock.compat.socket``.
"""

import argparse
import socket
import threading


def serve(server):
    while True:
        conn, _ = server.accept()
        threading.Thread(target=echo, args=(conn,), daemon=True).start()


def echo(conn):
    with conn:
        while data := conn.recv(4096):
            conn.sendall(data)


def ask(host, port, message):
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(message)
        sock.shutdown(socket.SHUT_WR)  # half-close: the server sees EOF, we go on reading
        return b"".join(iter(lambda: sock.recv(4096), b""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", choices=["server", "client"], default="server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8003)
    parser.add_argument("--message", default="hello, blocking world")
    parser.add_argument("--demo", action="store_true")
    args = parser.parse_args()
    print("socket module:", socket.__name__)
    if args.demo or args.mode == "server":
        server = socket.create_server(("127.0.0.1", 0 if args.demo else args.port))
        args.port = server.getsockname()[1]
        print("echo server on port", args.port, flush=True)
        if not args.demo:
            return serve(server)  # until Ctrl-C
        threading.Thread(target=serve, args=(server,), daemon=True).start()
    print("client received:", ask(args.host, args.port, args.message.encode()).decode())


if __name__ == "__main__":
    main()
