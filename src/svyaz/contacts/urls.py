"""Placeholder routes: the owner of this app replaces them with real views."""

from django.http import HttpResponse
from django.urls import path

app_name = "contacts"


def _todo(request, *args, **kwargs):
    return HttpResponse("todo")


urlpatterns = [
    path("contact-list/", _todo, name="contact_list"),
    path("contact-create/", _todo, name="contact_create"),
    path("contact-detail/<int:pk>/", _todo, name="contact_detail"),
    path("contact-edit/<int:pk>/", _todo, name="contact_edit"),
    path("company-list/", _todo, name="company_list"),
    path("company-create/", _todo, name="company_create"),
    path("company-detail/<int:pk>/", _todo, name="company_detail"),
    path("company-edit/<int:pk>/", _todo, name="company_edit"),
]
