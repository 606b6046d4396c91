"""Calibrating a scenario from a client's ticket history."""
