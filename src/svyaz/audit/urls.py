from django.urls import path

from svyaz.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.audit_list, name="list"),
    path("<str:entity>/<int:pk>/", views.audit_record, name="record"),
]
