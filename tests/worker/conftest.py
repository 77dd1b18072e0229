"""Fixtures of the worker tests: generated CIFAR-10 files and settings around a test database."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings
from testkit.builders import TEST_PER_CLASS, TRAIN_PER_CLASS, make_settings
from testkit.cifar_files import write_cifar10


@pytest.fixture(scope="session")
def cifar_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cifar")
    write_cifar10(root, train_per_class=TRAIN_PER_CLASS, test_per_class=TEST_PER_CLASS)
    return root


@pytest.fixture
def settings(database_url: str, cifar_dir: Path) -> Settings:
    return make_settings(database_url, cifar_dir)
