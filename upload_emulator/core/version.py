"""The package's version, in one place (hatch reads it from here; the faces and the control plane show it)."""

__version__ = "0.1.0"
