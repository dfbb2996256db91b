"""The reception desk: search, registration, households, consent, duplicates, the beneficiary card."""
