"""Running MSC Case in production: health checks, the structured operations log, error reporting."""
