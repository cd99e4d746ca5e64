"""The OpenAPI schema generator (drf-spectacular, SPECTACULAR_SETTINGS["DEFAULT_GENERATOR_
CLASS"]). Kept apart from core.field_rules: drf-spectacular's generator module imports DRF's
generic views, which read DEFAULT_FILTER_BACKENDS — one of them lives in core.field_rules."""

from __future__ import annotations

from drf_spectacular.generators import SchemaGenerator

from svyaz.core.field_rules import schema_user


class FieldRulesSchemaGenerator(SchemaGenerator):
    """drf-spectacular's generator that lets every serializer see the user whose schema
    it builds, so a hidden field is absent from that user's /api/schema/."""

    def get_schema(self, request=None, public=False):
        token = schema_user.set(getattr(request, "user", None))
        try:
            return super().get_schema(request=request, public=public)
        finally:
            schema_user.reset(token)
