"""Who gets an incoming request: assignment rules, working hours, load and the SLA."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from svyaz.intake.models import ResponseSla, RoutingGroup, RoutingMember, RoutingStrategy
from svyaz.intake.regions import language_matches, region_matches

# A channel without its own SLA row still gets a first-response task: an hour.
DEFAULT_SLA_MINUTES = 60


def company_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _parse_time(value: str) -> time:
    hours, _sep, minutes = str(value).partition(":")
    return time(int(hours), int(minutes or 0))


def in_working_hours(windows: list, when: datetime) -> bool:
    """`windows`: [[weekday, "HH:MM", "HH:MM"], …] in the company zone; empty = always.
    A window ending before it starts runs past midnight (a night shift)."""
    if not windows:
        return True
    local = timezone.localtime(when, company_tz())
    moment = local.time()
    for window in windows:
        try:
            weekday, start, end = int(window[0]), _parse_time(window[1]), _parse_time(window[2])
        except (TypeError, ValueError, IndexError):
            continue
        if start <= end:
            if local.weekday() == weekday and start <= moment < end:
                return True
        else:
            if local.weekday() == weekday and moment >= start:
                return True
            if (local.weekday() - 1) % 7 == weekday and moment < end:
                return True
    return False


def working_hours_errors(windows) -> list[str]:
    """Messages for a malformed working-hours list (used by the admin form)."""
    if not isinstance(windows, list):
        return [_("Enter a list of [weekday, from, to] windows.")]
    errors = []
    for window in windows:
        try:
            weekday = int(window[0])
            _parse_time(window[1])
            _parse_time(window[2])
            if not 0 <= weekday <= 6 or len(window) != 3:
                raise ValueError
        except (TypeError, ValueError, IndexError):
            errors.append(_("“%(w)s” is not [weekday 0–6, “HH:MM”, “HH:MM”].") % {"w": window})
    return errors


def visitor_matches(group: RoutingGroup, *, region: str = "", language: str = "") -> bool:
    """The rule's region and language conditions (empty = any). A rule asking for a
    region or a language does not take a request whose region/language is unknown."""
    return region_matches(group.regions or [], region) and language_matches(
        group.languages or [], language
    )


def rule_matches(
    group: RoutingGroup, *, channel: str, source: str, region: str = "", language: str = ""
) -> bool:
    if group.channels and channel not in group.channels:
        return False
    if group.sources and source not in group.sources:
        return False
    return visitor_matches(group, region=region, language=language)


def group_for(
    *, channel: str, source: str, region: str = "", language: str = ""
) -> RoutingGroup | None:
    """The first active rule whose conditions (empty = any) all match; a rule that does
    not match lets the request fall through to the next one."""
    for group in RoutingGroup.objects.filter(active=True).order_by("position", "id"):
        if rule_matches(group, channel=channel, source=source, region=region, language=language):
            return group
    return None


def member_loads(user_ids: list[int]) -> dict[int, int]:
    """Open leads owned + open follow-ups assigned, per user: two grouped queries."""
    from svyaz.followups.models import Followup, FollowupStatus
    from svyaz.sales.models import Lead, LeadStatus

    loads = dict.fromkeys(user_ids, 0)
    leads = (
        Lead.objects.filter(
            owner_id__in=user_ids, status__in=[LeadStatus.NEW, LeadStatus.IN_PROGRESS]
        )
        .values("owner_id")
        .annotate(n=Count("pk"))
    )
    for row in leads:
        loads[row["owner_id"]] += row["n"]
    tasks = (
        Followup.objects.filter(assignee_id__in=user_ids, status=FollowupStatus.OPEN)
        .values("assignee_id")
        .annotate(n=Count("pk"))
    )
    for row in tasks:
        loads[row["assignee_id"]] += row["n"]
    return loads


def _fallback_user():
    """No rule matches: the first active superuser gets it, so nothing is left unassigned."""
    user = get_user_model().objects.filter(is_active=True, is_superuser=True).order_by("pk").first()
    if user is None:
        raise ValidationError(_("No routing rule matches and there is no administrator."))
    return user


@transaction.atomic
def route_assign(
    *,
    channel: str,
    source: str,
    now: datetime | None = None,
    group=None,
    region: str = "",
    language: str = "",
):
    """The manager for a new request from `channel`/`source`/`region`/`language` (or from
    `group` when given: a form's, a line's or a mailbox's own rule. It serves every
    request of its channel, but when it asks for a region or a language the request
    doesn't have, the request falls through to the ordered rules).

    Round-robin takes the next member after the last one served; least-loaded the member
    with the fewest open leads + open follow-ups (ties: the next in round-robin order).
    Only members in working hours are candidates; when none is, the group's fallback user
    (else the next member regardless of hours). The rule's row is locked while choosing,
    so concurrent requests take distinct turns."""
    now = now or timezone.now()
    if group is not None and not visitor_matches(group, region=region, language=language):
        group = None
    if group is None:
        group = group_for(channel=channel, source=source, region=region, language=language)
    if group is None:
        return _fallback_user()
    group = RoutingGroup.objects.select_for_update().get(pk=group.pk)
    members = list(
        RoutingMember.objects.filter(group=group, user__is_active=True)
        .select_related("user")
        .order_by("position", "id")
    )
    if not members:
        if group.fallback_user_id and group.fallback_user.is_active:
            return group.fallback_user
        return _fallback_user()
    # Round-robin order: the members after the cursor first, then from the start.
    last = next((i for i, m in enumerate(members) if m.pk == group.cursor), -1)
    order = members[last + 1 :] + members[: last + 1]
    on_duty = [m for m in order if in_working_hours(m.working_hours or group.working_hours, now)]
    if not on_duty:
        if group.fallback_user_id and group.fallback_user.is_active:
            return group.fallback_user
        on_duty = order
    chosen = on_duty[0]
    if group.strategy == RoutingStrategy.LEAST_LOADED:
        loads = member_loads([m.user_id for m in on_duty])
        chosen = min(on_duty, key=lambda m: loads[m.user_id])  # min keeps the first of ties
    RoutingGroup.objects.filter(pk=group.pk).update(cursor=chosen.pk)
    return chosen.user


def sla_minutes(channel: str) -> int:
    row = ResponseSla.objects.filter(channel=channel).first()
    return row.minutes if row else DEFAULT_SLA_MINUTES


def sla_due(channel: str, received_at: datetime) -> datetime:
    return received_at + timedelta(minutes=sla_minutes(channel))
