"""The ``demo`` user of the embedded install, whose token and web password survive restarts.

Tokens and passwords are stored hashed, so the key and the password themselves are kept in
``DATA_DIR/demo_token`` and ``DATA_DIR/demo_password`` (mode 0600) to print them on every start.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.contrib.auth import get_user_model

from ximilar_platform.accounts.models import ApiToken, hash_token_key
from ximilar_platform.accounts.services import ensure_default_workspace


def ensure_demo_token(*, username: str, token_file: Path) -> str:
    user, _ = get_user_model().objects.get_or_create(username=username)
    ensure_default_workspace(user=user)
    if token_file.exists():
        key = token_file.read_text().strip()
        if ApiToken.objects.filter(user=user, key_hash=hash_token_key(key)).exists():
            return key
    _, key = ApiToken.issue(user, name="demo")
    _write_secret(token_file, key)
    return key


def ensure_demo_password(*, username: str, password_file: Path) -> str:
    """The web app password of the demo user: the kept one while it still signs in, else a new one."""
    user, _ = get_user_model().objects.get_or_create(username=username)
    if password_file.exists():
        password = password_file.read_text().strip()
        if password and user.check_password(password):
            return password
    password = secrets.token_urlsafe(12)
    user.set_password(password)
    user.save(update_fields=["password"])
    _write_secret(password_file, password)
    return password


def _write_secret(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
