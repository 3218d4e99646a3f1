"""Drift: record a vendor's real answers once (`record`, `scenarios`), verify the emulator against them (`verify`)."""
