"""Run the reactorsock benchmark suite against its peers; see bench/README.md.

usage: python3 bench/run.py [--quick] [--reps N] [--cells CELL,...] [--servers NAME,...]

The first run creates ``bench/.venv`` (Twisted, uvloop, matplotlib, py-spy and
reactorsock installed editable) and builds the C load generator and the C
echo server into ``bench/results/bin``; later runs reuse both.  The script
then re-executes itself with the venv's interpreter.

Every network cell runs a server (``bench/servers/``) pinned to core 0 and
the load generator pinned to core 1.  Servers are interleaved: for each
repetition, for each server (in an order rotated per repetition), every cell
runs against a fresh server process, so drift over the run hits all servers
alike.  The server's CPU time (utime + stime from ``/proc/<pid>/stat``) is
read at the load generator's ``measure_start``/``measure_end`` marks, after
the warm-up, and divided by the messages echoed in that window.

Results go to ``bench/results/`` (git-ignored): ``results-<stamp>.json`` (every
repetition), ``summary-<stamp>.md`` (the tables of docs/benchmarks.md) and
``benchmarks-<stamp>.png`` (the chart), plus ``latest.*`` copies.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
VENV = BENCH / ".venv"
VPY = VENV / "bin" / "python"
RESULTS = BENCH / "results"
BIN = RESULTS / "bin"
LOADGEN = BIN / "loadgen"
ECHO_C = BIN / "echo_c"
PEERS = ["twisted", "uvloop", "matplotlib", "py-spy"]
SERVER_CORE, LOAD_CORE = "0", "1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
BASE_PORT = 24000

# --------------------------------------------------------------------------
# Set-up: virtualenv, build, re-exec.


def setup() -> None:
    stamp = VENV / ".bench-ready"
    if not stamp.exists():
        print(f"bench: creating {VENV} (Twisted, uvloop, matplotlib, py-spy, reactorsock -e)")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pip = [str(VPY), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, *PEERS, "-e", str(REPO)], check=True)
        stamp.write_text("ok\n")
    BIN.mkdir(parents=True, exist_ok=True)
    build(LOADGEN, BENCH / "loadgen" / "loadgen.c", tls=True)
    build(ECHO_C, BENCH / "servers" / "echo_c.c", tls=False)


def build(out: Path, src: Path, tls: bool) -> None:
    if out.exists() and out.stat().st_mtime >= src.stat().st_mtime:
        return
    cmd = ["gcc", "-O2", "-Wall", "-o", str(out), str(src)]
    if tls:
        r = subprocess.run([*cmd, "-DWITH_TLS", "-lssl", "-lcrypto"], capture_output=True)
        if r.returncode == 0:
            return
        print("bench: no OpenSSL headers? building the load generator without TLS")
    subprocess.run(cmd, check=True)


def baseline_tree(ref: str) -> Path:
    """reactorsock/ as of git ref, extracted (``git archive``) under bench/results/.

    Re-extracted when ref now names another commit.  Servers started with
    PYTHONPATH pointing there import it instead of the editable checkout
    (PYTHONPATH comes before the editable install's finder).
    """
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--verify", f"{ref}^{{commit}}"],
                            capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    out = RESULTS / f"baseline-{commit[:12]}"
    if not (out / "reactorsock" / "__init__.py").exists():
        out.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(REPO), "archive", commit, "reactorsock"],
                                 capture_output=True, check=True).stdout  # fmt: skip
        subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out


def in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


# --------------------------------------------------------------------------
# /proc sampling.


def cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --------------------------------------------------------------------------
# Servers.

SERVERS = {
    # name: (argv after the interpreter, supports TLS)
    "rs-epoll": (["rs_echo.py", "--backend", "epoll"], True),
    "rs-poll": (["rs_echo.py", "--backend", "poll"], False),
    "rs-select": (["rs_echo.py", "--backend", "select"], False),
    "asyncio": (["asyncio_echo.py", "--loop", "asyncio"], True),
    "uvloop": (["asyncio_echo.py", "--loop", "uvloop"], True),
    "twisted": (["twisted_echo.py"], True),
    "c-epoll": (None, False),
}
RS = ("rs-epoll", "rs-poll", "rs-select")
#: Extra environment per server: ``--baseline`` servers import an older reactorsock.
SERVER_ENV: dict[str, dict[str, str]] = {}


def tls_available() -> tuple[bool, str]:
    r = subprocess.run(
        [str(VPY), "-c", "import reactorsock.tls as t; t.listen_ssl; t.CertificateOptions"],
        capture_output=True,
        text=True,
    )
    if r.returncode == 0:
        return True, ""
    return False, (r.stderr.strip().splitlines() or ["?"])[-1]


def make_cert() -> tuple[Path, Path]:
    cert, key = RESULTS / "tls" / "cert.pem", RESULTS / "tls" / "key.pem"
    if cert.exists() and key.exists():
        return cert, key
    cert.parent.mkdir(parents=True, exist_ok=True)
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    k = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    c = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(k.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(k, hashes.SHA256())
    )
    key.write_bytes(
        k.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert.write_bytes(c.public_bytes(serialization.Encoding.PEM))
    return cert, key


class Server:
    """One server process, pinned to SERVER_CORE; READY on stdout when listening."""

    def __init__(self, name: str, port: int, nports: int = 1, tls: tuple | None = None,
                 extra: list[str] | None = None) -> None:  # fmt: skip
        argv, _ = SERVERS[name]
        if argv is None:
            cmd = [str(ECHO_C), str(port), str(nports)]
        else:
            cmd = [str(VPY), str(BENCH / "servers" / argv[0]), *argv[1:]]
            cmd += ["--port", str(port), "--nports", str(nports)]
            if tls:
                cmd += ["--tls-port", str(tls[0]), "--cert", str(tls[1]), "--key", str(tls[2])]
            cmd += extra or []
        self.name = name
        env = dict(os.environ, **SERVER_ENV[name]) if name in SERVER_ENV else None
        self.proc = subprocess.Popen(
            ["taskset", "-c", SERVER_CORE, *cmd],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=raise_nofile,
            cwd=str(BENCH / "servers"),
            env=env,
        )
        line = self.proc.stdout.readline()
        if line.strip() != "READY":
            err = self.proc.stderr.read()
            raise RuntimeError(f"server {name} did not start: {line!r} {err[-2000:]}")
        self.pid = self.proc.pid  # taskset execs the server: same pid

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.stderr.read()[-4000:]


# --------------------------------------------------------------------------
# Cells.

# name: loadgen arguments; "servers": which servers run it
NET_CELLS = {
    "echo64": dict(c=100, m=64, k=1, title="64 B ping-pong, 100 conns"),
    "echo4k": dict(c=100, m=4096, k=1, title="4 KiB ping-pong, 100 conns"),
    "pipe64": dict(c=100, m=64, k=16, title="64 B pipelined x16, 100 conns"),
    "bulk64k": dict(c=10, m=65536, k=4, title="64 KiB bulk (x4 in flight), 10 conns"),
    "tls4k": dict(c=100, m=4096, k=1, tls=True, title="TLS 4 KiB ping-pong, 100 conns"),
    "c10k": dict(c=10000, a=1000, m=64, k=1, hold=True, title="C10K: 10,000 held, 1,000 active"),
    "cmax": dict(c=50000, a=1000, m=64, k=1, hold=True, title="50,000 held, 1,000 active"),
}
OTHER_CELLS = ["micro", "compat", "strace", "profile"]
ALL_CELLS = [*NET_CELLS, *OTHER_CELLS]
QUICK_CELLS = ["echo64", "echo4k", "pipe64", "bulk64k", "tls4k", "c10k", "micro", "compat"]
SRCS = "127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4"
HELD_PORTS = 4


def cell_servers(cell: str, servers: list[str], tls_ok: bool) -> list[str]:
    spec = NET_CELLS[cell]
    out = []
    for s in servers:
        if spec.get("tls") and not SERVERS[s][1]:
            continue
        if spec.get("hold") and s == "rs-select":
            continue  # select(2) cannot watch fds >= FD_SETSIZE (1024)
        out.append(s)
    return out


def loadgen(port_arg: str, spec: dict, durations: dict, extra: list[str] | None = None):
    cmd = ["taskset", "-c", LOAD_CORE, str(LOADGEN), "-p", port_arg]
    cmd += ["-c", str(spec["c"]), "-m", str(spec["m"]), "-k", str(spec["k"])]
    if "a" in spec:
        cmd += ["-a", str(spec["a"])]
    if spec.get("tls"):
        cmd += ["-T"]
    cmd += ["-H", str(durations["hold"] if spec.get("hold") else 0.05)]
    cmd += ["-w", str(durations["warmup"]), "-d", str(durations["duration"])]
    cmd += extra or []
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=raise_nofile
    )


def measure(server: Server, port_arg: str, spec: dict, durations: dict, extra=None) -> dict:
    """Run the load generator once; sample the server's CPU over the window."""
    lg = loadgen(port_arg, spec, durations, extra)
    marks: dict[str, float] = {}
    rss_held = None
    other = []
    for line in lg.stderr:
        line = line.strip()
        if line == "phase connected":
            if spec.get("hold"):
                time.sleep(min(0.5, durations["hold"] / 2))  # let the server settle
                rss_held = rss_kib(server.pid)
        elif line == "phase measure_start":
            marks["start"] = cpu_ticks(server.pid)
        elif line == "phase measure_end":
            marks["end"] = cpu_ticks(server.pid)
        else:
            other.append(line)
    out, _ = lg.communicate()
    try:
        res = json.loads(out)
    except json.JSONDecodeError:
        res = {"errors": 1, "first_error": f"loadgen failed: {out!r} {other}", "messages": 0}
    res["cpu_s"] = (marks.get("end", 0) - marks.get("start", 0)) / CLK_TCK
    msgs = res.get("messages", 0)
    res["msgs_per_s"] = msgs / res["window_s"] if res.get("window_s") else 0
    res["cpu_us_per_msg"] = res["cpu_s"] / msgs * 1e6 if msgs else None
    res["rss_held_kib"] = rss_held
    if server.proc.poll() is not None:
        res["errors"] = res.get("errors", 0) + 1
        res["first_error"] = (res.get("first_error") or "") + " server died"
    return res


def run_plain_cells(name, cells, durations, tls_info, port) -> dict:
    """One server process per cell: start, (TLS port too), measure, stop."""
    out = {}
    for cell in cells:
        spec = NET_CELLS[cell]
        tls = (port + 1, *tls_info) if spec.get("tls") else None
        try:
            srv = Server(name, port, tls=tls)
        except RuntimeError as e:
            out[cell] = {"errors": 1, "first_error": str(e)[-300:], "messages": 0}
            continue
        try:
            res = measure(srv, str(port + 1 if tls else port), spec, durations)
        finally:
            err = srv.stop()
        if res.get("errors") and err:
            res["server_stderr"] = err[-1500:]
        out[cell] = res
    return out


def run_held_cell(name, cell, durations, port, nconns) -> dict:
    """Fresh server: warm it, read baseline RSS, open nconns, read RSS, measure."""
    spec = dict(NET_CELLS[cell], c=nconns, a=min(NET_CELLS[cell]["a"], nconns))
    ports = ",".join(str(port + i) for i in range(HELD_PORTS))
    try:
        srv = Server(name, port, nports=HELD_PORTS)
    except RuntimeError as e:
        return {"errors": 1, "first_error": str(e)[-300:], "messages": 0}
    try:
        warm = dict(c=10, m=64, k=1)
        measure(srv, ports, warm, dict(hold=0, warmup=0.1, duration=0.2))
        time.sleep(0.2)
        base = rss_kib(srv.pid)
        res = measure(srv, ports, spec, durations, extra=["-S", SRCS, "-P", "512"])
        res["rss_base_kib"] = base
        if res.get("rss_held_kib") and res.get("connected"):
            res["rss_per_conn_kib"] = (res["rss_held_kib"] - base) / res["connected"]
    finally:
        err = srv.stop()
    if res.get("errors") and err:
        res["server_stderr"] = err[-1500:]
    return res


# --------------------------------------------------------------------------
# Non-network cells.


def run_micro(quick: bool) -> dict:
    out = {}
    n = "20000" if quick else "200000"
    batches = "2" if quick else "5"
    for bench in ("calllater_cancel", "callfromthread", "deferred_chain"):
        for fw in ("reactorsock", "twisted", "asyncio"):
            cmd = ["taskset", "-c", SERVER_CORE, str(VPY), str(BENCH / "micro.py"), fw, bench]
            r = subprocess.run([*cmd, "--n", n, "--batches", batches], capture_output=True,
                               text=True)  # fmt: skip
            try:
                out[f"{bench}/{fw}"] = json.loads(r.stdout)["ns_per_op"]
            except (json.JSONDecodeError, KeyError):
                out[f"{bench}/{fw}"] = None
                print(f"bench: micro {fw} {bench} failed: {r.stderr[-500:]}")
    return out


def run_compat(quick: bool, port: int) -> dict:
    srv = Server("c-epoll", port)
    out = {}
    try:
        for impl in ("stdlib", "compat"):
            cmd = ["taskset", "-c", LOAD_CORE, str(VPY), str(BENCH / "compat_pingpong.py")]
            cmd += [impl, str(port), "--n", "2000" if quick else "20000"]
            cmd += ["--batches", "2" if quick else "5"]
            r = subprocess.run(cmd, capture_output=True, text=True)
            try:
                out[impl] = json.loads(r.stdout)["us_per_rt"]
            except (json.JSONDecodeError, KeyError):
                out[impl] = None
                print(f"bench: compat {impl} failed: {r.stderr[-500:]}")
    finally:
        srv.stop()
    return out


def run_strace(servers: list[str], port: int) -> dict:
    """strace -c -f the server during a 64 B ping-pong run; syscalls per message."""
    if not shutil.which("strace"):
        return {"error": "strace not installed (apt-get install -y strace)"}
    out = {}
    spec = NET_CELLS["echo64"]
    for name in servers:
        srv = Server(name, port)
        log = RESULTS / f"strace-{name}.txt"
        st = subprocess.Popen(
            ["strace", "-c", "-f", "-o", str(log), "-p", str(srv.pid)],
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.5)
        try:
            res = measure(srv, str(port), spec, dict(hold=0, warmup=0.2, duration=2.0))
        finally:
            st.send_signal(2)
            st.wait()
            srv.stop()
        out[name] = {"messages": res.get("total_messages", 0), "calls": parse_strace(log)}
    return out


def parse_strace(path: Path) -> dict:
    calls = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
            try:
                calls[parts[-1]] = int(parts[3])
            except ValueError:
                pass
    return calls


def run_profile(port: int, durations: dict) -> dict:
    """cProfile the rs-epoll server under 64 B ping-pong; top functions by own time."""
    import pstats

    prof = RESULTS / "profile-rs-epoll.pstats"
    srv = Server("rs-epoll", port, extra=["--cprofile", str(prof)])
    try:
        res = measure(srv, str(port), NET_CELLS["echo64"], durations)
    finally:
        srv.stop()
    st = pstats.Stats(str(prof))
    total = sum(v[2] for v in st.stats.values())
    rows = sorted(st.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:15]
    top = [
        {
            "func": f"{Path(k[0]).name}:{k[1]}({k[2]})",
            "ncalls": v[1],
            "tottime_s": v[2],
            "share": v[2] / total if total else 0,
        }  # fmt: skip
        for k, v in rows
    ]
    return {"messages": res.get("total_messages"), "total_s": total, "top": top}


# --------------------------------------------------------------------------
# Reporting.


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarise(raw: dict) -> dict:
    """Medians over repetitions for every (cell, server) and every metric."""
    summary = {}
    for cell, per_server in raw["net"].items():
        summary[cell] = {}
        for name, reps in per_server.items():
            s = {k: med([r.get(k) for r in reps])
                 for k in ("msgs_per_s", "cpu_us_per_msg", "p50_us", "p99_us", "rss_per_conn_kib",
                           "connected")}  # fmt: skip
            s["errors"] = sum(r.get("errors", 0) for r in reps)
            s["reps"] = len(reps)
            s["first_error"] = next((r["first_error"] for r in reps if r.get("first_error")), "")
            summary[cell][name] = s
    return summary


def fmt(v, spec=".1f"):
    return "–" if v is None else format(v, spec)


def markdown(raw: dict, summary: dict) -> str:
    lines = []
    m = raw["machine"]
    lines.append(
        f"Machine: {m['nproc']} cores, {m['cpu']}, kernel {m['kernel']}, "
        f"Python {m['python']}; RLIMIT_NOFILE hard limit {m['nofile_hard']}."
    )
    lines.append(f"Run: {raw['stamp']}, repetitions {raw['reps']}, warm-up "
                 f"{raw['durations']['warmup']} s, window {raw['durations']['duration']} s; "
                 f"medians over repetitions.")  # fmt: skip
    lines.append("")
    for cell, per_server in summary.items():
        spec = NET_CELLS[cell]
        lines.append(f"### {cell}: {spec['title']}")
        lines.append("")
        ref = per_server.get("rs-epoll", {}).get("cpu_us_per_msg")
        held = spec.get("hold")
        head = (
            "| server | msg/s | server CPU µs/msg | p50 µs | p99 µs | errors "
            "| peer CPU ÷ rs-epoll CPU |"
        )
        if held:
            head += " conns held | RSS KiB/idle conn |"
        lines.append(head)
        lines.append("|" + "---|" * (head.count("|") - 1))
        for name, s in per_server.items():
            ratio = s["cpu_us_per_msg"] / ref if ref and s["cpu_us_per_msg"] else None
            row = (
                f"| {name} | {fmt(s['msgs_per_s'], ',.0f')} "
                f"| {fmt(s['cpu_us_per_msg'], '.2f')} "
                f"| {fmt(s['p50_us'], '.0f')} | {fmt(s['p99_us'], '.0f')} | {s['errors']} "
                f"| {fmt(ratio, '.2f')} |"
            )
            if held:
                row += f" {fmt(s['connected'], '.0f')} | {fmt(s['rss_per_conn_kib'], '.2f')} |"
            lines.append(row)
        errs = [f"{n}: {s['first_error']}" for n, s in per_server.items() if s["first_error"]]
        if errs:
            lines.append("")
            lines.extend(f"- error: {e}" for e in errs)
        lines.append("")
    notes = raw.get("notes", [])
    if notes:
        lines.extend(f"- {n}" for n in notes)
        lines.append("")
    if raw.get("micro"):
        lines.append("### Loop micro-benchmarks (ns per operation, best of batches)")
        lines.append("")
        lines.append("| benchmark | reactorsock | Twisted | asyncio |")
        lines.append("|---|---|---|---|")
        for b in ("calllater_cancel", "callfromthread", "deferred_chain"):
            vals = [med([r.get(f"{b}/{fw}") for r in raw["micro"]])
                    for fw in ("reactorsock", "twisted", "asyncio")]  # fmt: skip
            lines.append(f"| {b} | " + " | ".join(fmt(v, ",.0f") for v in vals) + " |")
        lines.append("")
    if raw.get("compat"):
        std = med([r.get("stdlib") for r in raw["compat"]])
        cmp_ = med([r.get("compat") for r in raw["compat"]])
        ratio = cmp_ / std if std and cmp_ else None
        lines.append("### compat: blocking 64 B ping-pong (µs per round trip, C echo server)")
        lines.append("")
        lines.append("| stdlib socket | reactorsock.compat.socket | compat ÷ stdlib |")
        lines.append("|---|---|---|")
        lines.append(f"| {fmt(std, '.1f')} | {fmt(cmp_, '.1f')} | {fmt(ratio, '.3f')} |")
        lines.append("")
    if raw.get("strace"):
        lines.append("### Syscalls per message (strace -c -f, 64 B ping-pong, 100 conns)")
        lines.append("")
        names = ["epoll_wait", "recvfrom", "sendto", "epoll_ctl", "read", "write"]
        lines.append("| server | messages | " + " | ".join(names) + " | all |")
        lines.append("|---|---|" + "---|" * (len(names) + 1))
        for srv, d in raw["strace"].items():
            if not isinstance(d, dict) or "calls" not in d:
                continue
            n = d["messages"] or 1
            cells = [fmt(d["calls"].get(c, 0) / n, ".3f") for c in names]
            lines.append(f"| {srv} | {d['messages']} | " + " | ".join(cells)
                         + f" | {fmt(sum(d['calls'].values()) / n, '.3f')} |")  # fmt: skip
        lines.append("")
    if raw.get("profile"):
        p = raw["profile"]
        lines.append("### cProfile of rs-epoll under 64 B ping-pong (top own time)")
        lines.append("")
        lines.append("| function | calls | own s | share |")
        lines.append("|---|---|---|---|")
        for t in p["top"]:
            lines.append(f"| `{t['func']}` | {t['ncalls']} | {t['tottime_s']:.3f} "
                         f"| {t['share'] * 100:.1f}% |")  # fmt: skip
        lines.append("")
    return "\n".join(lines)


def chart(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = [c for c in summary if summary[c]]
    cols = 3
    rows = (len(cells) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(12, 3.2 * rows), squeeze=False)
    for ax, cell in zip(axes.flat, cells, strict=False):
        names = list(summary[cell])
        vals = [summary[cell][n]["cpu_us_per_msg"] or 0 for n in names]
        colors = ["tab:blue" if n.startswith("rs-") else "tab:gray" for n in names]
        ax.bar(range(len(names)), vals, color=colors)
        ax.set_xticks(range(len(names)), names, rotation=40, ha="right", fontsize=8)
        ax.set_title(NET_CELLS[cell]["title"], fontsize=9)
        ax.set_ylabel("server CPU µs / message", fontsize=8)
    for ax in list(axes.flat)[len(cells) :]:
        ax.axis("off")
    fig.suptitle("Server CPU per message (lower is better); reactorsock in blue", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=72)
    plt.close(fig)


def machine() -> dict:
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "kernel": os.uname().release,
        "python": sys.version.split()[0],
        "nofile_hard": resource.getrlimit(resource.RLIMIT_NOFILE)[1],
    }


# --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="1 repetition, short windows (< 60 s)")
    p.add_argument("--reps", type=int, help="repetitions (default 3; --quick: 1)")
    p.add_argument("--cells", help=f"comma list of {','.join(ALL_CELLS)}")
    p.add_argument("--servers", help=f"comma list of {','.join(SERVERS)}")
    p.add_argument("--duration", type=float, help="measured window, seconds")
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=FILE[:FILE]",
        help="also run rs-epoll with these monkeypatch files (bench/experiments/),\n"
        "as server rs-epoll+NAME; reactorsock's source is untouched",
    )
    p.add_argument(
        "--baseline",
        action="append",
        default=[],
        metavar="REF",
        help="also run rs-epoll on reactorsock as of git REF (e.g. HEAD), as server\n"
        "rs-epoll@REF: before/after numbers for a change in the same interleaved run",
    )
    a = p.parse_args(argv)
    for v in a.variant:
        vname, _, files = v.partition("=")
        patch = []
        for f in files.split(":"):
            patch += ["--patch", str((BENCH / f).resolve() if not Path(f).is_absolute() else f)]
        SERVERS[f"rs-epoll+{vname}"] = (["rs_echo.py", "--backend", "epoll", *patch], True)
    for ref in a.baseline:
        SERVERS[f"rs-epoll@{ref}"] = (["rs_echo.py", "--backend", "epoll"], True)
        SERVER_ENV[f"rs-epoll@{ref}"] = {"PYTHONPATH": str(baseline_tree(ref))}
    if not in_venv():
        setup()
        os.execv(str(VPY), [str(VPY), __file__, *(sys.argv[1:] if argv is None else argv)])
    setup()  # rebuild the C programs if their sources changed
    raise_nofile()
    t_start = time.monotonic()
    reps = a.reps or (1 if a.quick else 3)
    cells = a.cells.split(",") if a.cells else (QUICK_CELLS if a.quick else ALL_CELLS)
    servers = a.servers.split(",") if a.servers else list(SERVERS)
    servers += [f"rs-epoll+{v.partition('=')[0]}" for v in a.variant
                if f"rs-epoll+{v.partition('=')[0]}" not in servers]  # fmt: skip
    servers += [f"rs-epoll@{r}" for r in a.baseline if f"rs-epoll@{r}" not in servers]
    for c in cells:
        if c not in ALL_CELLS:
            p.error(f"unknown cell {c}")
    if a.quick:
        durations = dict(hold=0.3, warmup=0.2, duration=a.duration or 0.5)
    else:
        durations = dict(hold=1.0, warmup=1.0, duration=a.duration or 3.0)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    raw = {"stamp": stamp, "reps": reps, "durations": durations, "machine": machine(),
           "net": {}, "notes": []}  # fmt: skip
    tls_ok, tls_why = tls_available()
    tls_info = make_cert()
    net_cells = [c for c in cells if c in NET_CELLS]
    if "tls4k" in net_cells and not tls_ok:
        raw["notes"].append(f"tls4k: reactorsock TLS not available ({tls_why})")
    nofile = raw["machine"]["nofile_hard"]
    held_n = {"c10k": 2000 if a.quick else 10000, "cmax": min(50000, nofile - 500)}
    if "cmax" in net_cells and held_n["cmax"] < 50000:
        raw["notes"].append(
            f"cmax: 50,000 connections need RLIMIT_NOFILE > 50,000 in both processes; this "
            f"machine's hard limit is {nofile} (no CAP_SYS_RESOURCE to raise it), so the run "
            f"holds {held_n['cmax']:,} instead."
        )
        NET_CELLS["cmax"]["title"] = f"{held_n['cmax']:,} held (50,000 asked), 1,000 active"
    if a.quick and "c10k" in net_cells:
        raw["notes"].append("--quick: c10k holds 2,000 connections (200 active), not 10,000.")
    if any(c in net_cells for c in ("c10k", "cmax")) and "rs-select" in servers:
        raw["notes"].append("rs-select is skipped in the held-connection cells: select(2) "
                            "cannot watch fds >= FD_SETSIZE (1024).")  # fmt: skip
    for cell in net_cells:
        raw["net"][cell] = {}
    port = BASE_PORT
    for rep in range(reps):
        k = rep % len(servers)
        order = servers[k:] + servers[:k]  # rotate, so no server always runs first
        for name in order:
            plain = [c for c in net_cells if not NET_CELLS[c].get("hold")
                     and name in cell_servers(c, servers, tls_ok)]  # fmt: skip
            if "tls4k" in plain and name.startswith("rs-") and not tls_ok:
                plain.remove("tls4k")
            port += 10
            t = time.monotonic()
            for cell, res in run_plain_cells(name, plain, durations, tls_info, port).items():
                raw["net"][cell].setdefault(name, []).append(res)
            for cell in net_cells:
                if NET_CELLS[cell].get("hold") and name in cell_servers(cell, servers, tls_ok):
                    port += 10
                    res = run_held_cell(name, cell, durations, port, held_n[cell])
                    raw["net"][cell].setdefault(name, []).append(res)
            print(f"bench: rep {rep + 1}/{reps} {name}: {time.monotonic() - t:.1f} s", flush=True)
        if "micro" in cells:
            raw.setdefault("micro", []).append(run_micro(a.quick))
        if "compat" in cells:
            port += 10
            raw.setdefault("compat", []).append(run_compat(a.quick, port))
    if "strace" in cells:
        port += 10
        raw["strace"] = run_strace([s for s in ("rs-epoll", "asyncio", "uvloop", "twisted",
                                                "c-epoll") if s in servers]
                                   + [s for s in servers if "@" in s], port)  # fmt: skip
    if "profile" in cells:
        port += 10
        raw["profile"] = run_profile(port, durations)
    summary = summarise(raw)
    raw["summary"] = summary
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"results-{stamp}.json").write_text(json.dumps(raw, indent=1))
    md = markdown(raw, summary)
    (RESULTS / f"summary-{stamp}.md").write_text(md)
    png = RESULTS / f"benchmarks-{stamp}.png"
    if summary:
        chart(summary, png)
    for src, dst in ((f"results-{stamp}.json", "latest.json"), (f"summary-{stamp}.md",
                     "latest.md"), (png.name, "latest.png")):  # fmt: skip
        if (RESULTS / src).exists():
            shutil.copyfile(RESULTS / src, RESULTS / dst)
    print(md)
    print(f"bench: done in {time.monotonic() - t_start:.0f} s; results in {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
