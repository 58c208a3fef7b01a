"""Text stage: normalisation, segmentation and term numbers shared by indexing and querying."""

from langzhong.text.hashing import term_hashes
from langzhong.text.normalize import normalize
from langzhong.text.segment import Analyzer, default_analyzer

__all__ = ["Analyzer", "default_analyzer", "normalize", "term_hashes"]
