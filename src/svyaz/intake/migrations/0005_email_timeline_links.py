"""Timeline entries of emails imported or sent before now get the email's id (data.email),
so the timeline links them to their thread page like new ones."""

from django.db import migrations


def link(apps, schema_editor):
    EmailMessage = apps.get_model("intake", "EmailMessage")
    TimelineEntry = apps.get_model("core", "TimelineEntry")
    pairs = EmailMessage.objects.filter(activity__isnull=False).values_list("activity_id", "pk")
    email_of: dict[int, int] = {}
    for activity_id, pk in pairs.order_by("pk").iterator(chunk_size=2000):
        email_of[activity_id] = pk
        if len(email_of) >= 1000:
            _update(TimelineEntry, email_of)
            email_of = {}
    _update(TimelineEntry, email_of)


def _update(TimelineEntry, email_of):  # noqa: N803 - the historical model
    if not email_of:
        return
    entries = TimelineEntry.objects.filter(object_type="activity", object_id__in=list(email_of))
    for entry in entries.only("pk", "object_id", "data"):
        pk = email_of[entry.object_id]
        if (entry.data or {}).get("email") != pk:
            entry.data = {**(entry.data or {}), "email": pk}
            entry.save(update_fields=["data"])


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0004_routing_region_language"),
        ("core", "0004_outboxmessage"),
    ]

    operations = [migrations.RunPython(link, migrations.RunPython.noop)]
