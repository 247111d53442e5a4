"""What every catalog model shares: frozen models, texts in Chinese and English, access
levels and the identifiers layers, fields, joins and cities are named by."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

AccessLevel = Literal["public", "internal", "restricted"]


IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


def identifier(value: str, what: str) -> str:
    if not IDENTIFIER.match(value):
        raise ValueError(
            f"{what} {value!r} must be lower-case letters, digits and '_', starting with a letter"
        )
    return value


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Titles(Frozen):
    """A text in Chinese and English."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return self.zh if lang.lower().startswith("zh") else self.en
