from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

api_patterns = [
    path("", include("svyaz.accounts.api")),
    path("", include("svyaz.contacts.api")),
    path("", include("svyaz.sales.api")),
    path("", include("svyaz.activities.api")),
    path("", include("svyaz.followups.api")),
    path("", include("svyaz.dataquality.api")),
    path("", include("svyaz.intake.api")),
    path("", include("svyaz.audit.api")),
    path("", include("svyaz.core.api_urls")),
]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="followups:my_day", permanent=False), name="home"),
    path("accounts/", include("svyaz.accounts.urls")),
    path("settings/", include("svyaz.accounts.settings_urls")),
    path("clients/", include("svyaz.contacts.urls")),
    path("sales/", include("svyaz.sales.urls")),
    path("activities/", include("svyaz.activities.urls")),
    path("tasks/", include("svyaz.followups.urls")),
    path("data/", include("svyaz.dataquality.urls")),
    path("intake/", include("svyaz.intake.urls")),
    path("audit/", include("svyaz.audit.urls")),
    path("", include("svyaz.core.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include(api_patterns)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]
