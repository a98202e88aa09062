"""Real peers on loopback: a Kamailio registrar, SIPp, SIPVicious and dumpcap.

The real-attack test (test_real_attacks.py) plays an attack against a real registrar and
captures it off ``lo``; this module starts and stops the programs. Addresses are distinct
127.0.0.x so that each party is known by its IP in the capture (SIPVicious 0.3.8's svwar
and svcrack ignore ``-b``, so the attacker keeps the default source, 127.0.0.1):

=============  ==========================================
127.0.0.1      the attacker (svmap, svwar, svcrack)
127.0.0.2      the registrar (Kamailio, registrar.cfg)
127.0.0.3      the legitimate client (SIPp, sipp_register.xml)
127.0.0.20     the stateful proxy (Kamailio, proxy.cfg, :5260; JSON-RPC on :5271)
127.0.0.21     the caller placing long calls (SIPp, sipp_uac_wait_bye.xml)
127.0.0.22     the called party (SIPp's built-in uas scenario)
=============  ==========================================

Everything is bounded: each program runs under a timeout, and waits poll for a
condition (a file, a port answering) instead of sleeping a fixed time.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent
ATTACKER, REGISTRAR, CLIENT = "127.0.0.1", "127.0.0.2", "127.0.0.3"
PROXY, CALLER, CALLEE = "127.0.0.20", "127.0.0.21", "127.0.0.22"
#: The call-ending test's ports, outside the real-attack capture's 5060-5099, so that the
#: two can run at once without one's SIP landing in the other's capture.
PROXY_PORT, CALLER_PORT, CALLEE_PORT, RPC_PORT = 5260, 5262, 5264, 5271
USERS = tuple(str(n) for n in range(1000, 1005))  # registrar.cfg's users
PASSWORD = "s3cret-PASSWORD"
MODULE_DIRS = (
    "/usr/lib/x86_64-linux-gnu/kamailio/modules",
    "/usr/lib/aarch64-linux-gnu/kamailio/modules",
    "/usr/lib/kamailio/modules",
    "/usr/local/lib64/kamailio/modules",
)
VENV_BIN = Path(sys.executable).parent


def missing_switch() -> str | None:
    """Why Kamailio and SIPp cannot run here (no capture, no attack tools needed)."""
    for tool in ("kamailio", "sipp"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (.ci/run installs it)"
    if _modules() is None:
        return "kamailio modules directory not found"
    return None


def missing() -> str | None:
    """Why the real peers cannot run here, or None when they can."""
    for tool in ("kamailio", "sipp", "dumpcap"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (.ci/run installs it)"
    if not (VENV_BIN / "sipvicious_svwar").exists():
        return "sipvicious is not installed (pip install -e '.[dev]')"
    if os.geteuid() != 0:
        return "capturing on lo needs root"
    if _modules() is None:
        return "kamailio modules directory not found"
    return None


def _modules() -> str | None:
    return next((d for d in MODULE_DIRS if Path(d, "tm.so").exists()), None)


def _wait(condition: object, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


def _answers_options(host: str, sip_port: int = 5060) -> bool:
    """Whether a SIP server on host:sip_port answers an OPTIONS (sent from 127.0.0.5, from a
    port of its own so that two tests can probe at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.5", 0))
        port = sock.getsockname()[1]  # the port its Via names: the answer goes there
        probe = (
            f"OPTIONS sip:{host} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.5:{port};branch=z9hG4bK-p\r\n"
            f"From: <sip:probe@127.0.0.5>;tag=p\r\nTo: <sip:{host}>\r\n"
            f"Call-ID: probe-{port}@127.0.0.5\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n"
        ).encode()
        sock.settimeout(0.3)
        sock.sendto(probe, (host, sip_port))
        try:
            return sock.recv(4096).startswith(b"SIP/2.0 200")
        except OSError:
            return False


@contextlib.contextmanager
def dumpcap(out: Path) -> Iterator[Path]:
    """Capture SIP on lo into ``out`` (pcapng) while the block runs."""
    proc = subprocess.Popen(
        ["dumpcap", "-q", "-i", "lo", "-f", "udp and portrange 5060-5099", "-w", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait(lambda: out.exists() and out.stat().st_size > 0, "dumpcap to start")
        yield out
    finally:
        time.sleep(0.3)  # the last datagrams reach the ring buffer (bounded, not a wait-for)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


@contextlib.contextmanager
def kamailio(
    workdir: Path, config: str, listen: str, sip_port: int = 5060, **values: str
) -> Iterator[None]:
    """Kamailio with ``config`` (of this directory) on ``listen``:``sip_port`` while the
    block runs; LISTEN, MODULES and each of ``values`` (a word in the file) are substituted."""
    text = (HERE / config).read_text()
    for word, value in {"LISTEN": listen, "MODULES": _modules() or "", **values}.items():
        text = text.replace(word, value)
    cfg = workdir / config
    cfg.write_text(text)
    rundir = workdir / f"kamailio-{listen}"
    rundir.mkdir()
    with (workdir / f"kamailio-{listen}.log").open("wb") as log:
        args = ["kamailio", "-f", str(cfg), "-DD", "-E", "-Y", str(rundir), "-m", "32", "-M", "4"]

        def ready() -> bool:
            return _answers_options(listen, sip_port)

        with _running(args, ready, "kamailio to answer OPTIONS", log):
            yield


@contextlib.contextmanager
def _running(
    args: list[str], ready: object, what: str, log: IO[bytes] | None = None
) -> Iterator[None]:
    """Run ``args`` while the block runs, once ``ready()`` holds (bounded); then stop it."""
    proc = subprocess.Popen(
        args,
        stdout=log or subprocess.DEVNULL,
        stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
    )
    try:
        _wait(ready, what)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def registrar(workdir: Path) -> contextlib.AbstractContextManager[None]:
    """Kamailio with registrar.cfg on 127.0.0.2:5060 while the block runs."""
    return kamailio(workdir, "registrar.cfg", REGISTRAR)


def proxy(workdir: Path) -> contextlib.AbstractContextManager[None]:
    """Kamailio with proxy.cfg on 127.0.0.20:5260 (JSON-RPC on :5271) relaying to the
    callee at 127.0.0.22:5264."""
    return kamailio(workdir, "proxy.cfg", PROXY, PROXY_PORT, SIPPORT=str(PROXY_PORT),
                    HTTPPORT=str(RPC_PORT), UAS=f"{CALLEE}:{CALLEE_PORT}")  # fmt: skip


@contextlib.contextmanager
def callee() -> Iterator[None]:
    """SIPp's built-in ``uas`` on 127.0.0.22:5264: answers every INVITE 180/200 and
    answers the BYE that ends the call."""
    args = ["sipp", "-sn", "uas", "-i", CALLEE, "-p", str(CALLEE_PORT), "-nostdin",
            "-timeout", "60s"]  # fmt: skip
    with _running(args, lambda: _answers_udp(CALLEE, CALLEE_PORT), "sipp uas to listen"):
        yield


def _answers_udp(host: str, port: int) -> bool:
    """Whether something holds UDP host:port (binding it fails)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return True
        return False


def place_calls(workdir: Path, count: int, callee_number: str) -> subprocess.Popen[bytes]:
    """SIPp places ``count`` calls from 127.0.0.21 through the proxy to ``callee_number``,
    each waiting (20 s at most) for the network's BYE; exit status 0 when every call was
    ended by the network (sipp_uac_wait_bye.xml). The caller waits for it."""
    return subprocess.Popen(
        ["sipp", "-sf", str(HERE / "sipp_uac_wait_bye.xml"), "-i", CALLER,
         "-p", str(CALLER_PORT), "-s", callee_number, f"{PROXY}:{PROXY_PORT}",
         "-m", str(count), "-r", "20", "-nostdin",
         "-timeout", "25s", "-trace_msg", "-message_file", str(workdir / "caller.msg")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def register_legitimately(user: str, count: int) -> None:
    """SIPp registers ``user`` ``count`` times from 127.0.0.3, answering the challenge."""
    subprocess.run(
        ["sipp", "-sf", str(HERE / "sipp_register.xml"), "-i", CLIENT, "-p", "5070",
         "-s", user, "-au", user, "-ap", PASSWORD, f"{REGISTRAR}:5060",
         "-m", str(count), "-r", "20", "-nostdin", "-timeout", "20s"],
        check=True, timeout=30, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def sipvicious(tool: str, *args: str) -> subprocess.Popen[bytes]:
    """Start one SIPVicious tool (svmap, svwar, svcrack) from the attacker's address.

    The caller waits for it (``finish``): svcrack ends only after ten silent seconds
    (hard-wired in 0.3.8), so the test runs the other tools meanwhile.
    """
    return subprocess.Popen(
        [str(VENV_BIN / f"sipvicious_{tool}"), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def finish(proc: subprocess.Popen[bytes]) -> None:
    """Wait for a tool (bounded); its exit status is not checked: svcrack exits non-zero
    when it finds no password, as it should not here."""
    try:
        proc.wait(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
