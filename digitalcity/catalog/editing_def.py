"""A layer's ``[editing]``: who may edit it, its attachments, snapping and topology rule."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from digitalcity.catalog.base import AccessLevel, Frozen

MAX_SNAP_M = 1.0  # the largest snapping tolerance (m): further than that is a redraw, not a snap


class AttachmentsDef(Frozen):
    """Files kept with a layer's features (photos, scanned deeds: 附件): who may read them (an
    access level, on top of the layer's), and the largest file in MB. The layer's editors add
    and remove them."""

    access: AccessLevel = "internal"
    max_mb: int = Field(default=20, ge=1, le=100)


class EditingDef(Frozen):
    """Editing of a layer through the API and ``City``: on or off, the roles that may, whether
    its features keep attachments, the snapping tolerance in metres (``snap_m``: a drawn
    vertex that close to a neighbouring feature's vertex is put exactly on it; 0: none) and
    whether edits may make features overlap (``no_overlaps``)."""

    enabled: bool = True
    roles: tuple[Literal["planner", "land_bureau", "admin"], ...] = ("land_bureau", "admin")
    attachments: AttachmentsDef | None = None
    snap_m: float = Field(default=0, ge=0, le=MAX_SNAP_M)
    # topology rule (拓扑规则, polygon layers): an edit may not make a feature overlap another
    # by more than it did (or, for a new one, at all) beyond the tolerance (m², ellipsoid)
    no_overlaps: bool = False
    overlap_tolerance_m2: float = Field(default=0.1, ge=0, le=10_000)
