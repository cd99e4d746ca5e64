"""The one path from "something came in" to a lead with an owner and a first-response task.

Used by web forms and telephony (later: mailboxes, chat)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from svyaz.audit.context import audit_source
from svyaz.audit.services import record_bulk
from svyaz.contacts.services import contact_find_duplicates
from svyaz.core.models import TimelineKind
from svyaz.core.scoping import can_see
from svyaz.core.timeline import timeline_add
from svyaz.followups.models import FollowupKind, Priority
from svyaz.followups.services import followup_create
from svyaz.intake.models import LeadIntake
from svyaz.intake.regions import normalize_language, normalize_region_code, region_from_phone
from svyaz.intake.routing import route_assign, sla_due
from svyaz.sales.models import Lead
from svyaz.sales.services import lead_create

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


def find_existing_contact(*, phone: str = "", email: str = ""):
    """The existing contact with this phone (any format) or email, or None."""
    phones = [phone] if phone else []
    emails = [email] if email else []
    if not phones and not emails:
        return None
    return contact_find_duplicates(phones=phones, emails=emails).first()


@audit_source("automation")
@transaction.atomic
def intake_lead_create(
    *,
    channel: str,
    source: str,
    received_at: datetime,
    title: str,
    fields: dict[str, Any],
    custom: dict | None = None,
    utm: dict | None = None,
    referrer: str = "",
    landing_page: str = "",
    routing_group=None,
    followup_title: str = "",
    region: str | None = None,
    language: str = "",
) -> Lead:
    """Create the lead, link an existing contact (never a second one), route it and
    give the manager a "First response" task due at received + the channel's SLA.

    `region`: the request's region code (svyaz.intake.regions); None = from the phone.
    `language`: the visitor's language code, "" when unknown. Both are kept on the
    lead's intake record and routing rules may ask for them."""
    utm = {k: str(v)[:128] for k, v in (utm or {}).items() if k in UTM_KEYS and v}
    if region is None:
        region = region_from_phone(fields.get("phone", ""))
    region = normalize_region_code(region) or ""
    language = normalize_language(language)
    existing = find_existing_contact(phone=fields.get("phone", ""), email=fields.get("email", ""))
    if existing is not None and existing.owner_id and existing.owner.is_active:
        manager = existing.owner
    else:
        manager = route_assign(
            channel=channel,
            source=source,
            group=routing_group,
            region=region,
            language=language,
        )
    lead = lead_create(
        actor=manager,
        owner=manager,
        title=title,
        custom=custom,
        source=source,
        channel=channel,
        utm_source=utm.get("utm_source", ""),
        utm_medium=utm.get("utm_medium", ""),
        utm_campaign=utm.get("utm_campaign", ""),
        **fields,
    )
    if existing is not None:
        # lead_create/lead_update take no contact: the link is intake's to make, once.
        Lead.objects.filter(pk=lead.pk).update(contact=existing)
        record_bulk([lead], changes={"contact": existing})  # update() sends no signals
        lead.contact = existing
        timeline_add(
            kind=TimelineKind.LEAD,
            title=_("Lead from an existing client: %(title)s") % {"title": lead.title},
            actor=manager,
            obj=lead,
            contact=existing,
        )
    due = sla_due(channel, received_at)
    followup = followup_create(
        actor=manager,
        assignee=manager,
        kind=FollowupKind.TASK,
        priority=Priority.HIGH,
        title=(followup_title or _("First response: %(title)s") % {"title": lead.title})[:255],
        # Follow-ups link contacts, companies and deals, not leads: the card's address
        # in the description is the way from My day to the lead.
        description=_("New lead (%(channel)s): %(url)s")
        % {
            "channel": lead.get_channel_display(),
            "url": settings.SVYAZ_SITE_URL + reverse("sales:lead_detail", args=[lead.pk]),
        },
        due_at=due,
        contact=existing if existing is not None and can_see(manager, existing) else None,
    )
    LeadIntake.objects.create(
        lead=lead,
        channel=channel,
        received_at=received_at,
        referrer=referrer[:1000],
        landing_page=landing_page[:1000],
        utm=utm,
        region=region,
        language=language,
        routed_to=manager,
        sla_due_at=due,
        first_response=followup,
        duplicate_of=existing,
    )
    return lead
