from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import language, oidc, views

app_name = "accounts"
urlpatterns = [
    path("account/", views.account, name="account"),
    path("language/", language.set_language, name="language"),
    path("account/two-factor/", views.two_factor_page, name="two-factor"),
    path("login/oidc/", oidc.start, name="oidc-start"),
    path("login/oidc/callback/", oidc.callback, name="oidc-callback"),
    path("login/verify/", views.two_factor_verify, name="two-factor-verify"),
    path("account/keys/<id:pk>/delete/", views.ssh_key_delete, name="ssh-key-delete"),
    path("account/tokens/<id:pk>/revoke/", views.token_revoke, name="token-revoke"),
    path(
        "account/password/",
        auth_views.PasswordChangeView.as_view(
            template_name="accounts/password_change.html", success_url=reverse_lazy("accounts:account")
        ),
        name="password",
    ),
    path("users/", views.user_list, name="users"),
    path("users/<id:pk>/", views.user_detail, name="user"),
    path("users/<id:pk>/<slug:action>/", views.user_action, name="user-action"),
    path("teams/", views.team_list, name="teams"),
    path("teams/<id:pk>/", views.team_list, name="team"),
    path("publish/<slug:kind>/<id:pk>/", views.publish, name="publish"),
]
