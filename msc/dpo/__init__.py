"""Data-protection operations: break-the-glass access and its review, the DPO's view of the audit log,
erasure and retention."""
