from django.urls import path

from svyaz.core import views

app_name = "core"


urlpatterns = [
    path("search/", views.search, name="search"),
    path("timeline/", views.timeline, name="timeline"),
    path("lists/<slug:entity>/bulk/", views.bulk, name="bulk"),
    path("lists/<slug:entity>/views/", views.saved_view_create, name="saved_view_create"),
    path("lists/views/<int:pk>/delete/", views.saved_view_delete, name="saved_view_delete"),
]

# Recycle bin (issue #3)
from svyaz.core import recycle_views  # noqa: E402

urlpatterns += [
    path("recycle-bin/", recycle_views.recycle_bin, name="recycle_bin"),
    path(
        "recycle-bin/<slug:entity>/<int:pk>/restore/",
        recycle_views.recycle_restore,
        name="recycle_restore",
    ),
]
