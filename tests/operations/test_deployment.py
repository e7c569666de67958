"""The setup of docs/operations.md, started for real: nginx (from Debian, with the guide's own
configuration) ending TLS in front of ``xinyong serve --workers 2`` on a throwaway PostgreSQL
server; a submission, a check and a sign-in go through it.

nginx rather than a Python proxy: the guide tells operators to run nginx, so the test runs the
configuration they will copy (a Python proxy would test a configuration nobody deploys).
"""

import contextlib
import datetime as dt
import ipaddress
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from xinyong.accounts.service import create_account
from xinyong.clock import china_today
from xinyong.enforcement.models import CheckLogRow
from xinyong.keys.service import create_key
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing import samples
from xinyong.testing.postgres import create_database

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

GUIDE = Path(__file__).parents[2] / "docs" / "operations.md"
PASSWORD = "a long password for the operator"
PATIENCE = 120.0
"""How long the test waits for a server to start or a worker to catch up before it fails."""
_T = TypeVar("_T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def eventually(attempt: Callable[[], _T | None], what: str) -> _T:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError, OSError):
            found = attempt()
            if found is not None:
                return found
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting: {what}")


def certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "fullchain.pem", folder / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def guide_nginx_config(replacements: dict[str, str]) -> str:
    """The guide's nginx configuration, with its addresses and paths replaced by the test's."""
    [config] = re.findall(r"```nginx\n(.*?)```", GUIDE.read_text("utf-8"), re.DOTALL)
    for old, new in replacements.items():
        assert old in config, f"the guide's nginx configuration no longer has {old!r}"
        config = config.replace(old, new)
    return config


@dataclass
class Deployment:
    url: str
    app: str
    cert: Path
    proxy_log: Path
    store_url: str

    def client(self) -> httpx.Client:
        context = ssl.create_default_context(cafile=str(self.cert))
        return httpx.Client(base_url=self.url, verify=context, timeout=30)


def run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr + done.stdout


def stop(process: subprocess.Popen[bytes], sign: signal.Signals) -> None:
    if process.poll() is None:
        process.send_signal(sign)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def deployment(postgres_admin_url: str, tmp_path: Path) -> Iterator[Deployment]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.fail("nginx is not installed (Debian package nginx; `make system-deps` installs it)")
    store_url = create_database(postgres_admin_url, "deployment")
    var = tmp_path / "var"
    env = {
        **os.environ,
        "XINYONG_DATABASE_URL": store_url,
        "XINYONG_VAR_DIR": str(var),
        "XINYONG_TRUSTED_PROXIES": "127.0.0.1",
        "XINYONG_PASSWORD_HASHING": "argon2id",  # as the guide deploys it: serve refuses less
    }
    xinyong = [sys.executable, "-m", "xinyong"]
    run([*xinyong, "init"], env)
    run([*xinyong, "ledger", "keygen"], env)
    app_port, tls_port, plain_port = free_port(), free_port(), free_port()
    server = subprocess.Popen(
        [*xinyong, "serve", "--workers", "2", "--port", str(app_port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "serve.log").open("wb"),
    )
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    cert, key = certificate(prefix)
    proxy_log = prefix / "access.log"
    site = guide_nginx_config(
        {
            "listen 80;": f"listen 127.0.0.1:{plain_port};",
            "listen 443 ssl;": f"listen 127.0.0.1:{tls_port} ssl;",
            "/etc/ssl/xinyong/fullchain.pem": str(cert),
            "/etc/ssl/xinyong/privkey.pem": str(key),
            "/var/log/nginx/xinyong.access.log": str(proxy_log),
            "server 127.0.0.1:8000;": f"server 127.0.0.1:{app_port};",
        }
    )
    temporary = "\n".join(
        f"{kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # nginx.conf as Debian ships it, reduced to what the site needs: the site is read in http.
    (prefix / "nginx.conf").write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"daemon off;\nworker_processes 1;\npid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'error.log'};\nevents {{ worker_connections 256; }}\n"
        f"http {{\n{temporary}\naccess_log off;\n{site}\n}}\n"
    )
    proxy = subprocess.Popen(
        [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=(prefix / "stderr.log").open("wb"),
    )
    deployment = Deployment(
        f"https://127.0.0.1:{tls_port}", f"http://127.0.0.1:{app_port}", cert, proxy_log, store_url
    )
    try:
        eventually(
            lambda: httpx.get(f"{deployment.app}/healthz").status_code == 200 or None,
            "xinyong serve to answer",
        )
        with deployment.client() as client:
            eventually(lambda: client.get("/healthz").status_code == 200 or None, "nginx")
        plain = httpx.get(f"http://127.0.0.1:{plain_port}/healthz")
        assert plain.status_code == 308 and plain.headers["location"].startswith("https://")
        yield deployment
    finally:
        stop(proxy, signal.SIGQUIT)
        stop(server, signal.SIGTERM)


def test_a_submission_a_check_and_a_sign_in_through_tls_and_two_workers(
    deployment: Deployment,
) -> None:
    engine = make_engine(deployment.store_url)
    with make_sessionmaker(engine).begin() as session:
        court = create_key(session, role="authority", authority="court.110105", label="court")
        airline = create_key(session, role="relying_party", authority=None, label="airline")
        create_account(session, username="zhao.operator", password=PASSWORD, role="operator")
    person = samples.person(11)
    day = (china_today() - dt.timedelta(days=30)).isoformat()
    row = samples.defaulter_listing(person, 11, decided_on=day, effective_on=day)
    del row["authority"]
    body = {"subject_id": person, "action": "buy_air_ticket", "purpose": "ticket sale"}

    with deployment.client() as client:
        assert client.get("/readyz").json()["status"] == "ready"
        submitted = client.post(
            "/v1/submissions", json=[row], headers={"Authorization": f"Bearer {court}"}
        )
        assert submitted.status_code == 200 and submitted.json()["accepted"] == 1, submitted.text

        def denied() -> httpx.Response | None:
            # Each worker catches its index up within half a second; either may answer.
            answer = client.post(
                "/v1/checks", json=body, headers={"Authorization": f"Bearer {airline}"}
            )
            return answer if answer.json().get("effect") == "deny" else None

        check = eventually(denied, "the listed person to be denied")
        signed_in = client.post(
            "/v1/auth/login", json={"username": "zhao.operator", "password": PASSWORD}
        )
        assert signed_in.status_code == 200 and signed_in.json()["token"], signed_in.text
        # The proxy's X-Forwarded-Proto is believed: the session cookie is Secure.
        assert "secure" in signed_in.headers["set-cookie"].lower()
        assert client.get("/metrics").status_code == 404

    request_id = check.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)  # nginx's $request_id, not one made here
    assert f"request_id={request_id}" in deployment.proxy_log.read_text()
    with make_sessionmaker(engine)() as session:
        logged = session.scalars(
            select(CheckLogRow.effect).where(CheckLogRow.request_id == request_id)
        ).all()
    engine.dispose()
    assert logged == ["deny"]

    def counted() -> float | None:
        # Whichever worker answers adds up both workers' counts (published every second).
        text = httpx.get(f"{deployment.app}/metrics").text
        found = re.search(
            r'xinyong_checks_total\{action="buy_air_ticket",effect="deny"\} ([0-9.e+]+)', text
        )
        return float(found.group(1)) if found else None

    assert eventually(counted, "the metrics to count the check") >= 1
