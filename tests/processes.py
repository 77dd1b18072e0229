"""Moved to `testkit.processes` (shared with bench/); this path stays for code not yet moved."""

from testkit.processes import *  # noqa: F403
