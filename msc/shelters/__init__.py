"""Temporary accommodation: shelters, their capacity and occupancy, placements."""
