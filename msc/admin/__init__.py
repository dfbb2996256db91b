"""Administration: centres and user accounts. Admins never see beneficiary data."""
