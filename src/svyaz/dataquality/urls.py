from django.urls import path

from svyaz.dataquality import merge_views, views
from svyaz.dataquality.dedup import views as dedup_views

app_name = "dataquality"

urlpatterns = [
    path("imports/", views.import_list, name="import_list"),
    path("imports/new/", views.import_upload, name="import_upload"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/mapping/", views.import_mapping, name="import_mapping"),
    path("imports/<int:pk>/preview/", views.import_preview, name="import_preview"),
    path("imports/<int:pk>/run/", views.import_run, name="import_run"),
    path("imports/<int:pk>/resume/", views.import_resume, name="import_resume"),
    path("imports/<int:pk>/undo/", views.import_undo, name="import_undo"),
    path("imports/<int:pk>/errors.csv", views.import_errors_csv, name="import_errors_csv"),
    path("contacts/<int:pk>/vcard/", views.contact_vcard, name="contact_vcard"),
    path("contacts/vcard/", views.contacts_vcard_export, name="contacts_vcard"),
    path("quality/", views.quality, name="quality"),
    path("merge/", merge_views.merge_page, name="merge"),
    path("merges/", merge_views.merge_list_page, name="merge_list"),
    path("merges/<int:pk>/undo/", merge_views.merge_undo_view, name="merge_undo"),
    # duplicate finder (dataquality/dedup/)
    path("duplicates/", dedup_views.duplicate_list, name="duplicates"),
    path("duplicates/<int:pk>/dismiss/", dedup_views.duplicate_dismiss, name="duplicate_dismiss"),
    path("duplicates/scan/", dedup_views.duplicates_scan_now, name="duplicates_scan"),
    path("duplicates/settings/", dedup_views.dedup_settings, name="dedup_settings"),
]
