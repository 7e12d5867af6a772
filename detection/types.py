"""Small values that leave the detection stage. `Slice` lives in `data.slices` (used from data onwards)."""

from data.slices import Slice

__all__ = ["Slice"]
