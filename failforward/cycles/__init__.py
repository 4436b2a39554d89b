"""PDSA cycles: small, reversible tests on a drill with a decision rule declared before they start."""
