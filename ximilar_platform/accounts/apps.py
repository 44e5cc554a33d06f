from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "ximilar_platform.accounts"
    label = "accounts"
