"""What a probe of the server's connections found (issue 37): idle connections are closed and
capped below the descriptor limit, and a port is shared only among one server's own workers."""

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import httpx
from conftest import LiveServer, run_cli


def _home(tmp_path: Path, seed_file: Path) -> Path:
    home = tmp_path / "home"
    run_cli("ingest", str(seed_file), home=home)
    return home


def _open_files_limit(pid: int) -> tuple[int, int]:
    limits = Path(f"/proc/{pid}/limits").read_text()
    soft, hard = re.search(r"Max open files\s+(\d+)\s+(\d+)", limits).groups()
    return int(soft), int(hard)


def test_a_connection_that_sends_no_whole_request_is_closed_after_a_few_seconds(
    tmp_path, seed_file
):
    server = LiveServer(_home(tmp_path, seed_file), workers=1)
    try:
        silent = socket.create_connection(("127.0.0.1", server.port))
        partial = socket.create_connection(("127.0.0.1", server.port))
        partial.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # a head never finished
        for connection in (silent, partial):
            connection.settimeout(60)
            assert connection.recv(1024) == b""  # closed by the server
            connection.close()
    finally:
        server.stop()


def test_idle_connections_past_the_descriptor_limit_leave_room_for_requests(tmp_path, seed_file):
    server = LiveServer(_home(tmp_path, seed_file), workers=1, open_files=(256, 512))
    idle: list[socket.socket] = []
    try:
        assert _open_files_limit(server.process.pid) == (512, 512)  # soft raised to hard
        for _ in range(700):
            idle.append(socket.create_connection(("127.0.0.1", server.port)))
        assert httpx.get(f"{server.url}/healthz", timeout=30).status_code == 200
    finally:
        for connection in idle:
            connection.close()
        server.stop()


def test_a_second_server_on_a_port_in_use_exits_2_and_the_first_keeps_it(tmp_path, seed_file):
    first = LiveServer(_home(tmp_path, seed_file), workers=2)
    try:
        env = {**os.environ, "LANGZHONG_HOME": str(tmp_path / "other")}
        command = [sys.executable, "-m", "langzhong", "serve", "--port", str(first.port)]
        second = subprocess.run(
            [*command, "--workers", "2"], env=env, capture_output=True, text=True, timeout=60
        )
        assert second.returncode == 2 and "Traceback" not in second.stderr
        assert re.fullmatch(
            rf"error: cannot listen on 127\.0\.0\.1:{first.port}: .+\n", second.stderr
        )
        answers = [httpx.get(f"{first.url}/healthz").json() for _ in range(40)]
        assert all(answer["indexed_documents"] == 2 for answer in answers)
    finally:
        first.stop()
