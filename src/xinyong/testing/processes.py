"""Commands of the command line as processes of their own, forked from a server process that
imported the command line and the app once (multiprocessing's forkserver, one per process that
launches): a new interpreter spends seconds of processor time importing them before it does
anything, and tests start servers and commands dozens of times. Each child takes the
environment it is given as its whole environment before the command reads its settings, then
runs as ``python -m xinyong`` would; it is a process like any other (SIGKILL, exit status)."""

import multiprocessing
import os
import runpy
import subprocess
import sys
import tempfile
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from pathlib import Path

from xinyong.config import get_settings

COMMAND_SECONDS = 120
PRELOADED = ["xinyong.cli", "xinyong.app", "xinyong.assembly", "uvicorn"]


def _launcher() -> ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOADED)
    return context


def _command(args: list[str], env: dict[str, str], stdout: str, stderr: str) -> None:
    """``python -m xinyong ARGS`` in a child of the forkserver, its output appended to files."""
    os.environ.clear()
    os.environ.update(env)
    for descriptor, path in ((1, stdout), (2, stderr)):
        opened = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.dup2(opened, descriptor)
        os.close(opened)
    get_settings.cache_clear()  # read from this environment, not the forkserver's
    sys.argv = ["xinyong", *args]
    runpy.run_module("xinyong", run_name="__main__", alter_sys=True)


def launch(args: list[str], env: dict[str, str], stdout: Path, stderr: Path) -> BaseProcess:
    """Start ``xinyong ARGS`` with ``env`` as its whole environment."""
    process = _launcher().Process(
        target=_command, args=(args, env, str(stdout), str(stderr)), daemon=False
    )
    process.start()
    return process


def run(
    args: list[str], env: dict[str, str], timeout: float = COMMAND_SECONDS
) -> subprocess.CompletedProcess[str]:
    """``xinyong ARGS`` to its end, as ``subprocess.run`` with ``capture_output`` gives it."""
    with tempfile.TemporaryDirectory() as folder:
        stdout, stderr = Path(folder) / "stdout", Path(folder) / "stderr"
        process = launch(args, env, stdout, stderr)
        process.join(timeout)
        if process.exitcode is None:
            process.kill()
            process.join()
            raise subprocess.TimeoutExpired(["xinyong", *args], timeout)
        return subprocess.CompletedProcess(
            ["xinyong", *args],
            process.exitcode,
            stdout.read_text() if stdout.exists() else "",
            stderr.read_text() if stderr.exists() else "",
        )
