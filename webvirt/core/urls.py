from django.urls import path

from . import views

app_name = "core"
urlpatterns = [
    path("operations/", views.operation_list, name="operations"),
    path("operations/<id:pk>/", views.operation_detail, name="operation"),
    path("operations/mine/", views.task_pane, name="task-pane"),
    path("audit/", views.audit_log, name="audit"),
]
