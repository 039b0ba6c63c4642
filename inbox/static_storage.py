"""Static files in production: hashed, compressed names (WhiteNoise over Django's manifest).

The inbox's script is ES modules (static/js/inbox.js and static/js/inbox/) that import one
another by relative path. Django rewrites those imports to the hashed names only when asked
(`support_js_module_import_aggregation`); without it a module would load its neighbours under
their plain names, which are not cached for ever and could be a release behind."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class ManifestStaticStorage(CompressedManifestStaticFilesStorage):
    support_js_module_import_aggregation = True
