"""``Authorization: Token <key>``; the keyword ``JWT`` is accepted the same way.

The official client switches to ``JWT <key>`` for keys of 70 characters or more
(API_CONTRACT.md §0.2), so both keywords resolve to the same hashed API token.

A token found is remembered by this process for ``TOKEN_CACHE_SECONDS``: a prediction should not
pay a database read to learn what it learnt a moment ago. Revoking a token, or changing or
deleting a user, forgets every remembered token in the process that did it at once (the signals
below); another API process honours it within ``TOKEN_CACHE_SECONDS``. Expiry is checked on every
request from the remembered token.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from rest_framework import authentication, exceptions

from ximilar_platform.accounts.models import ApiToken, hash_token_key

KEYWORDS = {b"token", b"jwt"}
LAST_USED_RESOLUTION = timedelta(minutes=5)

_known: dict[str, tuple[float, ApiToken]] = {}  # key hash -> (when it was read, the token with its user)


def find_token(key_hash: str) -> ApiToken | None:
    """The token with its user, from this process's memory while fresh, else from the database."""
    now = time.monotonic()
    known = _known.get(key_hash)
    if known is not None and now - known[0] < settings.TOKEN_CACHE_SECONDS:
        return known[1]
    token = ApiToken.objects.select_related("user").filter(key_hash=key_hash).first()
    if token is not None and settings.TOKEN_CACHE_SECONDS > 0:
        _known[key_hash] = (now, token)
    return token


def forget_tokens(**_: object) -> None:
    """A token or user changed in this process: read every token again."""
    _known.clear()


post_save.connect(forget_tokens, sender=ApiToken, dispatch_uid="forget-tokens-saved")
post_delete.connect(forget_tokens, sender=ApiToken, dispatch_uid="forget-tokens-deleted")
post_save.connect(forget_tokens, sender=get_user_model(), dispatch_uid="forget-tokens-user-saved")
post_delete.connect(forget_tokens, sender=get_user_model(), dispatch_uid="forget-tokens-user-deleted")


class ApiTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() not in KEYWORDS:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header: expected 'Token <key>'.")
        try:
            key = parts[1].decode()
        except UnicodeError as error:
            raise exceptions.AuthenticationFailed("Invalid token header.") from error
        token = find_token(hash_token_key(key))
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if token.expired:
            raise exceptions.AuthenticationFailed("Token expired; issue a new one (account/v2/token).")
        now = timezone.now()
        if token.last_used is None or now - token.last_used > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used=now)  # an update: no signal, the token stays known
            token.last_used = now
        return token.user, token

    def authenticate_header(self, request) -> str:
        return "Token"
