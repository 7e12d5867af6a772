"""How the engine's values cross the wire: the annotated field types every stage's frozen values use, so
that one serializer (pydantic's) writes `incidents.json` and the API's responses, and OpenAPI describes
every field.

- `Real`: a float the engine may hold as NaN or ±inf (not computable); ``null`` on the wire, NaN when read back.
- `SliceKey`: a `Slice` as its canonical text (``region=west&category=grocery``; ``*`` for the total).
- `Scope`: slices as a list of those texts, ``["*"]`` for everything (the empty scope).
- `ScopeText`: slices as one text, joined by ``;`` (the change log's notation, `data.slices.scope_text`).
- `Located`: a localized slice with its share of the change and its localizer score.
- `WIRE`: the configuration of a wire model (frozen, unknown keys refused, defaults listed as present);
  `WIRE_DATACLASS` the same for a pydantic dataclass (frozen by its decorator).
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainSerializer, PlainValidator, WithJsonSchema

from data.slices import Slice, scope_text

WIRE_DATACLASS = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)
WIRE = ConfigDict(frozen=True, **WIRE_DATACLASS)


def _real_in(value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        if hasattr(value, "item"):  # a numpy scalar
            return float(value.item())
        raise ValueError(f"expected a number or null, got {type(value).__name__}")
    return float(value)


def _real_out(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


Real = Annotated[float, PlainValidator(_real_in), PlainSerializer(_real_out, return_type=float | None),
                 WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "null"}]})]


def _slice_in(value: Any) -> Slice:
    if isinstance(value, Slice):
        return value
    if isinstance(value, str):
        return Slice.parse(value)
    raise ValueError(f"expected a slice written as dim=value&dim=value (or *), got {value!r}")


SliceKey = Annotated[Slice, PlainValidator(_slice_in), PlainSerializer(lambda s: s.key, return_type=str),
                     WithJsonSchema({"type": "string", "description": "dim=value pairs joined by '&'; * = total"})]


def _scope_in(value: Any) -> tuple[Slice, ...]:
    if isinstance(value, str):
        value = value.split(";")
    if not isinstance(value, list | tuple):
        raise ValueError(f"expected a list of slices, got {value!r}")
    # the engine's slices pass unchanged; written ones drop "*" (the empty scope is everything)
    return tuple(_slice_in(v) for v in value if not (isinstance(v, str) and v.strip() in ("", "*")))


def _scope_out(scope: tuple[Slice, ...]) -> list[str]:
    return [s.key for s in scope] or ["*"]


Scope = Annotated[tuple[Slice, ...], PlainValidator(_scope_in), PlainSerializer(_scope_out, return_type=list[str]),
                  WithJsonSchema({"type": "array", "items": {"type": "string"},
                                  "description": "Slices (dim=value pairs joined by '&'); [\"*\"] = everything"})]

ScopeText = Annotated[tuple[Slice, ...], PlainValidator(_scope_in), PlainSerializer(scope_text, return_type=str),
                      WithJsonSchema({"type": "string", "description": ("Slices (dim=value pairs joined by '&') "
                                                                        "joined by ';'; * = everything")})]


class LocatedSlice(BaseModel):
    """The wire form of a localized slice."""

    model_config = WIRE

    slice: str
    share: float | None
    score: float | None


def _located_in(value: Any) -> Slice:
    if isinstance(value, Slice):
        return value
    if isinstance(value, dict) and isinstance(value.get("slice"), str):
        return Slice.parse(value["slice"], _real_in(value.get("share")), _real_in(value.get("score")))
    return _slice_in(value)


def _located_out(s: Slice) -> dict:
    return {"slice": s.key, "share": _real_out(s.share), "score": _real_out(s.score)}


Located = Annotated[Slice, PlainValidator(_located_in), PlainSerializer(_located_out, return_type=dict),
                    WithJsonSchema(LocatedSlice.model_json_schema(mode="serialization"))]

__all__ = ["Located", "LocatedSlice", "Real", "Scope", "ScopeText", "SliceKey", "WIRE", "WIRE_DATACLASS"]
