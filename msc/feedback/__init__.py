"""Feedback and complaints: heard at the desk, at a kiosk or by phone, anonymously if wished; sensitive
complaints reach only the PSEA focal points."""
