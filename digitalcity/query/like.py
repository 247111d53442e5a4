"""Text for SQL LIKE patterns."""


def like_escaped(needle: str) -> str:
    """``needle`` for a LIKE pattern (escape character ``\\``): its own ``\\ % _`` literal."""
    return needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
