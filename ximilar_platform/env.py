"""Typed readers of environment variables: the only module that reads ``os.environ``.

Every setting is an environment variable of the same name with an embedded default,
so the service boots from a bare checkout (healthchecks' ``hc/settings.py`` style).
``NAME_FILE`` may point to a file holding a secret (Docker secrets).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_secret(name: str, default: str = "") -> str:
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def env_rate(name: str, default: str) -> str:
    """A request rate ``"<n>/<second|minute|hour|day>"`` (DRF's form); set but empty: no limit."""
    value = os.environ.get(name, default).strip()
    count, _, period = value.partition("/")
    if value and not (count.isdigit() and period[:1] in {"s", "m", "h", "d"}):
        raise ValueError(f"{name} must look like '100/minute' (or be empty for no limit), not {value!r}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def persisted_secret(path: Path) -> str:
    """Return the secret stored in ``path``, creating it on first use.

    A fresh install then gets a random key that survives restarts instead of a
    well-known default key. The key is written to a private file first and linked
    into place, so processes that start together (gunicorn workers) never read a
    file that exists but is still empty.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return path.read_text().strip()
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(50))
    try:
        os.link(draft, path)  # atomic, and refuses to replace a key another process linked first
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text().strip()
