"""/api/v1/: each app's resources on one router, under the `api` namespace."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny
from rest_framework.routers import APIRootView, DefaultRouter

from webvirt.accounts.api.views import MeView, TeamViewSet, TokenViewSet, UserViewSet
from webvirt.backups.api.views import BackupViewSet
from webvirt.consoles.api.views import ConsoleTicketView
from webvirt.core.api.views import AuditEventViewSet, OperationViewSet
from webvirt.core.middleware import allow_inline_styles
from webvirt.guests.api.views import FlavorViewSet, GuestViewSet
from webvirt.hosts.api.views import HostViewSet
from webvirt.lifecycle.api.views import (
    ApplyTermsView,
    GuestExemptionsView,
    GuestExemptionView,
    GuestPowerScheduleView,
    LeaseView,
    TeamPowerScheduleView,
)
from webvirt.metrics.api.views import GuestMetricsView, HostMetricsView
from webvirt.networks.api.views import NetworkViewSet
from webvirt.storage.api.views import PoolViewSet, VolumeViewSet
from webvirt.usage.api.views import UsageView

app_name = "api"


class ApiRoot(APIRootView):
    """webvirt's REST API. Authenticate with a personal token (`Authorization: Bearer wvt_…`) or a
    browser session; the schema is at /api/schema/ and browsable docs at /api/docs/."""

    name = "webvirt API"

    @classmethod
    def as_view(cls, *args, **kwargs):
        return login_not_required(super().as_view(*args, **kwargs))


router = DefaultRouter(use_regex_path=False)
router.APIRootView = ApiRoot
router.include_format_suffixes = False  # `?format=` is enough; suffixes would double every route
router.register("hosts", HostViewSet, basename="host")
router.register("guests", GuestViewSet, basename="guest")
router.register("flavors", FlavorViewSet, basename="flavor")
router.register("pools", PoolViewSet, basename="pool")
router.register("volumes", VolumeViewSet, basename="volume")
router.register("networks", NetworkViewSet, basename="network")
router.register("backups", BackupViewSet, basename="backup")
router.register("operations", OperationViewSet, basename="operation")
router.register("audit", AuditEventViewSet, basename="audit")
router.register("users", UserViewSet, basename="user")
router.register("teams", TeamViewSet, basename="team")
router.register("tokens", TokenViewSet, basename="token")

urlpatterns = [
    path("me/", MeView.as_view(), name="me"),
    path("guests/<id:pk>/console/<str:kind>/", ConsoleTicketView.as_view(), name="guest-console"),
    path("guests/<id:pk>/metrics/", GuestMetricsView.as_view(), name="guest-metrics"),
    path("guests/<id:pk>/lease/", LeaseView.as_view(), name="guest-lease"),
    path("guests/<id:pk>/power-schedule/", GuestPowerScheduleView.as_view(), name="guest-power-schedule"),
    path("guests/<id:pk>/power-schedule/exemptions/", GuestExemptionsView.as_view(), name="guest-schedule-exemptions"),
    path(
        "guests/<id:pk>/power-schedule/exemptions/<id:team>/",
        GuestExemptionView.as_view(),
        name="guest-schedule-exemption",
    ),
    path("teams/<id:pk>/power-schedule/", TeamPowerScheduleView.as_view(), name="team-power-schedule"),
    path("hosts/<id:pk>/lease-terms/apply/", ApplyTermsView.as_view(kind="host"), name="host-apply-lease-terms"),
    path("teams/<id:pk>/lease-terms/apply/", ApplyTermsView.as_view(kind="team"), name="team-apply-lease-terms"),
    path("hosts/<id:pk>/metrics/", HostMetricsView.as_view(), name="host-metrics"),
    path("usage/", UsageView.as_view(), name="usage"),
    *router.urls,
]

# The schema and its docs are public (they describe, they hold no data), so tools can read them.
docs_urlpatterns = [
    path("schema/", login_not_required(SpectacularAPIView.as_view(permission_classes=[AllowAny])), name="schema"),
    path(
        "docs/",
        login_not_required(
            allow_inline_styles(
                SpectacularSwaggerSplitView.as_view(url_name="api-docs:schema", permission_classes=[AllowAny])
            )
        ),
        name="docs",
    ),
]
