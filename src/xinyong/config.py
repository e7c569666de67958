"""Settings read from the environment (prefix ``XINYONG_``), with working defaults for one machine."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XINYONG_", extra="ignore")

    var_dir: Path = Field(
        Path("var"), description="the folder of the SQLite store, signing key, reports and notices"
    )
    database_url: str = Field(
        "",
        description="the store: postgresql://user@host/db, or a SQLite file; "
        "<var_dir>/xinyong.db when unset",
    )
    pack: str = Field(
        "national",
        description="the policy pack in force: a shipped pack's name or a pack folder's path",
    )
    ingest_batch_size: int = Field(5000, description="rows per committed batch of an ingest")
    session_hours: float = Field(12.0, gt=0, description="how long a sign-in lasts")
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

    def resolved_notice_file(self) -> Path:
        return self.notice_file or self.var_dir / "notices.jsonl"

    def resolved_database_url(self) -> str:
        """The configured URL, or a WAL-mode SQLite file under ``var_dir`` when none is set."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'xinyong.db').resolve()}"

    @property
    def ledger_key_path(self) -> Path:
        return self.var_dir / "ledger" / "signing.key"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
