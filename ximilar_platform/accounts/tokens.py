"""Issuing, listing and revoking a user's API tokens, for the API and ``manage.py api_token`` alike.

A request's token is looked up in the database at most every ``TOKEN_CACHE_SECONDS`` per process
(`authentication`); revoking one forgets it at once in the process that revokes it, so a revoked or
expired token is refused there from the next request on and by every other process within that time.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework.exceptions import NotFound, ValidationError

from ximilar_platform.accounts.models import ApiToken

MAX_TOKENS_PER_USER = 100  # a listing stays one page; a leaked script cannot mint tokens without end
MAX_EXPIRES_IN_DAYS = 3650


def tokens_of(user: AbstractBaseUser) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)


def issue_token(*, user: AbstractBaseUser, name: str = "", expires_in_days: int | None = None) -> tuple[ApiToken, str]:
    """A new token and its key, which is shown this once; ``expires_in_days`` None: it never expires."""
    if tokens_of(user).count() >= MAX_TOKENS_PER_USER:
        raise ValidationError(f"A user has at most {MAX_TOKENS_PER_USER} tokens; revoke unused ones first.")
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRES_IN_DAYS:
        raise ValidationError(f"expires_in_days: give a number of days from 1 to {MAX_EXPIRES_IN_DAYS}.")
    expires = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    return ApiToken.issue(user, name=name, expires=expires)


def find_token(*, user: AbstractBaseUser, ref: str) -> ApiToken:
    """A user's token by id or by the prefix a listing shows; another user's token is not found."""
    tokens = tokens_of(user)
    found = list(tokens.filter(id=int(ref))) if ref.isdigit() else []
    found = found or list(tokens.filter(prefix=ref)[:2])
    if len(found) != 1:
        raise NotFound("Token not found." if not found else f"More than one token starts with '{ref}'; use its id.")
    return found[0]


def revoke_token(*, user: AbstractBaseUser, ref: str) -> ApiToken:
    """Delete the token: requests carrying it answer 401 from now on."""
    token = find_token(user=user, ref=ref)
    token.delete()
    return token
