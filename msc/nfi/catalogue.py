"""The regional NFI catalogue: items, their target groups and entitlement rules, kept as data."""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from msc.db import session
from msc.nfi.models import NfiItem
from msc.nfi.stock import NfiError
from msc.nfi.vocab import CATEGORIES, LEVELS, UNITS
from msc.security import audit
from msc.security.actor import Actor

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,15}$")
SEXES = ("female", "male", "other")


@dataclass
class ItemData:
    code: str
    name_es: str
    name_pt: str
    name_en: str
    unit: str
    category: str
    active: bool
    level: str
    sexes: list[str]
    age_min: int | None
    age_max: int | None
    quantity: int | None
    period_days: int | None
    min_interval_days: int | None
    max_per_day: int | None


def items() -> list[NfiItem]:
    """The whole catalogue, by code."""
    return list(session.scalars(sa.select(NfiItem).order_by(NfiItem.code)))


def save_item(user: Actor, item: NfiItem | None, data: ItemData) -> NfiItem:
    """Create or change an item and its rules."""
    code = (data.code or "").strip().upper()
    if not CODE_RE.match(code):
        raise NfiError(_l("The code is 1 to 16 capital letters, digits or hyphens, for example HYG."), field="code")
    clash = session.scalar(sa.select(NfiItem.id).where(NfiItem.code == code))
    if clash is not None and (item is None or clash != item.id):
        raise NfiError(_l("Another item already has the code %(code)s.", code=code), field="code")
    for name in ("name_es", "name_pt", "name_en"):
        if not (getattr(data, name) or "").strip():
            raise NfiError(_l("Give the item's name in each language."), field=name)
    if data.unit not in UNITS:
        raise NfiError(_l("Choose the unit."), field="unit")
    if data.category not in CATEGORIES:
        raise NfiError(_l("Choose the category."), field="category")
    if data.level not in LEVELS:
        raise NfiError(_l("Say whether the item is counted per person or per household."), field="level")
    if any(s not in SEXES for s in data.sexes):
        raise NfiError(_l("Choose sexes from the list."), field="sexes")
    for name in ("age_min", "age_max"):
        value = getattr(data, name)
        if value is not None and not 0 <= value <= 120:
            raise NfiError(_l("Ages go from 0 to 120."), field=name)
    if data.age_min is not None and data.age_max is not None and data.age_min > data.age_max:
        raise NfiError(_l("The lowest age cannot be above the highest."), field="age_max")
    numbers = {
        "quantity": (data.quantity, 1, 1000),
        "period_days": (data.period_days, 1, 3650),
        "min_interval_days": (data.min_interval_days, 0, 3650),
        "max_per_day": (data.max_per_day, 1, 1000),
    }
    whole: dict[str, int] = {}
    for name, (value, low, high) in numbers.items():
        if value is None or not low <= value <= high:
            raise NfiError(_l("Give a whole number from %(low)d to %(high)d.", low=low, high=high), field=name)
        whole[name] = value
    if whole["max_per_day"] > whole["quantity"]:
        raise NfiError(_l("The daily maximum cannot be above the quantity per period."), field="max_per_day")
    if item is None:
        item = NfiItem()
        session.add(item)
    item.code, item.unit, item.category, item.active, item.level = (
        code,
        data.unit,
        data.category,
        data.active,
        data.level,
    )
    item.name_es, item.name_pt, item.name_en = data.name_es.strip(), data.name_pt.strip(), data.name_en.strip()
    item.sexes = ",".join(s for s in SEXES if s in data.sexes)
    item.age_min, item.age_max = data.age_min, data.age_max
    item.quantity, item.period_days = whole["quantity"], whole["period_days"]
    item.min_interval_days, item.max_per_day = whole["min_interval_days"], whole["max_per_day"]
    session.flush()
    audit.record("nfi.item.save", object_type="nfi_item", object_id=item.id)
    return item
