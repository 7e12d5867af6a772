"""A slice as the API's requests write it, read into the cube's label (`metrics.definitions.slice_label`).

The statistics of a slice (series, drill-down) are the metrics stage's (`metrics.cube_stats`).
"""

from __future__ import annotations

import re

from backend.errors import Invalid
from metrics.definitions import slice_label as cube_label

_ESCAPED = re.compile(r"%(25|26|3D)", re.IGNORECASE)


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("&", "%26").replace("=", "%3D")


def slice_label(text: str, dimensions: list[str]) -> tuple[str, str]:
    """The cube's label for a requested slice, and the request's canonical (escaped) text.

    A request is ``dim=value`` pairs joined by ``&`` (``*``: the total), where a ``%``, ``&`` or ``=``
    inside a dimension or a value is written ``%25``, ``%26`` or ``%3D``; any other ``%`` stays as is.
    Every dimension must be one of the workspace's, once: a request that splits into something else is
    a 422, never a silently empty series. The cube label joins the raw pairs, dimensions sorted by name.
    """
    text = text.strip()
    if text in ("", "*"):
        return "*", "*"
    pairs: dict[str, str] = {}
    for part in text.split("&"):
        dim, sep, value = part.strip().partition("=")
        dim, value = (_ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), x) for x in (dim, value))
        if not sep or not dim:
            raise Invalid(f"slice {text!r}: expected dim=value pairs joined by '&' (write & = % inside a value as "
                          "%26 %3D %25)")
        if dim not in dimensions:
            raise Invalid(f"slice {text!r}: {dim!r} is not a dimension of this workspace ({', '.join(dimensions)}); "
                          "write & = % inside a value as %26 %3D %25")
        if dim in pairs:
            raise Invalid(f"slice {text!r}: dimension {dim!r} appears twice")
        pairs[dim] = value
    ordered = sorted(pairs.items())
    return cube_label(ordered), "&".join(f"{_escape(d)}={_escape(v)}" for d, v in ordered)
