"""Moved to `testkit.builders` (shared with bench/); this path stays for code not yet moved."""

from testkit.builders import *  # noqa: F403
