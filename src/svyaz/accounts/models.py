from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Department(models.Model):
    """A node of the company structure (a tree)."""

    name = models.CharField(_("name"), max_length=128)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    head = models.ForeignKey(
        "accounts.User",
        verbose_name=_("head"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    require_2fa = models.BooleanField(
        _("require two-factor authentication"),
        default=False,
        help_text=_("Its people must set up a one-time code app before they can work."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self) -> str:
        return self.name

    def subtree_ids(self) -> list[int]:
        """This department and every department below it."""
        ids = [self.pk]
        frontier = [self.pk]
        while frontier:
            frontier = list(
                Department.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)
            )
            ids.extend(frontier)
        return ids


class Scope(models.TextChoices):
    """How far a user sees. Issue #3 replaces this single scope with role grants."""

    OWN = "own", _("Own records")
    DEPARTMENT = "department", _("Own department")
    SUBTREE = "subtree", _("Department and sub-departments")
    ALL = "all", _("All records")


class User(AbstractUser):
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
    )
    scope = models.CharField(
        _("access scope"), max_length=16, choices=Scope.choices, default=Scope.OWN
    )
    language = models.CharField(
        _("language"), max_length=8, blank=True, help_text=_("Empty: taken from the browser.")
    )
    timezone = models.CharField(_("time zone"), max_length=64, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)

    class Meta:
        ordering = ["last_name", "first_name", "username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def must_use_2fa(self) -> bool:
        """Two-factor authentication is required of this user (department rule or staff)."""
        from django.conf import settings

        if self.is_staff and settings.SVYAZ_REQUIRE_2FA_FOR_STAFF:
            return True
        return bool(self.department_id and self.department.require_2fa)
