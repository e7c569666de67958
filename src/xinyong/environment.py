"""The few settings a quick command reads, straight from the environment.

``xinyong.config.Settings`` reads every setting with pydantic, which costs a command that
answers in a fraction of a second most of its time; ``xinyong check`` needs only where the
store and the pack are. This module reads those as ``Settings`` does (the ``XINYONG_`` prefix,
names in any case) and holds their defaults, which ``Settings`` takes from here.
"""

import os
from pathlib import Path

DEFAULT_VAR_DIR = Path("var")
DEFAULT_PACK = "national"


def setting(name: str) -> str | None:
    """The environment's value of ``XINYONG_<NAME>`` (the name in any case), if set."""
    wanted = f"xinyong_{name}".lower()
    exact = os.environ.get(wanted.upper())
    if exact is not None:
        return exact
    return next((value for key, value in os.environ.items() if key.lower() == wanted), None)


def var_dir() -> Path:
    found = setting("var_dir")
    return DEFAULT_VAR_DIR if found is None else Path(found)


def sqlite_url(folder: Path) -> str:
    """The store when no URL is set: a SQLite file under the var folder."""
    return f"sqlite:///{(folder / 'xinyong.db').resolve()}"


def database_url() -> str:
    return setting("database_url") or sqlite_url(var_dir())


def ledger_key_path(folder: Path) -> Path:
    """Where the ledger's signing key is kept under the var folder."""
    return folder / "ledger" / "signing.key"


def pack_choice() -> str:
    return setting("pack") or DEFAULT_PACK
