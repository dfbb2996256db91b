"""Case management: cases, assessments, case notes and follow-up tasks."""
