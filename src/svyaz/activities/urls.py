"""Placeholder routes: the owner of this app replaces them with real views."""

from django.http import HttpResponse
from django.urls import path

app_name = "activities"


def _todo(request, *args, **kwargs):
    return HttpResponse("todo")


urlpatterns = [
    path("activity-create/", _todo, name="activity_create"),
    path("activity-list/", _todo, name="activity_list"),
]
