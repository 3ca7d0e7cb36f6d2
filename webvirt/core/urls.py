from django.contrib.auth.decorators import login_not_required
from django.urls import path
from django.views.i18n import JavaScriptCatalog

from . import views

app_name = "core"
urlpatterns = [
    path("operations/", views.operation_list, name="operations"),
    path("operations/<id:pk>/", views.operation_detail, name="operation"),
    path("operations/mine/", views.task_pane, name="task-pane"),
    path("audit/", views.audit_log, name="audit"),
    # The scripts' strings in the page's language (static/webvirt/*.js call gettext()).
    path("jsi18n/", login_not_required(JavaScriptCatalog.as_view()), name="javascript-catalog"),
]
