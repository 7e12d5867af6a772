"""`validation_problem`: pydantic's first error worded for a user, at the path of keys they wrote."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from data.errors import validation_problem


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    name: str | None = None
    kind: Literal["a", "b"]

    @field_validator("name")
    @classmethod
    def _short(cls, value: str | None) -> str | None:
        if value is not None and len(value) > 5:
            raise ValueError("at most 5 characters")
        return value


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[_Item]
    limits: dict[str, int] = {}


@pytest.mark.parametrize("doc,where,what", [
    ({"items": [{"id": "x1", "kind": "a", "colour": 1}]}, "items.x1.colour", "unknown key"),
    ({"items": [{"name": "n1", "kind": "a"}, {"name": "n2"}]}, "items.n2.kind", "required key is missing"),
    ({"items": [{"kind": "c"}]}, "items.[0].kind", "Input should be 'a' or 'b'"),
    ({"items": [{"name": "toolong", "kind": "a"}]}, "items.toolong.name", "at most 5 characters"),
    ({"items": ["x"]}, "items.[0]", "Input should be a valid dictionary or instance of _Item"),
    ({"items": [], "limits": {"orders": "many"}}, "limits.orders",
     "Input should be a valid integer, unable to parse string as an integer"),
    ({}, "items", "required key is missing"),
])
def test_the_problem_names_the_key_as_written(doc, where, what):
    with pytest.raises(ValidationError) as err:
        _Doc.model_validate(doc)
    assert validation_problem(err.value, doc) == (where, what)
