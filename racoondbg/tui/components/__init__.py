"""Widgets the views are built from, one family per module."""
