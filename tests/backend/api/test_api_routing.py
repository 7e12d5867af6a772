"""Routing: the resource routers are included hottest first; the order must not hide any operation."""

import re

from starlette.routing import compile_path

from backend.api.routes import API_PREFIX, ROUTERS


def test_every_operation_is_reached_by_its_own_url():
    ordered = [(API_PREFIX + route.path, route.methods, route) for router in ROUTERS for route in router.routes]
    for path, methods, route in ordered:
        url = re.sub(r"\{[^}]+\}", "1", path)
        first = next(other for pattern, other_methods, other in ordered
                     if other_methods & methods and compile_path(pattern)[0].match(url))
        assert first is route, f"{sorted(methods)} {url} reaches {first.name}, not {route.name}"

