"""The load report: what was read, loaded, repaired and rejected (with row numbers and reasons)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class LoadReport:
    """Outcome of one layer load. Row numbers are 1-based positions in the source file."""

    city: str
    layer: str
    source: str
    status: str = "loaded"  # loaded | unchanged
    version: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    repaired: list[int] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    joins: dict[str, dict[str, Any]] = field(default_factory=dict)
    coerced_to_null: dict[str, int] = field(default_factory=dict)
    # geometries whose heights (Z) or measures (M) were dropped: layers are stored 2D
    flattened: int = 0
    unclassified: int = 0
    unclassified_codes: dict[str, int] = field(default_factory=dict)
    # the text encoding read with when the source declared none (a shapefile without .cpg)
    encoding_guessed: str | None = None
    # what the source declared instead (a .cpg's UTF-8 that the text is not)
    encoding_overruled: str | None = None
    # what the load could not vouch for (a datum shift PROJ does not know)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def rejection_reasons(self) -> Counter[str]:
        return Counter(reason for _, reason in self.rejected)

    def summary(self) -> str:
        """One line for the CLI."""
        name = f"{self.city}.{self.layer}"
        if self.status == "unchanged":
            return f"{name}: unchanged (version {self.version}, {self.rows_loaded} rows); use --force to reload"
        parts = [
            f"{name}: version {self.version}",
            f"read {self.rows_read}",
            f"loaded {self.rows_loaded}",
            f"repaired {len(self.repaired)}",
            f"rejected {len(self.rejected)}",
        ]
        for join, stats in self.joins.items():
            parts.append(
                f"join {join} matched {stats['matched']}/{stats['matched'] + stats['unmatched']}"
            )
        if self.encoding_guessed:
            why = (
                f"its .cpg declares {self.encoding_overruled}, which the text is not"
                if self.encoding_overruled
                else "the source declares no encoding"
            )
            parts.append(f"text read as {self.encoding_guessed} ({why})")
        if self.flattened:
            parts.append(f"heights (Z) or measures (M) dropped from {self.flattened} (stored 2D)")
        if self.unclassified:
            parts.append(f"unclassified {self.unclassified}")
        if self.coerced_to_null:
            parts.append(
                "bad values set to null: "
                + ", ".join(f"{k} {v}" for k, v in sorted(self.coerced_to_null.items()))
            )
        parts += [f"warning: {w}" for w in self.warnings]
        return ", ".join(parts) + f" ({self.seconds:.1f} s)"

    def details(self, limit: int = 20) -> list[str]:
        """Per-row lines for repaired and rejected rows (first ``limit`` of each)."""
        lines = [f"  row {row}: rejected: {reason}" for row, reason in self.rejected[:limit]]
        if len(self.rejected) > limit:
            lines.append(f"  … and {len(self.rejected) - limit} more rejected rows")
        if self.repaired:
            shown = ", ".join(map(str, self.repaired[:limit]))
            more = f" … (+{len(self.repaired) - limit})" if len(self.repaired) > limit else ""
            lines.append(f"  repaired invalid geometry in rows {shown}{more}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
