"""The one table of measurement units a field may declare (``unit`` in ``[[fields]]``).

Lengths convert through metres, areas through square metres; converting between
dimensions, or from an unknown or missing unit, raises :class:`UnitError`.
"""

from __future__ import annotations

from digitalcity.errors import InvalidParameter

FOOT_M = 0.3048

# unit -> (dimension, size in SI base: m for length, m² for area)
UNITS: dict[str, tuple[str, float]] = {
    "m": ("length", 1.0),
    "km": ("length", 1000.0),
    "ft": ("length", FOOT_M),
    "m²": ("area", 1.0),
    "m2": ("area", 1.0),
    "ha": ("area", 1e4),
    "km²": ("area", 1e6),
    "ft²": ("area", FOOT_M**2),
    "sqft": ("area", FOOT_M**2),
}


# Units as read in Chinese, for the definitions' units and the cards' (English keeps the
# symbol); one table for the API's HTML pages and the maps' scripts, which get it in their
# config. A unit not here is shown as written.
UNITS_ZH: dict[str, str] = {
    "m": "米", "m²": "平方米", "km": "千米", "km²": "平方千米", "ha": "公顷", "ft": "英尺",
    "ft²": "平方英尺", "sq ft": "平方英尺", "mi": "英里", "acre": "英亩", "acres": "英亩",
    "persons": "人", "people": "人", "ratio": "", "%": "%", "storeys": "层", "stories": "层",
    "years": "年", "USD": "美元", "CNY": "元", "CNY/m²": "元/平方米",
    "persons/km²": "人/平方千米", "units": "套", "gal/min": "加仑/分钟", "lamps": "盏",
    "shelters": "座", "males per 100 females": "（男性/每百名女性）",
}  # fmt: skip


def unit_text(unit: str | None, lang: str) -> str:
    """``unit`` as shown in ``lang`` ("" for none)."""
    if not unit:
        return ""
    return UNITS_ZH.get(unit, unit) if lang == "zh" else unit


class UnitError(InvalidParameter):
    """A unit that is missing, unknown or of the wrong dimension (HTTP 400 / CLI error)."""


def dimension(unit: str | None, what: str) -> str:
    """The dimension ('length' or 'area') of ``unit``; ``what`` names the field in errors."""
    if not unit:
        raise UnitError(f'{what} declares no unit; add unit = "m" / "ft" / "m²" / "ft²"')
    if unit not in UNITS:
        raise UnitError(f"{what}: unknown unit {unit!r} (known: {', '.join(UNITS)})")
    return UNITS[unit][0]


def factor(from_unit: str | None, to_unit: str, what: str) -> float:
    """Multiplier taking a value in ``from_unit`` to ``to_unit`` (same dimension only)."""
    have, want = dimension(from_unit, what), dimension(to_unit, "target")
    if have != want:
        raise UnitError(f"{what}: unit {from_unit!r} measures {have}, {want} is needed")
    assert from_unit is not None
    return UNITS[from_unit][1] / UNITS[to_unit][1]
