"""Run requests at the same moment, each in its own thread, client and connection."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor


def race(app, calls):
    """Call each `call(client)` at once (a barrier releases them together); the responses in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        client = app.test_client()
        barrier.wait()
        return call(client)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))
