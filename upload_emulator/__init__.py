"""upload-emulator: an offline, spec-driven emulator of vendors' file-upload APIs.

Importing the package does next to nothing; `create_app(Settings(...))` builds an application
on demand. The public faces are this module, `upload_emulator.testing` (a live emulator and
its helpers), the pytest plugin and the `upload-emulator` command.
"""

from upload_emulator.core.settings import Settings
from upload_emulator.core.version import __version__


def create_app(settings: Settings | None = None):
    """Build the Flask application (imported lazily so `import upload_emulator` stays cheap)."""
    from upload_emulator.app import create_app as _create_app

    return _create_app(settings)


__all__ = ["Settings", "__version__", "create_app"]
