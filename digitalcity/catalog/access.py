"""The one place that decides what a role may see."""

from __future__ import annotations

from typing import Literal

from digitalcity.catalog.model import AccessLevel, FieldDef, LayerDef

Role = Literal["anonymous", "planner", "land_bureau", "admin"]
ROLES: tuple[Role, ...] = ("anonymous", "planner", "land_bureau", "admin")

_LEVEL_RANK: dict[AccessLevel, int] = {"public": 0, "internal": 1, "restricted": 2}
_ROLE_CLEARANCE: dict[Role, int] = {"anonymous": 0, "planner": 1, "land_bureau": 2, "admin": 2}


def may_see(role: Role, level: AccessLevel) -> bool:
    """True when ``role`` is cleared for data at access ``level``."""
    return _ROLE_CLEARANCE[role] >= _LEVEL_RANK[level]


def visible_layer(role: Role, layer: LayerDef) -> bool:
    return may_see(role, layer.access)


def visible_fields(role: Role, layer: LayerDef) -> tuple[FieldDef, ...]:
    """The fields of ``layer`` that ``role`` may read (none if the layer is hidden)."""
    if not visible_layer(role, layer):
        return ()
    return tuple(f for f in layer.all_fields if may_see(role, f.access))


def may_read_attachments(role: Role, layer: LayerDef) -> bool:
    """Whether ``role`` may list and open the files kept with ``layer``'s features."""
    editing = layer.editing
    kept = editing.attachments if editing is not None else None
    return kept is not None and visible_layer(role, layer) and may_see(role, kept.access)


def may_write_attachments(role: Role, layer: LayerDef) -> bool:
    """Whether ``role`` may add and remove them: the layer's editors."""
    editing = layer.editing
    return (
        may_read_attachments(role, layer)
        and editing is not None
        and editing.enabled
        and role in editing.roles
    )
