from django.urls import path

from svyaz.intake import views

app_name = "intake"

urlpatterns = [
    path("f/<slug:key>/", views.form_submit, name="form_submit"),
    path("calls/<slug:provider>/", views.call_event, name="call_event"),
    path("forms/", views.form_list, name="form_list"),
    path("forms/<int:pk>/", views.form_snippet, name="form_snippet"),
]
