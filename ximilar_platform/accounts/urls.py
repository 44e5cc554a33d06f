from django.urls import re_path

from ximilar_platform.accounts import views

urlpatterns = [
    re_path(r"^account/v2/user/?$", views.UserView.as_view(), name="account-user"),
    re_path(r"^account/v2/details/?$", views.UserView.as_view(), name="account-details"),
    re_path(r"^account/v2/workspace/?$", views.WorkspaceListView.as_view(), name="account-workspaces"),
    re_path(r"^account/v2/token/?$", views.TokenListView.as_view(), name="account-tokens"),
    re_path(r"^account/v2/token/(?P<ref>[0-9a-f]{1,40})/?$", views.TokenDetailView.as_view(), name="account-token"),
    re_path(r"^account/v2/usage/?$", views.UsageView.as_view(), name="account-usage"),
    re_path(r"^account/v2/config/(?P<config_type>[\w-]+)/?$", views.ConfigView.as_view(), name="account-config"),
]
