"""The plugin manager: built-in default plugins + the ``fusion`` entry-point group.

Loading never raises for a broken plugin: the failure is recorded in
:data:`failures` (shown by ``fusion plugins``) and the rest keeps working.
``FUSION_LOAD_PLUGINS=a,b`` restricts which entry points load (an empty value
loads none); the default plugins are always loaded.
"""

from __future__ import annotations

import importlib
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

import pluggy

from . import hookspecs
from .errors import DuplicateComponentError, FusionError, PluginError, UnknownComponentError
from .registry import KINDS, Component, Registry, make_register

ENTRY_POINT_GROUP = "fusion"

# Modules inside the core package that are registered as plugins, exactly like third-party ones.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "fusion.default_plugins.heads",
    "fusion.default_plugins.transcribers",
    "fusion.default_plugins.commands",
)

pm = pluggy.PluginManager("fusion")
pm.add_hookspecs(hookspecs)


@dataclass(frozen=True)
class PluginFailure:
    plugin: str   # entry-point or module name
    stage: str    # "import", "validate", "register:<kind>"
    reason: str   # "ExceptionType: message"


@dataclass(frozen=True)
class PluginInfo:
    name: str            # name the plugin is registered under
    distribution: str    # installed distribution that provides it ("fusion-ser" for defaults)
    version: str
    module: str


failures: list[PluginFailure] = []
_info: dict[str, PluginInfo] = {}
_loaded = False
_registries: dict[str, Registry] | None = None


def _record(plugin: str, stage: str, exc: BaseException) -> None:
    failures.append(PluginFailure(plugin, stage, f"{type(exc).__name__}: {exc}"))


def _core_version() -> str:
    from . import __version__

    return __version__


def register_plugin(obj: Any, name: str | None = None, distribution: str = "(in-process)", version: str = "") -> str:
    """Register a plugin object/module in-process (tests, notebooks). Returns its name.

    Like an entry point, a plugin implementing an unknown hook is dropped and reported in :data:`failures`.
    """
    name = pm.register(obj, name=name)
    _info[name] = PluginInfo(name, distribution, version, getattr(obj, "__name__", type(obj).__name__))
    _drop_if_unknown_hooks(name, obj)
    _invalidate()
    return name


def unregister_plugin(name: str) -> None:
    pm.unregister(name=name)
    _info.pop(name, None)
    _invalidate()


def _invalidate() -> None:
    global _registries
    _registries = None


def load_plugins() -> None:
    """Load default plugins and entry points once; record (not raise) failures."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module_name in DEFAULT_PLUGINS:
        try:
            module = importlib.import_module(module_name)
            if not pm.is_registered(module):
                pm.register(module, name=module_name)
                _info[module_name] = PluginInfo(module_name, "fusion-ser", _core_version(), module_name)
        except Exception as exc:  # pragma: no cover - a broken core install
            _record(module_name, "import", exc)

    allowed = os.environ.get("FUSION_LOAD_PLUGINS")
    allow = None if allowed is None else {p.strip() for p in allowed.split(",") if p.strip()}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if allow is not None and ep.name not in allow:
            continue
        if pm.has_plugin(ep.name):
            continue
        try:
            module = ep.load()
            pm.register(module, name=ep.name)
        except Exception as exc:
            _record(ep.name, "import", exc)
            continue
        dist = getattr(ep, "dist", None)
        _info[ep.name] = PluginInfo(
            ep.name, dist.name if dist else "?", dist.version if dist else "?", ep.value
        )
    _validate()
    _invalidate()


def _validate() -> None:
    """pm.check_pending(), but a plugin implementing an unknown hook is dropped and reported."""
    for name, plugin in list(pm.list_name_plugin()):
        _drop_if_unknown_hooks(name, plugin)
    pm.check_pending()


def _drop_if_unknown_hooks(name: str, plugin: Any) -> None:
    # pluggy creates a spec-less HookCaller for an unknown hook name on register, so
    # "unknown" means: no such hook, or a hook without a spec.
    for hook_name in dir(plugin):
        if not pm.parse_hookimpl_opts(plugin, hook_name):
            continue
        hook = getattr(pm.hook, hook_name, None)
        if hook is None or hook.spec is None:
            pm.unregister(name=name)
            _info.pop(name, None)
            failures.append(PluginFailure(name, "validate", f"unknown hook {hook_name!r}; valid hooks: "
                                          + ", ".join([*KINDS.values(), "register_commands"])))
            return


def registries() -> dict[str, Registry]:
    """kind -> Registry, built by calling every plugin's hooks one plugin at a time."""
    global _registries
    load_plugins()
    if _registries is not None:
        return _registries
    built = {kind: Registry(kind) for kind in KINDS}
    stages = {f"register:{kind}" for kind in KINDS}
    failures[:] = [f for f in failures if f.stage not in stages]  # this rebuild reports them afresh
    for kind, hook_name in KINDS.items():
        hook = getattr(pm.hook, hook_name)
        # get_hookimpls() is in registration order (defaults, then entry points, then
        # in-process plugins): on a duplicate name the first registration wins.
        for impl in hook.get_hookimpls():
            pending: list[Component] = []
            try:
                impl.function(register=make_register(kind, impl.plugin_name, pending.append))
            except Exception as exc:  # a failing hook registers none of its components
                _record(impl.plugin_name, f"register:{kind}", exc)
                continue
            for component in pending:
                try:
                    built[kind].add(component)
                except DuplicateComponentError as exc:  # only the clashing name is dropped
                    failures.append(PluginFailure(impl.plugin_name, f"register:{kind}", str(exc)))
    _registries = built
    return built


