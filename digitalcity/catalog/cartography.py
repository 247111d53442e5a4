"""How a layer is drawn and labelled: the ``[style]``, ``[label]`` and ``default_on`` tables of a
layer definition, validated (a bad colour, zoom or size is a clear error at load time).

Sizes and widths are screen pixels; zooms are Web Mercator zoom levels. A value "by zoom" is
a table ``{ 12 = 0.5, 16 = 3 }`` interpolated linearly between the zooms given.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
CLASS_COLOUR = re.compile(r"^[a-z][a-z0-9_]*:[A-Za-z0-9._-]+$")
ByZoom = float | dict[int, float]


def check_colour(value: str, what: str = "colour") -> str:
    """``#rrggbb``, or ``<code system>:<code>`` (the colour of a class in layers/codes)."""
    if not (HEX.match(value) or CLASS_COLOUR.match(value)):
        raise ValueError(
            f"{what} {value!r} is not a colour: write '#rrggbb' (e.g. '#8a8a8a') "
            "or '<code system>:<code>' (e.g. 'tdyh_2023:17')"
        )
    return value


def _check_by_zoom(value: ByZoom | None, what: str, low: float, high: float) -> None:
    if value is None:
        return
    stops = value if isinstance(value, dict) else {0: value}
    if not stops:
        raise ValueError(f"{what}: give a number or at least one zoom = value pair")
    for zoom, number in stops.items():
        if not 0 <= zoom <= 24:
            raise ValueError(f"{what}: zoom {zoom} outside 0-24")
        if not low <= number <= high:
            raise ValueError(f"{what}: {number} outside {low}-{high}")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LangFields(_Frozen):
    """A label field per language, where the data has both (e.g. name_zh / name_en)."""

    zh: str
    en: str


class LabelDef(_Frozen):
    """Map labels of a layer: which field, at which zooms, where and how large.

    ``priority`` 0-100: higher labels are placed first when labels collide. ``size`` in px,
    a number or by zoom. ``placement``: ``point`` (at the feature / polygon centre) or ``line``
    (along a line layer's geometry). A polygon's point label is drawn once, at a point inside
    the polygon; ``repeat`` draws it on every tile's part of the polygon instead (large zones
    whose code should stay in view wherever one looks).
    """

    field: str | LangFields
    min_zoom: int = Field(default=0, ge=0, le=24)
    max_zoom: int = Field(default=24, ge=0, le=24)
    placement: Literal["point", "line"] = "point"
    priority: int = Field(default=50, ge=0, le=100)
    size: ByZoom = 12.0
    colour: str = "#333333"
    halo: str = "#ffffff"
    halo_width: float = Field(default=1.5, ge=0, le=10)
    repeat: bool = False

    @field_validator("colour", "halo")
    @classmethod
    def _colours(cls, value: str) -> str:
        if not HEX.match(value):
            raise ValueError(f"label colour {value!r} must be '#rrggbb'")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> LabelDef:
        if self.min_zoom > self.max_zoom:
            raise ValueError(f"label min_zoom {self.min_zoom} exceeds max_zoom {self.max_zoom}")
        _check_by_zoom(self.size, "label size", 4, 64)
        return self

    @property
    def fields(self) -> tuple[str, ...]:
        if isinstance(self.field, LangFields):
            return (self.field.zh, self.field.en)
        return (self.field,)

    def field_for(self, lang: str) -> tuple[str, ...]:
        """Fields to show in ``lang``, best first (the other language as a fallback)."""
        if isinstance(self.field, LangFields):
            zh, en = self.field.zh, self.field.en
            return (zh, en) if lang.startswith("zh") else (en, zh)
        return (self.field,)


class GraduatedDef(_Frozen):
    """A fill coloured by a numeric field in classes (a choropleth): ``breaks`` are the
    class limits in the field's unit, increasing; ``colours`` one per class, one more than
    the breaks (below the first limit, ..., from the last limit on)."""

    field: str
    breaks: tuple[float, ...] = Field(min_length=1, max_length=11)
    colours: tuple[str, ...]

    @field_validator("colours")
    @classmethod
    def _colours(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for colour in value:
            if not HEX.match(colour):
                raise ValueError(f"graduated colour {colour!r} must be '#rrggbb'")
        return value

    @model_validator(mode="after")
    def _classes(self) -> GraduatedDef:
        if any(b >= a for a, b in zip(self.breaks[1:], self.breaks, strict=False)):
            raise ValueError(f"graduated breaks {list(self.breaks)} must increase")
        if len(self.colours) != len(self.breaks) + 1:
            raise ValueError(
                f"graduated: {len(self.breaks)} breaks make {len(self.breaks) + 1} classes, "
                f"but {len(self.colours)} colours are given"
            )
        return self

    def classes(self) -> list[tuple[float | None, float | None, str]]:
        """(lower limit, upper limit, colour) of each class; None: open below or above."""
        limits: list[float | None] = [None, *self.breaks, None]
        return [(limits[n], limits[n + 1], c) for n, c in enumerate(self.colours)]

    def colour_of(self, value: float | None) -> str | None:
        """The class colour of ``value`` (None for a missing value)."""
        if value is None:
            return None
        return self.colours[bisect_right(self.breaks, float(value))]


class StyleDef(_Frozen):
    """How a layer is drawn; anything left out takes the package's default for its kind.

    ``colour``: one colour for the whole layer (a classified layer is coloured by its code
    table instead); ``opacity`` 0-1 of fills (and of lines and circles); ``width`` of lines
    and outlines in px (a number or by zoom); ``dash`` a MapLibre dash pattern in line widths;
    ``outline`` the outline colour of fills (``outline_only`` draws no fill); ``radius`` of
    point symbols in px (by zoom); ``graduated`` colours fills by a numeric field in classes.
    """

    colour: str | None = None
    opacity: float | None = Field(default=None, ge=0, le=1)
    width: ByZoom | None = None
    dash: tuple[float, ...] | None = None
    outline: str | None = None
    outline_width: float | None = Field(default=None, ge=0, le=20)
    outline_only: bool | None = None
    radius: ByZoom | None = None
    graduated: GraduatedDef | None = None

    @field_validator("colour", "outline")
    @classmethod
    def _colours(cls, value: str | None) -> str | None:
        return None if value is None else check_colour(value)

    @field_validator("dash")
    @classmethod
    def _dash(cls, value: tuple[float, ...] | None) -> tuple[float, ...] | None:
        if value is not None and (len(value) < 2 or any(v < 0 for v in value)):
            raise ValueError(f"dash {list(value)} must be two or more non-negative lengths")
        return value

    @model_validator(mode="after")
    def _sizes(self) -> StyleDef:
        _check_by_zoom(self.width, "width", 0, 50)
        _check_by_zoom(self.radius, "radius", 0, 50)
        return self


class DefaultOn(_Frozen):
    """Whether the layer is on when the planner map and the public map open."""

    planner: bool = True
    public: bool = False
