"""Stage 3 — detection: detectors over the metric cube, false-discovery control, slice localization.

The public API: `detect` (cube → localized `Regression`s), the detector estimators, `benjamini_hochberg`,
and — from their own modules — `localize` / `localize_ratio` (multi-dimensional root-cause slices) and
`changepoints` (change-point dating).
"""

from detection.changepoint import changepoints
from detection.config import DetectionConfig, detection_config
from detection.detectors import (
    CUSUM,
    EWMA,
    Detector,
    Residuals,
    RobustBaseline,
    RobustZScore,
    Scores,
    SeasonalBaseline,
    ZScore,
)
from detection.fdr import FDRResult, benjamini_hochberg
from detection.localize import localize, localize_ratio
from detection.panel import Panel
from detection.scan import ScanResult, detect
from detection.types import Interval, Regression, Slice

__all__ = [
    "CUSUM", "EWMA", "Detector", "DetectionConfig", "FDRResult", "Interval", "Panel", "Regression", "Residuals",
    "RobustBaseline", "RobustZScore", "ScanResult", "Scores", "SeasonalBaseline", "Slice", "ZScore",
    "benjamini_hochberg", "changepoints", "detect", "detection_config", "localize", "localize_ratio",
]
