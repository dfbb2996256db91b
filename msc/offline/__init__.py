"""Offline desks: tablets that register people and hand out kits without a connection, leaving nothing
readable on the device."""
