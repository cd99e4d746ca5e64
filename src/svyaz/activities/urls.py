from django.urls import path

from svyaz.activities import views

app_name = "activities"

urlpatterns = [
    path("new/", views.activity_create, name="activity_create"),
    path("", views.activity_list, name="activity_list"),
]
