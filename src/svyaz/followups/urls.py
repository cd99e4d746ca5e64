from django.urls import path

from svyaz.followups import views

app_name = "followups"

urlpatterns = [
    path("my-day/", views.my_day, name="my_day"),
    path("", views.task_list, name="task_list"),
    path("new/", views.followup_create, name="followup_create"),
    path("<int:pk>/", views.followup_edit, name="followup_edit"),
    path("<int:pk>/complete/", views.followup_complete, name="followup_complete"),
    path("<int:pk>/cancel/", views.followup_cancel, name="followup_cancel"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification_read"),
    path("notifications/read-all/", views.notifications_read_all, name="notifications_read_all"),
]
