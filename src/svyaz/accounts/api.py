"""REST API for the signed-in user, the user directory and departments.

Users are a read-only directory (id, name, department); departments are readable by
everyone signed in and writable by staff."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import ProtectedError
from django.urls import path
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import filters, permissions, routers, serializers, viewsets
from rest_framework.decorators import api_view
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from svyaz.accounts.models import Department


class MeOutput(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()
    department_name = serializers.SerializerMethodField()

    class Meta:
        model = get_user_model()
        fields = [
            "id",
            "username",
            "name",
            "first_name",
            "last_name",
            "email",
            "phone",
            "department",
            "department_name",
            "scope",
            "language",
            "timezone",
            "is_staff",
        ]

    def get_name(self, obj) -> str:
        return str(obj)

    def get_department_name(self, obj) -> str:
        return obj.department.name if obj.department_id else ""


class UserOutput(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()
    department_name = serializers.SerializerMethodField()

    class Meta:
        model = get_user_model()
        fields = ["id", "name", "department", "department_name"]

    def get_name(self, obj) -> str:
        return str(obj)

    def get_department_name(self, obj) -> str:
        return obj.department.name if obj.department_id else ""


@extend_schema(responses=MeOutput)
@api_view(["GET"])
def me(request):
    user = get_user_model().objects.select_related("department").get(pk=request.user.pk)
    return Response(MeOutput(user).data)


class UserViewSet(viewsets.ReadOnlyModelViewSet):
    """Active users: for assignee and owner pickers."""

    serializer_class = UserOutput
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter, filters.SearchFilter]
    filterset_fields = ["department"]
    search_fields = ["first_name", "last_name", "username"]
    ordering_fields = ["last_name", "first_name", "username", "id"]
    ordering = ["last_name", "first_name", "id"]

    def get_queryset(self):
        return get_user_model().objects.filter(is_active=True).select_related("department")


class IsStaffOrReadOnly(permissions.BasePermission):
    def has_permission(self, request, view):
        return bool(
            request.user
            and request.user.is_authenticated
            and (request.method in permissions.SAFE_METHODS or request.user.is_staff)
        )


class DepartmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Department
        fields = ["id", "name", "parent", "head", "require_2fa"]

    def validate_name(self, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise serializers.ValidationError(_("Enter a name."))
        return value

    def validate_parent(self, parent):
        if (
            parent is not None
            and self.instance is not None
            and parent.pk in self.instance.subtree_ids()
        ):
            raise serializers.ValidationError(_("A department cannot be inside itself."))
        return parent


class DepartmentViewSet(viewsets.ModelViewSet):
    serializer_class = DepartmentSerializer
    permission_classes = [IsStaffOrReadOnly]
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter, filters.SearchFilter]
    filterset_fields = ["parent"]
    search_fields = ["name"]
    ordering_fields = ["name", "id"]
    ordering = ["name", "id"]
    queryset = Department.objects.all()

    def perform_destroy(self, instance):
        try:
            instance.delete()
        except ProtectedError as exc:
            raise ValidationError(
                {
                    "non_field_errors": [
                        _("The department still has users, records or sub-departments.")
                    ]
                }
            ) from exc


router = routers.SimpleRouter()
router.register("users", UserViewSet, basename="user")
router.register("departments", DepartmentViewSet, basename="department")

urlpatterns = [path("me/", me, name="me"), *router.urls]
