"""What ``xinyong serve`` prepares before uvicorn starts its workers."""

import os
import shutil
from typing import Any

from xinyong.config import get_settings
from xinyong.operations.logs import log_config


def prepare_workers() -> dict[str, Any]:
    """Empty the folder where workers publish their counts and tell the workers (which uvicorn
    starts as new processes, reading the environment) where it is; returns uvicorn's logging
    configuration. A restart starts the counters from zero, which Prometheus expects."""
    settings = get_settings()
    folder = (settings.metrics_dir or settings.var_dir / "metrics").resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["XINYONG_METRICS_DIR"] = str(folder)
    get_settings.cache_clear()
    return log_config()
