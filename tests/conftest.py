from __future__ import annotations

import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from importlib import resources
from pathlib import Path

import httpx
import pytest

from langzhong.config import Settings
from langzhong.core import Article, Section
from langzhong.service import Service

SHARED = Path(__file__).resolve().parents[2] / "shared"
SEED_NAME = "000_11c99a0e30aa1c9d.txt"

# Two answers that share no word with each other, for tests of search by meaning and of writes.
FEVER = Article(
    id="fever",
    kind="qa",
    title="孩子高烧不退",
    lead="三岁宝宝体温39度",
    sections=(
        Section(heading="回答", level=1, text="小儿高热可用布洛芬或对乙酰氨基酚退热，多饮水。"),
    ),
)
TEETH = Article(
    id="teeth",
    kind="qa",
    title="牙龈出血",
    lead="刷牙时牙龈总出血",
    sections=(Section(heading="回答", level=1, text="多为牙龈炎，建议洁牙并到口腔科检查。"),),
)


@pytest.fixture(scope="session")
def seed_text() -> str:
    """The seed page as crawled (shipped in the package's demo corpus, so no ../shared needed)."""
    return resources.files("langzhong.demo").joinpath(SEED_NAME).read_text("utf-8")


@pytest.fixture
def seed_file(tmp_path: Path, seed_text: str) -> Path:
    path = tmp_path / SEED_NAME
    path.write_text(seed_text, encoding="utf-8")
    return path


@pytest.fixture
def service(tmp_path: Path) -> Service:
    svc = Service(Settings.load(tmp_path / "home"))
    yield svc
    svc.close()


def run_cli(*args: str, home: Path, check: bool = True) -> subprocess.CompletedProcess:
    """The installed ``langzhong`` command in a real subprocess."""
    env = {**os.environ, "LANGZHONG_HOME": str(home), "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "langzhong", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"exit {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done


def shared_data(relative: str) -> Path:
    """A file under ../shared/data, or a clean skip where this checkout has none."""
    path = SHARED / "data" / relative
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


STOP_WAIT_S = 30  # a server waits up to DRAIN_S for requests, then closes its store


class LiveServer:
    """``langzhong serve`` in its own process on loopback."""

    def __init__(
        self,
        home: Path,
        token: str | None = None,
        workers: int | None = None,
        args: tuple[str, ...] = (),
        open_files: tuple[int, int] | None = None,
        **env_vars: str,
    ) -> None:
        """``open_files``: the (soft, hard) limit on the server's file descriptors."""
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "PYTHONFAULTHANDLER": "1",
            "LANGZHONG_HOME": str(home),
            "LANGZHONG_RATE_LIMIT": "0",
            **env_vars,
        }
        env.pop("LANGZHONG_API_TOKEN", None)
        if token:
            env["LANGZHONG_API_TOKEN"] = token
        self.log = home.parent / f"serve-{self.port}.log"
        extra = [*(["--workers", str(workers)] if workers else []), *args]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "langzhong", "serve", "--port", str(self.port), *extra],
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            preexec_fn=(lambda: resource.setrlimit(resource.RLIMIT_NOFILE, open_files))
            if open_files
            else None,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            # Where it hangs: faulthandler writes every thread's stack to the log on SIGABRT.
            self.process.send_signal(signal.SIGABRT)
            self.process.wait(timeout=STOP_WAIT_S)
            tail = self.log.read_text(errors="replace")[-6000:]
            raise AssertionError(f"the server did not stop in {STOP_WAIT_S} s:\n{tail}") from None


API_TOKEN = "test-token-langzhong-1234"


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory) -> LiveServer:
    """A server on a store built by its first start from the demo corpus, writes enabled."""
    server = LiveServer(tmp_path_factory.mktemp("served") / "home", token=API_TOKEN)
    yield server
    server.stop()


class PostgresCluster:
    """A throw-away PostgreSQL cluster on loopback, made by Debian's ``pg_virtualenv`` (which
    drops it when its command, here a wait on stdin, ends)."""

    def __init__(self, folder: Path) -> None:
        ready = folder / "pg.env"
        self.process = subprocess.Popen(
            [
                "pg_virtualenv",
                "-t",
                "sh",
                "-c",
                f"env > {ready}.part && mv {ready}.part {ready}; read _",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=(folder / "pg_virtualenv.log").open("w"),
        )
        deadline = time.monotonic() + 120
        while not ready.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((folder / "pg_virtualenv.log").read_text())
            time.sleep(0.1)
        self.env = dict(
            line.split("=", 1) for line in ready.read_text().splitlines() if "=" in line
        )
        user, password = self.env["PGUSER"], self.env["PGPASSWORD"]
        self.base = f"postgresql://{user}:{password}@127.0.0.1:{self.env['PGPORT']}"

    def new_database(self) -> str:
        """The URL of a new empty database."""
        import psycopg

        name = f"lz_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"{self.base}/postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"{self.base}/{name}"

    def control(self, action: str) -> None:
        """Stop or start the cluster's server (the data stays)."""
        version = self.env["PGVERSION"]
        subprocess.run(
            ["pg_ctlcluster", version, "regress", action], env=self.env, check=True, timeout=60
        )

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=120)


@pytest.fixture(scope="session")
def postgres_cluster(tmp_path_factory) -> PostgresCluster:
    if shutil.which("pg_virtualenv") is None:
        pytest.skip("pg_virtualenv is missing (apt-get install postgresql; scripts/test does)")
    pytest.importorskip("psycopg", reason="psycopg is missing (pip install 'langzhong[cluster]')")
    cluster = PostgresCluster(tmp_path_factory.mktemp("postgres"))
    yield cluster
    cluster.close()


@pytest.fixture
def postgres_url(postgres_cluster) -> str:
    """A fresh database on the test cluster."""
    return postgres_cluster.new_database()


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory):
    """``milvus-lite server`` on loopback (``MilvusLite``: stop and start keep its data)."""
    pytest.importorskip("pymilvus", reason="pymilvus is missing (pip install 'langzhong[cluster]')")
    pytest.importorskip("milvus_lite", reason="milvus-lite is missing (langzhong[cluster])")
    from langzhong.benchmark.milvus_lite import MilvusLite

    server = MilvusLite(tmp_path_factory.mktemp("milvus"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def ray_address():
    """A Ray head started here on loopback (``ray start``), as a user's cluster would be; its
    address, and ``ray stop`` after the tests."""
    pytest.importorskip("ray", reason="Ray is missing (pip install 'langzhong[ray]')")
    ray = Path(sys.executable).with_name("ray")
    port = free_port()
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    started = [str(ray), "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port)]
    options = ["--num-cpus", "2", "--include-dashboard", "false", "--disable-usage-stats"]
    subprocess.run([*started, *options], env=env, check=True, capture_output=True, timeout=120)
    yield f"127.0.0.1:{port}"
    subprocess.run([str(ray), "stop", "--force"], env=env, capture_output=True, timeout=120)
