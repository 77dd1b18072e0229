"""Moved to `testkit.services` (shared with bench/); this path stays for code not yet moved."""

from testkit.services import *  # noqa: F403
