"""Component records and the per-kind registries built from the plugin hooks."""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError, DuplicateComponentError, PluginError, UnknownComponentError

# kind -> hook name. The kind strings appear in error messages and `fusion plugins`.
KINDS: dict[str, str] = {
    "acoustic_encoder": "register_acoustic_encoders",
    "text_encoder": "register_text_encoders",
    "transcriber": "register_transcribers",
    "fusion_head": "register_fusion_heads",
    "dataset": "register_datasets",
}


def _pretty(kind: str) -> str:
    return kind.replace("_", " ")


@dataclass(frozen=True)
class Component:
    """One registered component: what it is called, who provided it, how to build it."""

    kind: str                      # one of KINDS
    name: str                      # canonical name used on the CLI and in configs
    target: Any                    # class / function, or "module:attr" imported lazily
    plugin: str                    # name of the plugin that registered it
    aliases: tuple[str, ...] = ()  # other accepted names
    description: str = ""          # one line for `fusion plugins`
    meta: dict = field(default_factory=dict, compare=False)  # kind-specific extras

    def load(self) -> Any:
        """Return the class or function, importing it if it was registered by path."""
        if not isinstance(self.target, str):
            return self.target
        module_name, _, attr = self.target.partition(":")
        try:
            obj = importlib.import_module(module_name)
            for part in attr.split("."):
                obj = getattr(obj, part)
        except Exception as exc:  # report which plugin is broken, not a deep traceback
            raise PluginError(
                f"{_pretty(self.kind)} {self.name!r} from plugin {self.plugin!r} failed to load "
                f"({self.target}): {type(exc).__name__}: {exc}"
            ) from exc
        return obj

    def build(self, config: Any = None, **kwargs: Any) -> Any:
        """Instantiate a class component: ``cls(cls.Config(**config), **kwargs)``."""
        cls = self.load()
        cfg = make_config(cls, config, where=f"{_pretty(self.kind)} {self.name!r}")
        return cls(cfg, **kwargs) if cfg is not None else cls(**kwargs)


def check_options(cls: Any, d: dict, where: str) -> None:
    """ConfigError naming ``where`` and the valid options when ``d`` has a key that is no field of dataclass ``cls``."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(d) - names
    if unknown:
        raise ConfigError(f"{where}: unknown option(s) {sorted(unknown)}; valid options: {sorted(names)}")


def make_config(cls: Any, config: Any, where: str) -> Any:
    """Turn ``None`` / a dict / a Config instance into ``cls.Config``; unknown keys are errors."""
    config_type = getattr(cls, "Config", None)
    if config_type is None:
        if config:
            raise ConfigError(f"{where} takes no configuration, got {config!r}")
        return None
    if isinstance(config, config_type):
        return config
    values = dict(config or {})
    fields = {f.name: f for f in dataclasses.fields(config_type)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where}: unknown option(s) {', '.join(unknown)}; valid options: {', '.join(sorted(fields))}"
        )
    for key, value in list(values.items()):  # lists from JSON/TOML back to tuples
        if isinstance(value, list):
            values[key] = tuple(value)
    try:
        return config_type(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: invalid configuration: {exc}") from exc


class Registry:
    """Name -> Component for one kind, with alias resolution."""

    def __init__(self, kind: str):
        self.kind = kind
        self._by_name: dict[str, Component] = {}
        self._aliases: dict[str, str] = {}

    def add(self, component: Component) -> None:
        for key in (component.name, *component.aliases):
            owner = self._lookup(key)
            if owner is not None:
                raise DuplicateComponentError(
                    f"{_pretty(self.kind)} name {key!r} is registered twice: by plugin "
                    f"{owner.plugin!r} and by plugin {component.plugin!r}"
                )
        self._by_name[component.name] = component
        for alias in component.aliases:
            self._aliases[alias] = component.name

    def _lookup(self, name: str) -> Component | None:
        name = self._aliases.get(name, name)
        return self._by_name.get(name)

    def get(self, name: str) -> Component:
        found = self._lookup(name)
        if found is None:
            raise UnknownComponentError(_pretty(self.kind), name, self.names())
        return found

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def __contains__(self, name: str) -> bool:
        return self._lookup(name) is not None

    def __iter__(self):
        return iter(sorted(self._by_name.values(), key=lambda c: c.name))

    def __len__(self) -> int:
        return len(self._by_name)


def make_register(kind: str, plugin: str, sink: Callable[[Component], None]) -> Callable[..., None]:
    """The ``register`` callable handed to one plugin's ``register_*`` hook."""

    def register(name: str, target: Any, *, aliases: Iterable[str] = (), description: str = "", **meta: Any) -> None:
        if not isinstance(name, str) or not name:
            raise PluginError(f"plugin {plugin!r} registered a {_pretty(kind)} without a name")
        if not description and not isinstance(target, str):
            description = (getattr(target, "__doc__", None) or "").strip().split("\n")[0]
        sink(Component(kind, name, target, plugin, tuple(aliases), description, dict(meta)))

    return register
