"""saraban: Thai official letters and circulars — the rules (no Prefect, no web here)."""

__version__ = "0.1.0"
