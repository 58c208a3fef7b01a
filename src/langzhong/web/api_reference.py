"""The API reference page at /docs: the OpenAPI spec rendered on the server, in the site's
style, readable without JavaScript. (Swagger UI, for trying requests, is at /docs/try.)"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

METHODS = ("get", "post", "put", "delete")


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    required: bool
    description: str = ""


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    description: str
    needs_token: bool
    parameters: list[Field] = field(default_factory=list)
    body: str | None = None
    responses: list[tuple[str, str, str]] = field(default_factory=list)  # code, what, type


def type_of(schema: dict[str, Any]) -> str:
    """A schema in a few words: ``string``, ``Hit[]``, ``number | null``."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(type_of(option) for option in schema["anyOf"])
    if schema.get("type") == "array":
        return f"{type_of(schema.get('items', {}))}[]"
    if "enum" in schema:
        return " | ".join(repr(value) for value in schema["enum"])
    return str(schema.get("type", "any"))


def _content_type(content: dict[str, Any] | None) -> str:
    schema = (content or {}).get("application/json", {}).get("schema")
    return type_of(schema) if schema else ""


def operations(spec: dict[str, Any]) -> list[Operation]:
    found = []
    for path, methods in spec["paths"].items():
        for method in METHODS:
            if method not in methods:
                continue
            op = methods[method]
            body = op.get("requestBody")
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    summary=op.get("summary", ""),
                    description=op.get("description", ""),
                    needs_token=bool(op.get("security")),
                    parameters=[
                        Field(
                            f"{p['name']} ({p['in']})",
                            type_of(p.get("schema", {})),
                            p.get("required", False),
                            p.get("description", ""),
                        )
                        for p in op.get("parameters", [])
                    ],
                    body=_content_type(body["content"]) if body else None,
                    responses=[
                        (code, r.get("description", ""), _content_type(r.get("content")))
                        for code, r in sorted(op.get("responses", {}).items())
                    ],
                )
            )
    return found


def schemas(spec: dict[str, Any]) -> dict[str, list[Field]]:
    """Every named schema's fields."""
    found = {}
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        required = set(schema.get("required", ()))
        found[name] = [
            Field(key, type_of(value), key in required, value.get("description", ""))
            for key, value in schema.get("properties", {}).items()
        ]
    return found
