"""Nodes of a network as real ``xinyong serve`` processes on 127.0.0.1, each with its own store:
for the tests, the benchmarks and `make demo-network`. A node's server and the commands run on it
(``Node.cli``) are started with ``xinyong.testing.processes.launch``: the tests start and kill
nodes dozens of times."""

import os
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx
import orjson
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from xinyong.clock import utc_now
from xinyong.config import NodeLink, Settings
from xinyong.federation.status import network_status
from xinyong.keys.service import create_key
from xinyong.ledger.checkpoint import SigningKey, write_signing_key
from xinyong.store.db import make_engine, make_sessionmaker, migrate
from xinyong.testing.processes import launch, run

T = TypeVar("T")
Level = Literal["city", "province", "national"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def eventually(probe: Callable[[], T | None], timeout: float = 60.0, what: str = "") -> T:
    """The first true value ``probe`` returns within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)


@dataclass
class Node:
    name: str
    level: Level
    database_url: str
    var: Path
    regions: tuple[str, ...] = ()
    port: int = field(default_factory=free_port)
    key: SigningKey = field(init=False)
    engine: Engine = field(init=False)
    factory: sessionmaker[Session] = field(init=False)
    env: dict[str, str] = field(default_factory=dict)
    process: BaseProcess | None = None
    tokens: dict[str, str] = field(default_factory=dict)  # node keys issued here, by holder

    def __post_init__(self) -> None:
        migrate(self.database_url)
        self.key = SigningKey.generate(f"{self.name}.example/ledger")
        write_signing_key(self.var / "ledger" / "signing.key", self.key)
        self.engine = make_engine(self.database_url)
        self.factory = make_sessionmaker(self.engine)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def issue(self, role: str, *, authority: str | None = None, label: str = "") -> str:
        with self.factory.begin() as session:
            return create_key(session, role=role, authority=authority, label=label or role)

    def link_to(self, other: "Node") -> dict[str, Any]:
        """How this node's settings name ``other``: the key ``other`` issued to it."""
        return {
            "name": other.name,
            "url": other.url,
            "key": other.key.verifier.encode(),
            "token": other.tokens[self.name],
            "regions": list(other.regions),
        }

    def start(self) -> None:
        env = {
            **os.environ,
            "XINYONG_DATABASE_URL": self.database_url,
            "XINYONG_VAR_DIR": str(self.var),
            "XINYONG_NODE_NAME": self.name,
            "XINYONG_NODE_LEVEL": self.level,
            "XINYONG_RIGHTS_WORKER": "false",
            "XINYONG_CHECKPOINT_INTERVAL": "1",
            "XINYONG_FEDERATION_INTERVAL": "0.2",
            # A node serves as deployed: serve refuses the cheap hashes a test suite may set.
            "XINYONG_PASSWORD_HASHING": "argon2id",
            **self.env,
        }
        serving = ["serve", "--port", str(self.port)]
        self.process = launch(serving, env, Path(os.devnull), self.var / "serve.log")
        eventually(self._healthy, 60, f"{self.name} answers")

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        if self.process is not None:
            if self.process.is_alive():
                self.process.kill()  # SIGKILL
            self.process.join()
        self.process = None

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            **self.env,
            "XINYONG_DATABASE_URL": self.database_url,
            "XINYONG_VAR_DIR": str(self.var),
            "XINYONG_NODE_NAME": self.name,
            "XINYONG_NODE_LEVEL": self.level,
        }
        return run(list(args), env)

    def logged(self) -> list[dict[str, Any]]:
        """The lines the node has logged (JSON, one a line) since it was first started."""
        path = self.var / "serve.log"
        if not path.exists():
            return []
        found = []
        for line in path.read_bytes().splitlines():
            try:
                found.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                continue  # a line written before logging was set up (a crash's traceback)
        return found

    def settings(self) -> Settings:
        """The settings the node serves with, as far as its store and its links go."""
        children = orjson.loads(self.env.get("XINYONG_NODE_CHILDREN", "[]"))
        parent = self.env.get("XINYONG_NODE_PARENT")
        return Settings(
            database_url=self.database_url,
            var_dir=self.var,
            node_name=self.name,
            node_level=self.level,
            node_parent=None if parent is None else NodeLink.model_validate_json(parent),
            node_children=tuple(NodeLink.model_validate(child) for child in children),
        )

    def status(self) -> dict[str, Any]:
        """What `xinyong federation status --json` prints for the node, read from its store in
        this process: tests poll it, and a command's process costs seconds of start-up."""
        with self.factory() as session:
            return network_status(session, self.settings(), utc_now())


def connect(parent: Node, child: Node) -> None:
    """Issue each other node keys and name each other in their settings."""
    parent.tokens[child.name] = parent.issue("node", label=child.name)
    child.tokens[parent.name] = child.issue("node", label=parent.name)
    child.env["XINYONG_NODE_PARENT"] = orjson.dumps(child.link_to(parent)).decode()
    children = orjson.loads(parent.env.get("XINYONG_NODE_CHILDREN", "[]"))
    children.append(parent.link_to(child))
    parent.env["XINYONG_NODE_CHILDREN"] = orjson.dumps(children).decode()
