"""The core CLI commands beyond `plugins` and `prepare`, added through ``register_commands``."""

import importlib

from fusion.hookspecs import hookimpl

# module -> click commands it defines; a module that does not exist yet is skipped
COMMAND_MODULES = {
    "fusion.commands.transcribe": ("transcribe",),
    "fusion.commands.train": ("train", "evaluate", "ablate"),
    "fusion.commands.predict": ("predict",),
    "fusion.commands.compose": ("compose",),
    "fusion.commands.export": ("export",),
    "fusion.commands.serve": ("serve",),
}


@hookimpl
def register_commands(cli):
    for module_name, names in COMMAND_MODULES.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        for name in names:
            command = getattr(module, name, None)
            if command is not None:
                cli.add_command(command)
