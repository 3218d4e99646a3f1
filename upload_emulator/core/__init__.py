"""What everything else stands on: errors and how vendors render them, profiles from fixtures,
settings, the clock, data files, retention caps and cursors."""
