"""Queries over layer tables: CQL2 filters and the items query shared by API, tiles and analyses."""

from digitalcity.query.cql2_ast import FilterError
from digitalcity.query.cql2_json import parse_json
from digitalcity.query.cql2_text import parse_text
from digitalcity.query.filter_sql import FilterContext, compile_filter

__all__ = ["FilterContext", "FilterError", "compile_filter", "parse_json", "parse_text"]
