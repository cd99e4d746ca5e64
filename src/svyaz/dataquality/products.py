"""Import of the product catalogue: one product per row through sales.services.product_save
(the same validation as the product form). Keys: SKU / code, external id.

Products have no owner and no recycle bin: undo deletes a product the import created when
nothing uses it yet, and deactivates it (product_save, is_active=False) when a deal or an
order line already points to it."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from svyaz.dataquality import rowtools
from svyaz.dataquality.models import ImportedRecord, ImportJob, ImportKey
from svyaz.sales import services as sales_services
from svyaz.sales.models import DealLine, OrderLine, Product

LABEL = "sales.product"
MODELS = {LABEL: Product}
KEYS = {ImportKey.SKU, ImportKey.EXTERNAL_ID}
ERROR_FIELD: dict[str, str] = {}


def mapping_errors(used: set[str]) -> list[str]:
    if "name" not in used and "sku" not in used:
        return [_("Map a column to the product name.")]
    return []


def product_data(values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {}
    for key in ("name", "sku", "unit", "description"):
        if values.get(key):
            data[key] = values[key]
    if values.get("price"):
        data["price"] = rowtools.collect(errors, rowtools.parse_money, values["price"], "price")
    if values.get("currency"):
        data["currency"] = values["currency"].strip().upper()
    if values.get("is_active"):
        data["is_active"] = rowtools.collect(
            errors, rowtools.parse_bool, values["is_active"], "is_active"
        )
    if errors:
        raise ValidationError(errors)
    return data


def find_existing(job: ImportJob, actor, values: dict[str, Any]) -> Product | None:
    key = job.key_field
    qs = None
    if key == ImportKey.SKU and values.get("sku"):
        qs = rowtools.iexact(Product.objects.all(), "sku", values["sku"])
    elif key == ImportKey.EXTERNAL_ID:
        qs = rowtools.by_external(LABEL, Product, values)
    # The catalogue is shared: no owner, nothing to scope.
    return rowtools.one_existing(actor, qs, key, scoped=False)


def apply_row(job: ImportJob, actor, values: dict[str, Any], row: int, chunk: int) -> str:
    data = product_data(values)
    existing = find_existing(job, actor, values) if job.key_field else None
    rowtools.check_mode(job, existing)
    if existing is None:
        errors = {}
        if not data.get("name"):
            errors["name"] = [_("Enter the product name.")]
        if "price" not in data:
            errors["price"] = [_("Enter a price.")]
        if errors:
            raise ValidationError(errors)
        product = sales_services.product_save(actor=actor, data=data)
        rowtools.record(job, product, ImportedRecord.Action.CREATED, {}, row, chunk)
        rowtools.remember_external(job, LABEL, values, product)
        return ImportedRecord.Action.CREATED
    if job.key_field == ImportKey.SKU:
        data.pop("sku", None)  # matched by it, ignoring case: the key keeps its spelling
    previous = {k: rowtools.jsonable(getattr(existing, k)) for k in data}
    rowtools.record(job, existing, ImportedRecord.Action.UPDATED, previous, row, chunk)
    sales_services.product_save(actor=actor, product=existing, data=data)
    rowtools.remember_external(job, LABEL, values, existing)
    return ImportedRecord.Action.UPDATED


def undo_record(actor, rec: ImportedRecord) -> None:
    product = Product.objects.filter(pk=rec.object_id).first()
    if product is None:
        return
    if rec.action == ImportedRecord.Action.CREATED:
        used = (
            DealLine.objects.filter(product=product).exists()
            or OrderLine.objects.filter(product=product).exists()
        )
        if used:
            sales_services.product_save(actor=actor, product=product, data={"is_active": False})
        else:
            product.delete()
        return
    sales_services.product_save(actor=actor, product=product, data=dict(rec.previous))
