"""Shapes shared by every resource: the `{data, count}` page and a message."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A list endpoint's answer: one page of ``data`` and the ``count`` of all matching rows."""

    data: list[T]
    count: int


class Message(BaseModel):
    message: str


class ORMModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)
