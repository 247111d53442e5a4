"""The result table: one row per task and size, PostGIS against geopandas, PASS/FAIL."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One task at one size: median seconds (``read_s`` None when nothing is re-read) and the
    target (``limit_s``: PostGIS must be under it; otherwise it must beat geopandas compute)."""

    task: str
    size: str
    postgis_s: float
    compute_s: float
    read_s: float | None
    target: str
    limit_s: float | None = None

    @property
    def total_s(self) -> float | None:
        return None if self.read_s is None else self.read_s + self.compute_s

    @property
    def passed(self) -> bool:
        if self.limit_s is not None:
            return self.postgis_s < self.limit_s
        return self.postgis_s < self.compute_s


def _ratio(value: float | None, base: float) -> str:
    return "—" if value is None or base <= 0 else f"{value / base:.2f}x"


def _s(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


HEADER = (
    ("task", 40),
    ("size (rows)", 30),
    ("PostGIS s", 9),
    ("gpd s compute / incl. read", 26),
    ("gpd/PostGIS compute / incl.", 27),
    ("target", 26),
    ("", 4),
)


def _line(cells: tuple[str, ...]) -> str:
    out = []
    for (_, width), cell in zip(HEADER, cells, strict=True):
        out.append(cell.ljust(width) if width != 9 else cell.rjust(width))
    return "  ".join(out).rstrip()


def print_table(rows: list[Row]) -> None:
    """The table, one line per row, with a PASS/FAIL verdict per target."""
    print(_line(tuple(name for name, _ in HEADER)))
    print("-" * (sum(w for _, w in HEADER) + 2 * (len(HEADER) - 1)))
    for r in rows:
        print(
            _line(
                (
                    r.task,
                    r.size,
                    f"{r.postgis_s:.2f}",
                    f"{_s(r.compute_s)} / {_s(r.total_s)}",
                    f"{_ratio(r.compute_s, r.postgis_s)} / {_ratio(r.total_s, r.postgis_s)}",
                    r.target,
                    "PASS" if r.passed else "FAIL",
                )
            )
        )
