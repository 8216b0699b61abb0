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
