"""Placeholder routes: the owner of this app replaces them with real views."""

from django.http import HttpResponse
from django.urls import path

app_name = "followups"


def _todo(request, *args, **kwargs):
    return HttpResponse("todo")


urlpatterns = [
    path("my-day/", _todo, name="my_day"),
    path("task-list/", _todo, name="task_list"),
    path("followup-create/", _todo, name="followup_create"),
    path("followup-complete/<int:pk>/", _todo, name="followup_complete"),
    path("notifications/", _todo, name="notifications"),
]
