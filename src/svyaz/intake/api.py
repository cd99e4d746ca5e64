urlpatterns: list = []

# --- Mailboxes (intake/mail) ---
from svyaz.intake.mail.api import router as mail_router  # noqa: E402

urlpatterns += mail_router.urls

# Messages from messengers and social networks: POST /api/v1/intake/messages/.
from svyaz.intake.chat.api import urlpatterns as chat_urlpatterns  # noqa: E402

urlpatterns += chat_urlpatterns

# Reading conversations: GET /api/v1/conversations/, /api/v1/conversations/<id>/.
from svyaz.intake.chat.api import router as chat_router  # noqa: E402

urlpatterns += chat_router.urls
