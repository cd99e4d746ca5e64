from django.urls import path

from svyaz.intake import views

app_name = "intake"

urlpatterns = [
    path("f/<slug:key>/", views.form_submit, name="form_submit"),
    path("calls/<slug:provider>/", views.call_event, name="call_event"),
    path("forms/", views.form_list, name="form_list"),
    path("forms/<int:pk>/", views.form_snippet, name="form_snippet"),
]

# --- Mailboxes (intake/mail) ---
from svyaz.intake.mail import views as mail_views  # noqa: E402

urlpatterns += [
    path("mail/", mail_views.mail_settings, name="mail_settings"),
    path("mail/mailboxes/new/", mail_views.mailbox_edit, name="mailbox_create"),
    path("mail/mailboxes/<int:pk>/", mail_views.mailbox_edit, name="mailbox_edit"),
    path("mail/mailboxes/<int:pk>/poll/", mail_views.mailbox_poll_now, name="mailbox_poll"),
    path("mail/templates/new/", mail_views.email_template_edit, name="email_template_create"),
    path("mail/templates/<int:pk>/", mail_views.email_template_edit, name="email_template_edit"),
    path("mail/quarantine/", mail_views.mail_quarantine, name="mail_quarantine"),
    path(
        "mail/quarantine/<int:pk>/<slug:action>/",
        mail_views.mail_quarantine_action,
        name="mail_quarantine_action",
    ),
    path(
        "mail/quarantine/<int:pk>.eml", mail_views.mail_quarantine_raw, name="mail_quarantine_raw"
    ),
    path("mail/write/", mail_views.mail_compose, name="mail_compose"),
    path("mail/<int:pk>/", mail_views.mail_thread, name="mail_thread"),
    path("mail/attachments/<int:pk>/", mail_views.mail_attachment, name="mail_attachment"),
    path("mail/contact/<int:pk>/", mail_views.mail_contact_card, name="mail_contact_card"),
]

# --- Messages and the website chat (intake/chat) ---
from svyaz.intake.chat import views as chat_views  # noqa: E402

urlpatterns += [
    path("chat/widget.js", chat_views.widget_js, name="chat_widget_js"),
    path("chat/w/<slug:key>/", chat_views.widget_config, name="chat_widget_config"),
    path("chat/w/<slug:key>/start/", chat_views.widget_start, name="chat_start"),
    path("chat/w/<slug:key>/send/", chat_views.widget_send, name="chat_send"),
    path("chat/w/<slug:key>/messages/", chat_views.widget_messages, name="chat_poll"),
    path("chats/", chat_views.chat_list, name="chat_list"),
    path("chats/widgets/", chat_views.chat_widgets, name="chat_widgets"),
    path("chats/<int:pk>/", chat_views.chat_detail, name="chat_detail"),
    path("chats/<int:pk>/messages/", chat_views.chat_messages, name="chat_messages"),
    path("chats/<int:pk>/reply/", chat_views.chat_reply, name="chat_reply"),
    path("chats/<int:pk>/close/", chat_views.chat_close, name="chat_close"),
]
