"""The partner directory: organisations, the services they offer, and their data-sharing agreements."""
