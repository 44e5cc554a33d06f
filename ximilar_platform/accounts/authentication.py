"""``Authorization: Token <key>``; the keyword ``JWT`` is accepted the same way.

The official client switches to ``JWT <key>`` for keys of 70 characters or more
(API_CONTRACT.md §0.2), so both keywords resolve to the same hashed API token.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from ximilar_platform.accounts.models import ApiToken, hash_token_key

KEYWORDS = {b"token", b"jwt"}
LAST_USED_RESOLUTION = timedelta(minutes=5)


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
        token = ApiToken.objects.select_related("user").filter(key_hash=hash_token_key(key)).first()
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if token.expired:
            raise exceptions.AuthenticationFailed("Token expired; issue a new one (account/v2/token).")
        now = timezone.now()
        if token.last_used is None or now - token.last_used > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used=now)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return "Token"
