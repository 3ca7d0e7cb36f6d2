from django.urls import path

from . import views

app_name = "lifecycle"
urlpatterns = [
    path("", views.lease_list, name="leases"),
    path("guests/<id:pk>/renew/", views.renew, name="renew"),
    path("guests/<id:pk>/power-schedule/", views.guest_schedule, name="guest-schedule"),
    path("guests/<id:pk>/power-schedule/exemption/", views.guest_exemption, name="guest-exemption"),
    path("teams/", views.team_schedules, name="team-schedules"),
    path("teams/<id:pk>/", views.team_schedules, name="team-schedule"),
    path("hosts/<id:pk>/apply-terms/", views.apply_terms, {"kind": "host"}, name="apply-host-terms"),
    path("teams/<id:pk>/apply-terms/", views.apply_terms, {"kind": "team"}, name="apply-team-terms"),
]
