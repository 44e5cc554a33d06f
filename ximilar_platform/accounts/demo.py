"""The ``demo`` user of the embedded install, whose token survives restarts.

Tokens are stored hashed, so the key itself is kept in ``DATA_DIR/demo_token``
(mode 0600) to print it again on every start.
"""

from __future__ import annotations

import os
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
    token_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
