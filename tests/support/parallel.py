"""Running the suite side by side with pytest-xdist (`scripts/test` runs `-n 2 --dist
loadfile`). pytest-django gives each worker a test database of its own (`test_<name>_gw0`,
…) and tmp_path a folder of its own, so the media roots and the live stacks' folders are
apart; the stacks take free ports. Two things are set here: each worker's channel-layer
prefix, and the modules that must not run at the same time as one another.

pytest-xdist's own way to group tests, `xdist_group` marks with `--dist loadgroup`, does
nothing with pytest 9.2 (pytest-xdist issue 1386: the group goes into the node id, which
pytest no longer lets it change), so the groups are named here, by module."""

import os

# Modules that start stacks of their own with extra processes and hold time bounds (floods,
# kills, threads that must overlap): one after another on one worker, never two at once.
GROUPS = {
    "tests/test_crash.py": "own-stacks",
    "tests/test_load.py": "own-stacks",
    "tests/test_scale_out.py": "own-stacks",
    "tests/test_worker.py": "own-stacks",
}


def separate_channel_layers():
    """Each worker inherits the controller's CHANNELS_PREFIX (settings_test.py made it from the
    controller's pid): give each worker its own, so one's events never reach another's
    sockets. The live stacks pass it on to their processes."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    from django.conf import settings

    config = settings.CHANNEL_LAYERS["default"].get("CONFIG", {})
    if "prefix" in config:
        config["prefix"] = os.environ["CHANNELS_PREFIX"] = f"{config['prefix']}-{worker}"


def make_scheduler(config, log):
    """For `--dist loadfile`: each module on one worker, as loadfile does, and the modules of
    one of GROUPS together as one unit of work. None for the other modes (xdist's own)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class LoadFileAndGroups(LoadFileScheduling):
        def _split_scope(self, nodeid):
            module = super()._split_scope(nodeid)
            return GROUPS.get(module, module)

    return LoadFileAndGroups(config, log)
