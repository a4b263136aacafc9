"""The directory of offices: units, levels and the chain (ministry → province → district → อปท.), imports, selectors."""
