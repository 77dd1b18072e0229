"""Where the client finds the service's URL and the API key.

Each value from the first of these that has it:

1. the command line: `--url`, `--key`;
2. the environment: `CRS_URL`, `CRS_API_KEY`;
3. the config file: `$CRS_CONFIG`, else `$XDG_CONFIG_HOME/crs/config.toml`
   (`~/.config/crs/config.toml`), a TOML file such as

       url = "https://crs.example.org"
       key = "crs_..."

4. the local run (`make run`): the key in `var/local-api-key` of the current folder or the
   nearest parent that has one, and the URL in `var/local-api-url` beside it (written by the
   run; http://127.0.0.1:8000 without it).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from client.errors import CrsError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DEFAULT_URL = "http://127.0.0.1:8000"
LOCAL_KEY_FILE = Path("var") / "local-api-key"
LOCAL_URL_FILE = Path("var") / "local-api-url"
URL_VARIABLE = "CRS_URL"
KEY_VARIABLE = "CRS_API_KEY"
CONFIG_VARIABLE = "CRS_CONFIG"


class ConfigError(CrsError):
    """No key found, or an unreadable config file."""


@dataclass(frozen=True)
class Settings:
    url: str
    key: str
    key_source: str  # where the key came from, for error messages: "--key", "CRS_API_KEY", ...


def config_path(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get(CONFIG_VARIABLE):
        return Path(env[CONFIG_VARIABLE]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path("~/.config").expanduser())
    return Path(base) / "crs" / "config.toml"


def read_config(path: Path) -> dict[str, Any]:
    """The config file's values; none if it does not exist."""
    try:
        with path.open("rb") as handle:
            values = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"cannot read the config file {path}: {error}") from None
    unknown = sorted(set(values) - {"url", "key"})
    if unknown:
        raise ConfigError(f"config file {path}: unknown setting {unknown[0]!r} (url, key)")
    return values


def find_local_key(start: Path | None = None, name: Path = LOCAL_KEY_FILE) -> Path | None:
    """`var/local-api-key` (or `name`) in `start` (the current folder) or its nearest parent
    with one."""
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        path = candidate / name
        if path.is_file():
            return path
    return None


def local_url(start: Path | None = None) -> str | None:
    """The URL the local run wrote beside its key, if any."""
    path = find_local_key(start, LOCAL_URL_FILE)
    if path is None:
        return None
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def resolve_url(*, url: str | None = None, cwd: Path | None = None) -> str:
    """The URL alone (no key needed), from the same sources as `resolve`."""
    file = read_config(config_path())
    return str(
        url or os.environ.get(URL_VARIABLE) or file.get("url") or local_url(cwd) or DEFAULT_URL
    )


def resolve(
    *,
    url: str | None = None,
    key: str | None = None,
    environ: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """The URL and key to use, from the sources above in order."""
    env = dict(os.environ) if environ is None else environ
    path = config_path(env)
    file = read_config(path)
    found_url = url or env.get(URL_VARIABLE) or file.get("url") or local_url(cwd) or DEFAULT_URL
    if key:
        return Settings(str(found_url), key, "--key")
    if env.get(KEY_VARIABLE):
        return Settings(str(found_url), env[KEY_VARIABLE], KEY_VARIABLE)
    if file.get("key"):
        return Settings(str(found_url), str(file["key"]), str(path))
    local = find_local_key(cwd)
    if local is not None:
        text = local.read_text().strip()
        if text:
            return Settings(str(found_url), text, str(local))
    raise ConfigError(
        f'no API key: pass --key, set {KEY_VARIABLE}, put key = "..." in {path}, '
        f"or run from the folder of `make run` (it keeps {LOCAL_KEY_FILE})"
    )
