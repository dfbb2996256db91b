"""Reports and dashboards: aggregates by sex, age band and nationality, never a person."""
