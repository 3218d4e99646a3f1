"""upload-emulator: an offline, spec-driven emulator of vendors' file-upload APIs.

Importing the package does nothing; `create_app` builds an application on demand.
"""

from upload_emulator.core.version import __version__


def create_app(settings=None):
    """Build the Flask application (imported lazily so `import upload_emulator` stays cheap)."""
    from upload_emulator.app import create_app as _create_app

    return _create_app(settings)


__all__ = ["__version__", "create_app"]
