"""Text stage: normalisation and segmentation shared by indexing and querying."""

from langzhong.text.normalize import normalize
from langzhong.text.segment import Analyzer, default_analyzer

__all__ = ["Analyzer", "default_analyzer", "normalize"]
