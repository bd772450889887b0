"""Tests of stage 7 (validation)."""
