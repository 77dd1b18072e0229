"""Where `crs` finds the URL and the key: flags, environment, config file, the local run."""

from __future__ import annotations

from pathlib import Path

import pytest

from client.user_config import DEFAULT_URL, ConfigError, resolve


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"CRS_CONFIG": str(tmp_path / "config.toml"), **values}


def test_resolve_prefers_flags_then_environment_then_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('url = "http://file:1"\nkey = "from-file"\n')
    env = _env(tmp_path, CRS_URL="http://env:2", CRS_API_KEY="from-env")
    flags = resolve(url="http://flag:3", key="from-flag", environ=env, cwd=tmp_path)
    assert (flags.url, flags.key, flags.key_source) == ("http://flag:3", "from-flag", "--key")
    by_env = resolve(environ=env, cwd=tmp_path)
    assert (by_env.url, by_env.key, by_env.key_source) == (
        "http://env:2",
        "from-env",
        "CRS_API_KEY",
    )
    by_file = resolve(environ=_env(tmp_path), cwd=tmp_path)
    assert (by_file.url, by_file.key) == ("http://file:1", "from-file")


def test_resolve_finds_local_key_in_a_parent_folder(tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "local-api-key").write_text("crs_local\n")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    found = resolve(environ=_env(tmp_path), cwd=deep)
    assert (found.url, found.key) == (DEFAULT_URL, "crs_local")
    assert found.key_source == str(tmp_path / "var" / "local-api-key")


def test_resolve_finds_the_local_runs_url_beside_its_key(tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "local-api-key").write_text("crs_local\n")
    (tmp_path / "var" / "local-api-url").write_text("http://127.0.0.1:8123\n")
    deep = tmp_path / "a"
    deep.mkdir()
    found = resolve(environ=_env(tmp_path), cwd=deep)
    assert (found.url, found.key) == ("http://127.0.0.1:8123", "crs_local")
    # CRS_URL still wins.
    env = {**_env(tmp_path), "CRS_URL": "http://elsewhere:1"}
    assert resolve(environ=env, cwd=deep).url == "http://elsewhere:1"


def test_resolve_without_any_key_names_every_way_to_give_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        resolve(environ=_env(tmp_path), cwd=tmp_path)
    message = str(error.value)
    assert "--key" in message and "CRS_API_KEY" in message and "config.toml" in message
    assert "\n" not in message


def test_resolve_refuses_unknown_setting_in_config_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('uri = "http://typo"\n')
    with pytest.raises(ConfigError, match="unknown setting 'uri'"):
        resolve(environ=_env(tmp_path), cwd=tmp_path)


def test_resolve_reports_malformed_config_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("url = \n")
    with pytest.raises(ConfigError, match="cannot read the config file"):
        resolve(environ=_env(tmp_path), cwd=tmp_path)
