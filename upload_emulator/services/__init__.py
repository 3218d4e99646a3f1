"""The emulator's state, one store per concern, and the Emulator that holds one of each; no HTTP here."""
