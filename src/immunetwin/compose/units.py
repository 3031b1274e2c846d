"""Unit conversion at ports (pint): the factor that turns an owner's value into a reader's."""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def _registry() -> Any:
    import pint

    return pint.UnitRegistry()


def conversion_factor(source: str, target: str) -> float | str:
    """``target_value = factor * source_value``; a message (str) when the two units cannot be
    converted (unparseable, or different dimensions)."""
    registry = _registry()
    try:
        src = registry.parse_expression(source or "dimensionless")
        dst = registry.parse_expression(target or "dimensionless")
    except Exception as exc:  # pint raises several unrelated types for bad expressions
        return f"cannot read the units '{source}' -> '{target}' ({type(exc).__name__}: {exc})"
    src, dst = _quantity(registry, src), _quantity(registry, dst)
    if src.dimensionality != dst.dimensionality:
        return (
            f"'{source}' [{src.dimensionality}] cannot be converted to '{target}' "
            f"[{dst.dimensionality}]"
        )
    return float(src.to(dst.units).magnitude / dst.magnitude)


def _quantity(registry: Any, value: Any) -> Any:
    """``parse_expression`` gives a plain number for "dimensionless" or "1e6"."""
    if isinstance(value, int | float):
        return registry.Quantity(value, "dimensionless")
    return value
