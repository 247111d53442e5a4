"""OpenAPI 3.1 (what FastAPI emits) to 3.0 (what OGC API – Features /conf/oas30, GDAL and
QGIS read): schemas lose the JSON Schema 2020-12 keywords 3.0 does not know."""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]
VERSION = "3.0.3"
# Keywords of the OpenAPI 3.0 Schema Object; anything else (``const``, ``examples``,
# ``prefixItems``, ``$schema``...) is converted or dropped.
SCHEMA_KEYWORDS = frozenset(
    {
        "title", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum",
        "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems",
        "maxProperties", "minProperties", "required", "enum", "type", "allOf", "oneOf",
        "anyOf", "not", "items", "properties", "additionalProperties", "description",
        "format", "default", "nullable", "readOnly", "writeOnly", "example", "deprecated",
    }
)  # fmt: skip
_NULL = {"type": "null"}


def schema_30(schema: Any) -> Any:
    """One JSON Schema (2020-12 flavour) as an OpenAPI 3.0 Schema Object."""
    if not isinstance(schema, dict):
        return schema
    source = dict(schema)
    if "$ref" in source:
        rest = {k: v for k, v in source.items() if k in ("description", "title")}
        ref = {"$ref": source["$ref"]}
        return {"allOf": [ref], **rest} if rest else ref
    if "const" in source:
        source.setdefault("enum", [source.pop("const")])
    examples = source.pop("examples", None)
    if isinstance(examples, list) and examples:
        source.setdefault("example", examples[0])
    _types(source)
    for key in ("anyOf", "oneOf"):
        if key in source:
            _alternatives(source, key)
    for key, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = source.get(key)
        if value is not None and not isinstance(value, bool):
            source[bound], source[key] = value, True
    out: Json = {}
    for key, value in source.items():
        if key.startswith("x-"):
            out[key] = value
        elif key not in SCHEMA_KEYWORDS:
            continue
        elif key == "properties":
            out[key] = {name: schema_30(sub) for name, sub in value.items()}
        elif key in ("items", "not") or (key == "additionalProperties" and isinstance(value, dict)):
            out[key] = schema_30(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [schema_30(sub) for sub in value]
        else:
            out[key] = value
    if source.get("prefixItems") and "items" not in out:
        out["items"] = {}
    if out.get("type") == "array" and "items" not in out:
        out["items"] = {}
    return out


def _types(schema: Json) -> None:
    """``type: [a, "null"]`` → ``type: a, nullable: true``."""
    kinds = schema.get("type")
    if not isinstance(kinds, list):
        return
    real = [k for k in kinds if k != "null"]
    if len(real) < len(kinds):
        schema["nullable"] = True
    if len(real) == 1:
        schema["type"] = real[0]
    else:
        del schema["type"]
        if real:
            schema["anyOf"] = [{"type": k} for k in real]


def _alternatives(schema: Json, key: str) -> None:
    """``anyOf: [X, {type: null}]`` → X with ``nullable: true``."""
    options = [o for o in schema[key] if o != _NULL]
    if len(options) == len(schema[key]):
        return
    schema["nullable"] = True
    if len(options) == 1:
        del schema[key]
        only = options[0]
        if "$ref" in only:
            schema["allOf"] = [only]
        else:
            for k, v in only.items():
                schema.setdefault(k, v)
    else:
        schema[key] = options


def _content_30(content: Json) -> Json:
    out = {}
    for media, body in content.items():
        body = dict(body)
        if "schema" in body:
            body["schema"] = schema_30(body["schema"])
        out[media] = body
    return out


def _parameter_30(parameter: Json) -> Json:
    out = dict(parameter)
    if "schema" in out:
        out["schema"] = schema_30(out["schema"])
    examples = out.pop("examples", None)
    if isinstance(examples, list) and examples:
        out.setdefault("example", examples[0])
    elif isinstance(examples, dict):
        out["examples"] = examples
    return out


def _operation_30(operation: Json) -> Json:
    out = dict(operation)
    if "parameters" in out:
        out["parameters"] = [_parameter_30(p) for p in out["parameters"]]
    body = out.get("requestBody")
    if isinstance(body, dict) and "content" in body:
        out["requestBody"] = {**body, "content": _content_30(body["content"])}
    responses = {}
    for status, response in out.get("responses", {}).items():
        response = dict(response)
        if "content" in response:
            response["content"] = _content_30(response["content"])
        responses[status] = response
    out["responses"] = responses
    return out


def downgrade(doc: Json) -> Json:
    """A copy of an OpenAPI 3.1 document as OpenAPI 3.0.3."""
    out: Json = {k: v for k, v in doc.items() if k not in ("webhooks", "jsonSchemaDialect")}
    out["openapi"] = VERSION
    info = {k: v for k, v in doc.get("info", {}).items() if k != "summary"}
    if "license" in info:
        info["license"] = {k: v for k, v in info["license"].items() if k != "identifier"}
    out["info"] = info
    out["paths"] = {
        path: {
            method: _operation_30(op) if isinstance(op, dict) and "responses" in op else op
            for method, op in item.items()
        }
        for path, item in doc.get("paths", {}).items()
    }
    components = dict(doc.get("components", {}))
    if "schemas" in components:
        components["schemas"] = {k: schema_30(v) for k, v in components["schemas"].items()}
    out["components"] = components
    return out
