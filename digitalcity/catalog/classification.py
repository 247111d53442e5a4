"""A layer's ``[classification]``: the field of native codes, their code system, the
crosswalk to a standard one and the rules that write codes as the tables do."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from pydantic import model_validator

from digitalcity.catalog.base import Frozen
from digitalcity.catalog.codes import code_rewriter


class Crosswalk(Frozen):
    """Maps the native code to a standard code system through a data file."""

    to: str
    file: str
    level1_field: str
    level2_field: str


class CodeRewrite(Frozen):
    """A rule of a classification's ``normalise``: a native code that ``match`` (a regular
    expression) matches whole is written as ``to`` (``\\1``: its first group)."""

    match: str
    to: str

    @model_validator(mode="after")
    def _compiles(self) -> CodeRewrite:
        try:
            pattern = re.compile(self.match)
        except re.error as exc:
            raise ValueError(f"match {self.match!r} is not a regular expression: {exc}") from None
        for group in re.findall(r"\\(\d+)|\\g<(\w+)>", self.to):
            number, name = group
            if (number and int(number) > pattern.groups) or (
                name and not name.isdigit() and name not in pattern.groupindex
            ):
                raise ValueError(f"to {self.to!r} names a group {self.match!r} lacks")
        return self


class Classification(Frozen):
    """How a layer's features are classified, coloured and explained in legends.
    ``normalise``: rules that write a native code as the code table and crosswalk do (the
    first that matches applies), for sources that write codes their own way."""

    field: str
    system: str
    crosswalk: Crosswalk | None = None
    normalise: tuple[CodeRewrite, ...] = ()

    @property
    def normaliser(self) -> Callable[[str], str]:
        """A native code as the code table and crosswalk write it (white space stripped)."""
        return _rewriter(tuple((rule.match, rule.to) for rule in self.normalise))

    def written_forms(self, code: str) -> tuple[str, ...]:
        """``code`` and the native forms the ``normalise`` rules that strip a fixed suffix or
        prefix write as it (``(.+)K`` -> ``\\1``: 0101K is 0101), for maps, which match
        the stored codes: a MapLibre expression cannot run the rules themselves."""
        forms = [code]
        for rule in self.normalise:
            if rule.to not in ("\\1", "\\g<1>"):
                continue
            if suffix := _AFFIX_AFTER.fullmatch(rule.match):
                forms.append(code + suffix.group(1))
            elif prefix := _AFFIX_BEFORE.fullmatch(rule.match):
                forms.append(prefix.group(1) + code)
        return tuple(dict.fromkeys(forms))


# a rule that keeps everything before or after a fixed affix of letters, digits, '-' or '_'
_AFFIX_AFTER = re.compile(r"\(\.[+*]\)([\w-]+)")
_AFFIX_BEFORE = re.compile(r"([\w-]+)\(\.[+*]\)")


@lru_cache(maxsize=64)
def _rewriter(rules: tuple[tuple[str, str], ...]) -> Callable[[str], str]:
    return code_rewriter(rules)
