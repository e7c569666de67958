"""Coroutines run to their end from a test, in a thread of their own.

A test process may hold Playwright's synchronous browser open for the whole session (the
browser tests share one worker's Chromium), and while it is open the process's main thread
counts as running an event loop: ``asyncio.run`` there fails at once. A thread of its own
has no loop, whatever ran before it on the same worker."""

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_alone(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coroutine)`` in a new thread; its result, or the exception it raised."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="xinyong-test-loop") as thread:
        return thread.submit(asyncio.run, coroutine).result()
