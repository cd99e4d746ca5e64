import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "svyaz.settings")
application = get_wsgi_application()

from svyaz.core.runtime import freeze_startup_objects  # noqa: E402

# Start-up objects out of the garbage collector's full walks (see svyaz.core.runtime).
freeze_startup_objects()
