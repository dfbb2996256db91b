"""The regional protection fund: criteria, applications, decisions, disbursements, audit."""
