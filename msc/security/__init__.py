"""Accounts, sessions, MFA, the one access policy and the tamper-evident audit log."""
