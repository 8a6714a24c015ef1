"""A real ``redis-server`` for the store tests (Debian's package, installed by ``.ci/run``).

``running_redis(directory, *args)`` starts one on a unix socket in ``directory`` (no TCP port,
so no port to race for), with nothing saved to disk, waits until it answers PING, and stops
it afterwards (terminate, then kill if it lingers). ``args`` are more ``redis-server`` options
(``"--rename-command", "CONFIG", ""``; ``"--tls-port", str(free_port()), ...``: a TCP port
listens on 127.0.0.1 only). Without ``redis-server`` or redis-py the tests skip with the
reason, except under ``CI=true`` where they fail. ``POSTBACK_REDIS_SERVER`` overrides the
program's path.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .helpers import unavailable

REDIS_SERVER = os.environ.get("POSTBACK_REDIS_SERVER", "redis-server")
START_TIMEOUT = 10.0  # seconds for the server to answer PING
STOP_TIMEOUT = 5.0  # seconds for it to exit once terminated, before it is killed


def require_redis() -> str:
    """The ``redis-server`` program; skip (fail under ``CI=true``) without it or redis-py."""
    program = shutil.which(REDIS_SERVER)
    if program is None:
        unavailable(f"no {REDIS_SERVER} (apt-get install redis-server)")
    if importlib.util.find_spec("redis") is None:
        unavailable("Python package 'redis' is not installed (pip install '.[test]')")
    return program


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (as the kernel found it just now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RedisServer:
    """A running ``redis-server``: where it listens, its process and its log."""

    directory: Path
    process: subprocess.Popen[bytes]

    @property
    def socket_path(self) -> Path:
        return self.directory / "redis.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def client(self) -> Any:
        """A redis-py client on the socket (bytes in and out), for the test's own commands."""
        import redis

        return redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=5)

    def log(self) -> str:
        return (self.directory / "redis.log").read_text(errors="replace")

    def stop(self) -> None:
        """Stop the server (terminate, kill if it lingers); once stopped, nothing happens."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def running_redis(directory: Path, *args: str) -> Iterator[RedisServer]:
    """A ``redis-server`` on a unix socket in ``directory`` (``args``: more options), stopped
    when the block ends."""
    program = require_redis()
    command = [program, "--port", "0", "--bind", "127.0.0.1",
               "--unixsocket", str(directory / "redis.sock"), "--unixsocketperm", "700",
               "--dir", str(directory), "--save", "", "--appendonly", "no",
               "--logfile", str(directory / "redis.log"), *args]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    server = RedisServer(directory, process)
    try:
        _wait_until_it_answers(server)
        yield server
    finally:
        server.stop()


def _wait_until_it_answers(server: RedisServer) -> None:
    import redis

    deadline = time.monotonic() + START_TIMEOUT
    client = redis.Redis(unix_socket_path=str(server.socket_path), socket_timeout=1)
    try:
        while True:
            if server.process.poll() is not None:
                raise RuntimeError(f"redis-server exited ({server.process.returncode}): "
                                   f"{_tail(server)}")
            try:
                client.ping()
                return
            except (redis.AuthenticationError, redis.ResponseError):
                return  # it answers (wants a password first)
            except redis.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not answer in {START_TIMEOUT}s: "
                                   f"{_tail(server)}")
            time.sleep(0.02)
    finally:
        client.close()


def _tail(server: RedisServer) -> str:
    with contextlib.suppress(OSError):
        return server.log()[-2000:]
    return "(no log)"
