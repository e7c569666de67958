"""Settings read from the environment (prefix ``XINYONG_``), with working defaults for one machine."""

import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as UnreadSetting

from xinyong.environment import DEFAULT_PACK, DEFAULT_VAR_DIR, ledger_key_path, sqlite_url

INGEST_BATCH_ROWS = 20_000
"""Rows an ingest commits in one transaction unless told otherwise. A store of a million
records writes each batch's index pages at commit, wherever its rows fall in the indexes
keyed by subject and date; four times the 5,000 rows of old dirty barely more pages a commit,
and the whole job ran 10 to 15% faster into SQLite and 10% into PostgreSQL (docs/ingest.md)."""

ENV_PREFIX = "XINYONG_"


def variable(setting: str) -> str:
    """The environment variable that sets ``setting`` (a field of ``Settings``)."""
    return f"{ENV_PREFIX}{setting.upper()}"


NodeName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
"""A node's short name in the network: lower-case letters, digits, '.', '_' and '-'."""


class NodeLink(BaseModel):
    """A neighbour of this node in the network: where it answers, how it signs, and (for a child)
    whose records it may send up."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: NodeName = Field(description="the neighbour's node name")
    url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$")] = Field(
        description="where its API answers, e.g. https://credit.province.example"
    )
    key: str = Field(
        description="its ledger's verifier key (GET /v1/ledger/key): it signs its batches and "
        "checkpoints with it, and cosigns ours"
    )
    token: str = Field(
        "", description="the API key (role node) that the neighbour issued to this node"
    )
    regions: tuple[Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{5}$")], ...] = Field(
        (),
        description="a child's GB/T 2260 divisions: it may send up records of the authorities "
        "whose area lies within one of them",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    var_dir: Path = Field(
        DEFAULT_VAR_DIR,
        description="the folder of the SQLite store, signing key, reports and notices",
    )
    database_url: str = Field(
        "",
        description="the store: postgresql://user@host/db, or a SQLite file; "
        "<var_dir>/xinyong.db when unset",
    )
    pack: str = Field(
        DEFAULT_PACK,
        description="the policy pack in force: a shipped pack's name or a pack folder's path",
    )
    ingest_batch_size: int = Field(
        INGEST_BATCH_ROWS, ge=1, le=1_000_000, description="rows per committed batch of an ingest"
    )
    session_hours: float = Field(12.0, gt=0, description="how long a sign-in lasts")
    # A test suite hashes thousands of passwords; a service must never hash them cheaply, so
    # `xinyong serve` refuses the cheap value, and a sign-in rehashes a cheap hash safely.
    password_hashing: Literal["argon2id", "insecure-for-tests"] = Field(
        "argon2id",
        description="how passwords are hashed: argon2id with 64 MiB and 3 passes; "
        "insecure-for-tests (argon2's cheapest) only for test suites, `xinyong serve` refuses it",
    )
    trusted_proxies: str = Field(
        "",
        description="reverse proxies (addresses or networks, comma-separated, '*' for any) "
        "whose X-Forwarded-Proto and X-Forwarded-For are believed; none by default",
    )
    # The rules require the access log to be kept at least five years: a shorter setting is refused.
    access_log_retention_years: int = Field(5, ge=5, description="years the access log is kept")
    # Spark's own default (1g) is too small for a province on one machine; on a cluster the
    # cluster's settings decide.
    spark_driver_memory: str = Field("4g", description="memory of a local Spark driver")
    # A proof link answers "not yet, retry in N s" until the next checkpoint covers its event.
    checkpoint_interval: float = Field(
        60.0, gt=0, le=3600, description="seconds between ledger checkpoints while serving"
    )
    # Credit reports (xinyong.subjects.report): who issues them, where they are verified.
    report_issuer: str = Field(
        "公共信用信息平台 Public credit information platform",
        description="the issuer printed on every credit report",
    )
    public_url: str = Field(
        "",
        description="the platform's public address (https://...), printed in reports' "
        "verification links; the address a request came to when unset",
    )

    # Sign-in through an external OpenID Connect provider (xinyong.accounts.oidc); off when
    # no issuer is set.
    oidc_issuer: str = Field(
        "", description="the identity provider's issuer URL; federated sign-in is off when unset"
    )
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_identity_claim: str = Field(
        "id_number",
        description="the ID token claim that carries the person's resident identity number",
    )
    oidc_timeout: float = Field(10.0, gt=0, description="seconds to wait for the provider")

    # The network (docs/federation.md): empty for a platform that stands alone.
    node_name: NodeName | Literal[""] = Field("", description="this node's name in the network")
    node_level: Literal["", "city", "province", "national"] = Field(
        "", description="this node's level: city, province or national"
    )
    node_parent: NodeLink | None = Field(None, description="the node above (JSON)")
    node_children: tuple[NodeLink, ...] = Field((), description="the nodes below (a JSON list)")
    federation_interval: float = Field(
        1.0, gt=0, le=3600, description="seconds between polls of each link"
    )
    federation_batch_size: int = Field(
        5000, ge=1, le=10_000, description="most record events in one batch"
    )

    @model_validator(mode="after")
    def _network_is_named(self) -> "Settings":
        links = self.links
        if links and not (self.node_name and self.node_level):
            raise ValueError(
                "a node with neighbours needs XINYONG_NODE_NAME and XINYONG_NODE_LEVEL"
            )
        names = [link.name for link in links]
        if len(set(names)) != len(names) or self.node_name in names:
            raise ValueError("every neighbour needs a name of its own, other than this node's")
        bare = [child.name for child in self.node_children if not child.regions]
        if bare:
            raise ValueError(f"children need regions (whose records they send up): {bare}")
        return self

    @property
    def links(self) -> tuple[NodeLink, ...]:
        """Every neighbour: the parent first, then the children."""
        return ((self.node_parent,) if self.node_parent else ()) + self.node_children

    # Notices to subjects (xinyong.rights): how they leave, and the background worker.
    notice_transport: str = Field("file", description="how notices leave: smtp or file")
    notice_file: Path | None = Field(
        None, description="where the file transport appends; <var_dir>/notices.jsonl when unset"
    )
    smtp_host: str = Field("127.0.0.1", description="the SMTP server notices go through")
    smtp_port: int = Field(25, description="its port")
    smtp_from: str = Field("noreply@xinyong.invalid", description="the sender of notices")
    smtp_starttls: bool = Field(False, description="whether to upgrade to TLS with STARTTLS")
    smtp_ca_file: Path | None = Field(
        None,
        description="CA certificates to verify the server with on STARTTLS; the system's when unset",
    )
    smtp_username: str = Field("", description="SMTP login, when the server asks for one")
    smtp_password: str = Field("", description="its password")
    smtp_timeout: float = Field(30.0, gt=0, description="seconds to wait for the SMTP server")
    rights_worker: bool = Field(
        True, description="whether `xinyong serve` runs expiry daily and delivers notices"
    )
    rights_worker_interval: float = Field(
        300.0, gt=0, description="seconds between the background worker's rounds"
    )
    # Who runs the platform, as every page's footer says (主办单位, contact, hotline, filings).
    operator_name: str = Field("", description="the operating organisation (主办单位)")
    operator_contact: str = Field("", description="a postal or e-mail address for the public")
    operator_hotline: str = Field("", description="the service hotline")
    icp_filing: str = Field("", description="the ICP filing number (ICP备案号)")
    security_filing: str = Field("", description="the public security filing number (公安备案号)")

    def resolved_notice_file(self) -> Path:
        return self.notice_file or self.var_dir / "notices.jsonl"

    # Published datasets: how long versions stay downloadable, and how often a serving
    # process looks for something to publish.
    datasets_keep_days: float = Field(
        30.0, gt=0, description="days a public dataset's versions are kept"
    )
    feeds_keep_hours: float = Field(
        48.0, gt=0, description="hours a relying-party feed's versions are kept (its deltas)"
    )
    publish_interval: float = Field(
        1.0, gt=0, le=3600, description="seconds between a serving process's publication checks"
    )

    metrics_token: str = Field(
        "",
        description="a bearer token that lets a scraper read /metrics from any address; "
        "without one, only the addresses in metrics_networks may",
    )
    metrics_networks: str = Field(
        "127.0.0.1,::1",
        description="addresses or networks (comma-separated) that may read /metrics without "
        "a token; the client address is the one the trusted proxies report",
    )
    metrics_dir: Path | None = Field(
        None,
        description="where the workers of `xinyong serve` publish their request and check "
        "counts for /metrics (default var_dir/metrics; serve clears the counts when it starts)",
    )
    request_log: bool = Field(
        True, description="write one JSON line per HTTP request (with its request id)"
    )

    def resolved_database_url(self) -> str:
        """The configured URL, or a WAL-mode SQLite file under ``var_dir`` when none is set."""
        if self.database_url:
            return self.database_url
        return sqlite_url(self.var_dir)

    @property
    def ledger_key_path(self) -> Path:
        return ledger_key_path(self.var_dir)

    @property
    def datasets_path(self) -> Path:
        return self.var_dir / "datasets"

    @property
    def report_key_path(self) -> Path:
        return self.var_dir / "reports" / "signing.key"


SECRET_WORDS = ("secret", "password", "token", "url")
"""A refused setting whose name holds one of these is named without its value: it may be a
credential (a database URL may carry a password)."""


class SettingsError(ValueError):
    """The environment sets a setting to a value it cannot take: each one named as it is set."""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(_described(error)) from None
    except UnreadSetting as error:  # a JSON setting (a node's neighbours) that does not parse
        field = re.search(r'field "(\w+)"', str(error))
        name = variable(field[1]) if field else "a setting"
        raise SettingsError(
            f"invalid setting: {name} is not valid JSON: {error.__cause__}"
        ) from None


def _described(error: ValidationError) -> str:
    """Each refused setting as the environment names it, with what it holds and why it is
    refused (pydantic's own text points at its documentation and at model internals)."""
    lines = []
    for problem in error.errors(include_url=False):
        top, *inside = problem["loc"] or ("",)
        where = variable(str(top)) if top else "the settings"
        if inside:  # within a JSON value: a neighbour's field, by position and name
            where += " at " + ".".join(str(part) for part in inside)
        given = problem.get("input")
        secret = any(word in where.lower() for word in SECRET_WORDS)
        held = f" (it is {given!r})" if isinstance(given, str | int | float) and not secret else ""
        lines.append(f"{where}{held}: {problem['msg']}")
    return "invalid setting: " + "; ".join(lines)
