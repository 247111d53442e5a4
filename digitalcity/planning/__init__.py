"""Planner queries: identify a parcel and build its card (use, zone, controls, FAR, surroundings)."""
