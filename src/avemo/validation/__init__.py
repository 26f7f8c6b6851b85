"""Data validation: Great Expectations suites over manifests and decode probes over files."""
