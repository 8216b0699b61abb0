"""Chromium for the hub test: Debian's, through pytest-playwright's ``browser`` fixture.

The launch options are tests/browser's (the ``browser`` fixture is session-wide, so whichever
directory's tests run first launches it; both launch it the same way).
"""

import os

import pytest

try:
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
except ImportError:  # tests/browser absent (e.g. a trimmed sdist)
    CHROMIUM = os.environ.get("KMEANS_TUTOR_CHROMIUM", "/usr/bin/chromium")
    CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": list(CHROMIUM_ARGS)}
