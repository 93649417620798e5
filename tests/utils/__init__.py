"""Test helpers: real servers started on free ports."""
