"""Moved to `testkit.cifar_files` (shared with bench/); this path stays for code not yet moved."""

from testkit.cifar_files import *  # noqa: F403
