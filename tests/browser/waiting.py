"""Polling for the browser and hub tests: the page and the kernel answer when they answer."""

from __future__ import annotations

import time

import pytest


def wait_until(predicate, what: str, timeout: float = 20.0, interval: float = 0.25):
    """Poll ``predicate()`` until it is truthy and return its value; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def wait_until_steady(read, what: str, timeout: float = 20.0, gap: float = 0.3):
    """Read ``read()`` every ``gap`` seconds until two reads in a row agree (nothing in
    flight, e.g. no picture frame still arriving) and return that value; fail naming ``what``."""
    last = [read()]

    def settled():
        time.sleep(gap)
        now = read()
        same = now == last[0]
        last[0] = now
        return same

    wait_until(settled, what, timeout=timeout, interval=0)
    return last[0]
