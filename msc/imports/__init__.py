"""Imports of existing lists (CSV, XLSX, KoBoToolbox exports): map, preview, import as a job, undo."""
