"""Migrant Support Centres: where people are registered and served."""
