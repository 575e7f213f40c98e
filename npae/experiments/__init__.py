"""Experiments: each runs its stages on models and theory, and returns metrics and figures."""
