from django.urls import path

from . import create_views, tree, views

app_name = "guests"
urlpatterns = [
    path("", views.guest_list, name="list"),
    path("new/", create_views.guest_create, name="create"),
    path("selected/", views.guest_bulk, name="bulk"),
    path("tree/", tree.tree, name="tree"),
    path("flavors/", create_views.flavor_list, name="flavors"),
    path("flavors/<id:pk>/delete/", create_views.flavor_delete, name="flavor-delete"),
    path("<id:pk>/", views.guest_detail, name="detail"),
    path("<id:pk>/power/<slug:action>/", views.guest_power, name="power"),
    path("<id:pk>/delete/", views.guest_delete, name="delete"),
    path("<id:pk>/change/<slug:what>/", views.guest_change, name="change"),
    path("<id:pk>/migrate/", views.guest_migrate, name="migrate"),
    path("<id:pk>/migration/cancel/", views.migration_cancel, name="migration-cancel"),
    path("<id:pk>/snapshots/<id:snapshot_id>/revert/", views.snapshot_revert, name="snapshot-revert"),
    path("<id:pk>/access/", views.guest_access, name="access"),
    path("<id:pk>/xml/", views.guest_xml, name="xml"),
]