def get_component(kind: str, name: str) -> Component:
    if kind not in KINDS:
        raise UnknownComponentError("component kind", kind, KINDS)
    return registries()[kind].get(name)


def describe_component(kind: str, component: Any) -> str:
    """"acoustic encoder 'cnn' from plugin 'acoustic'" for a built component (its plugin if registered)."""
    name = getattr(component, "name", "") or type(component).__name__
    what = f"{kind.replace('_', ' ')} {name!r}"
    try:
        return f"{what} from plugin {get_component(kind, name).plugin!r}"
    except FusionError:  # built directly, not through the registry
        return what


@contextmanager
def component_failures(kind: str, component: Any, where: str):
    """Turn an unexpected exception inside a component (a plugin bug) into a PluginError naming the
    component, its plugin and ``where`` (the input); FusionErrors pass through unchanged."""
    try:
        yield
    except FusionError:
        raise
    except Exception as exc:
        raise component_failure(kind, component, where, exc) from exc


def component_failure(kind: str, component: Any, where: str, exc: BaseException) -> FusionError:
    """``exc`` raised inside a component on ``where``, as the error fusion reports: a FusionError as it
    is, anything else (a plugin bug) as a PluginError naming the component, its plugin and ``where``."""
    if isinstance(exc, FusionError):
        return exc
    return PluginError(f"{describe_component(kind, component)} failed on {where}: {type(exc).__name__}: {exc}")


def plugin_report() -> list[dict]:
    """Every loaded plugin with its version, components by kind (``{kind: [name, ...]}``) and their
    other accepted names (``aliases``: ``{kind: {name: [alias, ...]}}``, only names that have some)."""
    regs = registries()
    rows = []
    for name, _plugin in pm.list_name_plugin():
        info = _info.get(name, PluginInfo(name, "?", "?", "?"))
        own = {kind: [c for c in regs[kind] if c.plugin == name] for kind in KINDS}
        rows.append({
            "name": name,
            "distribution": info.distribution,
            "version": info.version,
            "module": info.module,
            "components": {kind: [c.name for c in cs] for kind, cs in own.items() if cs},
            "aliases": {kind: {c.name: list(c.aliases) for c in cs if c.aliases}
                        for kind, cs in own.items() if any(c.aliases for c in cs)},
        })
    return sorted(rows, key=lambda r: (r["distribution"] != "fusion-ser", r["name"]))


def failure_report() -> list[dict]:
    return [{"plugin": f.plugin, "stage": f.stage, "reason": f.reason} for f in failures]


def warn_failures(stream=sys.stderr) -> None:
    for f in failures:
        print(f"warning: plugin {f.plugin!r} failed ({f.stage}): {f.reason}", file=stream)


__all__ = [
    "ENTRY_POINT_GROUP", "FusionError", "PluginFailure", "failures", "get_component",
    "load_plugins", "plugin_report", "pm", "register_plugin", "registries", "unregister_plugin",
]
