"""The JSON API for other systems (/api/v1), its service accounts' tokens and their administration."""

PREFIX = "/api/v1"
