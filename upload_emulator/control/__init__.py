"""The control plane under /_emulator/: its handlers (a spec-routed "vendor"), the metrics and the journal viewer."""
