"""Answer stage: passages, highlights, related reading (and, on the page, safety notices)."""
