"""Pseudo-labels: teacher inference with uncertainty on unlabelled corpora, selection, the
quality report against the hidden truth, and the label-efficiency experiment."""
