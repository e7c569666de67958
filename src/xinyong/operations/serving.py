"""What ``xinyong serve`` prepares before uvicorn starts its workers."""

import os
from typing import Any

from xinyong.config import get_settings
from xinyong.operations.logs import log_config
from xinyong.operations.metrics import COUNTS, PARTIAL


def prepare_workers() -> dict[str, Any]:
    """Clear the counts workers published in an earlier run and tell the new workers (which
    uvicorn starts as new processes, reading the environment) where to publish theirs; returns
    uvicorn's logging configuration. A restart starts the counters from zero, which Prometheus
    expects."""
    settings = get_settings()
    folder = (settings.metrics_dir or settings.var_dir / "metrics").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    for published in [*folder.glob(f"*{COUNTS}"), *folder.glob(f"*{PARTIAL}")]:
        published.unlink(missing_ok=True)
    os.environ["XINYONG_METRICS_DIR"] = str(folder)
    get_settings.cache_clear()
    return log_config()
