"""What each user wants to be notified of (``account/v2/notifications``, the account page)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from ximilar_platform.notifications.models import NotificationSettings


def emails_trainings(user: AbstractBaseUser) -> bool:
    """Whether the user is emailed about their trainings; yes until they say otherwise (seed 001)."""
    found = NotificationSettings.objects.filter(user=user).values_list("email_trainings", flat=True).first()
    return True if found is None else found


def set_email_trainings(*, user: AbstractBaseUser, enabled: bool) -> None:
    NotificationSettings.objects.update_or_create(user=user, defaults={"email_trainings": enabled})
