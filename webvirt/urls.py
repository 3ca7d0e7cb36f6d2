from django.contrib.auth import views as auth_views
from django.urls import include, path

from webvirt.accounts.views import SignInView
from webvirt.api_urls import docs_urlpatterns
from webvirt.dashboard.views import dashboard

urlpatterns = [
    path("", dashboard, name="home"),
    path("login/", SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("guests/", include("webvirt.guests.urls")),
    path("guests/", include("webvirt.consoles.urls")),
    path("hosts/", include("webvirt.hosts.urls")),
    path("hosts/", include("webvirt.storage.urls")),
    path("hosts/", include("webvirt.networks.urls")),
    path("metrics/", include("webvirt.metrics.urls")),
    path("usage/", include("webvirt.usage.urls")),
    path("backups/", include("webvirt.backups.urls")),
    path("leases/", include("webvirt.lifecycle.urls")),
    path("", include("webvirt.core.urls")),
    path("", include("webvirt.accounts.urls")),
    path("api/v1/", include("webvirt.api_urls")),
    path("api/", include((docs_urlpatterns, "api-docs"))),
]

handler400 = "webvirt.core.api.errors.bad_request"
handler403 = "webvirt.core.api.errors.forbidden"
handler404 = "webvirt.core.api.errors.not_found"
handler500 = "webvirt.core.api.errors.server_error"
