"""Settings read from the environment (prefix ``XINYONG_``), with working defaults for one machine."""

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XINYONG_", extra="ignore")

    var_dir: Path = Path("var")
    database_url: str = ""
    ingest_batch_size: int = 5000

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
