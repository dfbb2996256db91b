"""Referrals to partner services, their lifecycle, the partner portal and disclosures."""
