"""fusion.registry: one kind's Registry (names, aliases, duplicates), Component.load/build, make_config,
and the ``register`` callable handed to plugins. No plugin manager involved (see test_plugins.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from fusion.errors import ConfigError, DuplicateComponentError, PluginError, UnknownComponentError
from fusion.registry import KINDS, Component, Registry, make_config, make_register


@dataclass(frozen=True)
class WidthConfig:
    width: int = 4                 # a number
    sizes: tuple[int, ...] = (1,)  # a tuple, given as a list in JSON/TOML


class Configurable:
    """A configurable test component."""

    Config = WidthConfig

    def __init__(self, config, tag=None):
        self.config, self.tag = config, tag


class Plain:
    def __init__(self, tag=None):
        self.tag = tag


def component(name, target=Configurable, plugin="p1", aliases=(), kind="acoustic_encoder"):
    return Component(kind, name, target, plugin, tuple(aliases))


@pytest.fixture
def registry():
    reg = Registry("acoustic_encoder")
    reg.add(component("cnn", aliases=("conv",)))
    reg.add(component("lstm", aliases=("bilstm", "rnn")))
    return reg


def test_lookup_by_name_and_alias(registry):
    assert registry.get("cnn").name == "cnn"
    assert registry.get("conv") is registry.get("cnn")
    assert registry.get("rnn") is registry.get("bilstm") is registry.get("lstm")
    assert "conv" in registry and "cnn" in registry and "gru" not in registry
    assert registry.names() == ["cnn", "lstm"]  # canonical names only, sorted
    assert [c.name for c in registry] == ["cnn", "lstm"]
    assert len(registry) == 2


def test_unknown_name_lists_valid_names(registry):
    with pytest.raises(UnknownComponentError) as info:
        registry.get("transformer")
    message = str(info.value)
    assert message == "unknown acoustic encoder 'transformer'; valid choices: cnn, lstm"
    assert info.value.valid == ["cnn", "lstm"]
    assert isinstance(info.value, KeyError)  # callers may still catch KeyError


def test_unknown_name_in_empty_registry():
    with pytest.raises(UnknownComponentError, match=r"\(none registered\)"):
        Registry("dataset").get("ravdess")


@pytest.mark.parametrize("clash", ["cnn", "conv", "lstm"])
def test_duplicate_name_or_alias_names_both_plugins(registry, clash):
    with pytest.raises(DuplicateComponentError) as info:
        registry.add(component(clash if clash != "lstm" else "new", plugin="p2",
                               aliases=("lstm",) if clash == "lstm" else ()))
    message = str(info.value)
    assert repr(clash) in message and "'p1'" in message and "'p2'" in message
    assert registry.get(clash).plugin == "p1"  # the first registration is untouched
    assert "new" not in registry


def test_load_lazy_target_and_failures():
    ok = component("x", target="fusion.registry:Registry")
    assert ok.load() is Registry
    nested = component("x", target="fusion.registry:Component.load")
    assert nested.load() is Component.load
    for target, reason in [("no_such_pkg_xyz.mod:Cls", "ModuleNotFoundError"),
                           ("fusion.registry:NoSuchClass", "AttributeError")]:
        with pytest.raises(PluginError) as info:
            component("broken", target=target, plugin="my-plugin").load()
        message = str(info.value)
        assert "'broken'" in message and "'my-plugin'" in message and target in message and reason in message


def test_build_with_dict_instance_and_kwargs():
    comp = component("c")
    built = comp.build({"width": 8, "sizes": [2, 3]}, tag="t")
    assert built.config == WidthConfig(8, (2, 3)) and built.tag == "t"
    assert comp.build().config == WidthConfig()
    given = WidthConfig(width=5)
    assert comp.build(given).config is given
    assert component("plain", target=Plain).build(tag=1).tag == 1


def test_build_rejects_unknown_options_listing_valid_ones():
    with pytest.raises(ConfigError) as info:
        component("c").build({"widht": 8})
    message = str(info.value)
    assert "acoustic encoder 'c'" in message and "widht" in message
    assert "valid options: sizes, width" in message
    with pytest.raises(ConfigError, match="takes no configuration"):
        component("plain", target=Plain).build({"x": 1})
    assert component("plain", target=Plain).build({}).tag is None  # an empty config is fine


def test_make_config_wraps_constructor_errors():
    @dataclass(frozen=True)
    class Checked:
        n: int = 1

        def __post_init__(self):
            if self.n < 0:
                raise ValueError("n must be >= 0")

    class Owner:
        Config = Checked

    with pytest.raises(ConfigError, match="where: invalid configuration: n must be >= 0"):
        make_config(Owner, {"n": -1}, where="where")
    assert make_config(Owner, None, where="where") == Checked()


def test_make_register_builds_components():
    sink = []
    register = make_register("fusion_head", "heads-plugin", sink.append)
    register("concat", Configurable, aliases=["cat"], dim=3)
    register("lazy", "pkg.mod:Cls", description="given")
    register("lazy2", "pkg.mod:Cls")
    first, lazy, lazy2 = sink
    assert (first.kind, first.name, first.plugin) == ("fusion_head", "concat", "heads-plugin")
    assert first.aliases == ("cat",)
    assert first.description == "A configurable test component."  # first docstring line
    assert first.meta == {"dim": 3}
    assert lazy.description == "given" and lazy.target == "pkg.mod:Cls"
    assert lazy2.description == ""  # a lazy target is not imported for its docstring
    for bad in ("", None):
        with pytest.raises(PluginError, match="heads-plugin"):
            register(bad, Configurable)


def test_kinds_map_to_hook_names():
    from fusion import hookspecs

    for kind, hook in KINDS.items():
        assert callable(getattr(hookspecs, hook)), kind
