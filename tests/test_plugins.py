"""fusion.plugins: in-process plugins, entry points, failure reporting, `fusion plugins --json`.

In-process plugins go through ``register_plugin`` / ``unregister_plugin`` (the ``plugin`` fixture
removes them and restores ``fusion.plugins.failures`` afterwards). Entry-point loading is tested
in-process with fake entry points and, for ``FUSION_LOAD_PLUGINS``, in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from importlib.metadata import EntryPoint, entry_points

import pytest
from click.testing import CliRunner

import fusion
from fusion import hookimpl, plugins
from fusion.errors import PluginError, UnknownComponentError
from fusion.registry import KINDS

DEFAULT_PLUGINS = set(plugins.DEFAULT_PLUGINS)


class Encoder:
    """An acoustic encoder stand-in (the registry does not care what the class is)."""


class TextThing:
    """A text encoder stand-in."""


class AlphaPlugin:
    @hookimpl
    def register_acoustic_encoders(self, register):
        register("alpha-enc", Encoder, aliases=("alpha",))
        register("alpha-lazy", "fusion.registry:Registry")

    @hookimpl
    def register_text_encoders(self, register):
        register("alpha-text", TextThing)


class BetaPlugin:
    """Clashes with alpha on one name, brings one of its own."""

    @hookimpl
    def register_acoustic_encoders(self, register):
        register("alpha-enc", "beta.module:Other")
        register("beta-enc", Encoder)


class RaisingPlugin:
    @hookimpl
    def register_acoustic_encoders(self, register):
        register("never-seen", Encoder)
        raise RuntimeError("boom while registering")

    @hookimpl
    def register_datasets(self, register):
        register("raising-data", lambda data_dir: [], protocol="speaker")


class WidgetPlugin:
    @hookimpl
    def register_widgets(self, register):
        register("widget", Encoder)

    @hookimpl
    def register_fusion_heads(self, register):
        register("widget-head", Encoder)


class BrokenImportPlugin:
    @hookimpl
    def register_transcribers(self, register):
        register("ghost-asr", "no_such_package_xyz.asr:Ghost", description="never importable")


@pytest.fixture
def plugin():
    """plugin(obj, name) registers an in-process plugin; all are removed after the test."""
    saved_failures = list(plugins.failures)
    names = []

    def _register(obj, name, **info):
        names.append(plugins.register_plugin(obj, name=name, **info))
        return names[-1]

    yield _register
    for name in names:
        plugins.unregister_plugin(name)
    plugins.failures[:] = saved_failures
    plugins.registries()  # rebuilt without them


def failures_of(name):
    return [f for f in plugins.failures if f.plugin == name]


def test_default_plugins_resolve_by_name_and_alias():
    assert fusion.get_fusion_head("cross-attention").plugin == "fusion.default_plugins.heads"
    assert fusion.get_fusion_head("mult") is fusion.get_fusion_head("cross-attention")
    assert fusion.get_transcriber("reference") is fusion.get_transcriber("gold")


def test_in_process_plugin_components_by_name_and_alias(plugin):
    plugin(AlphaPlugin(), "alpha")
    enc = fusion.get_acoustic_encoder("alpha-enc")
    assert (enc.plugin, enc.load()) == ("alpha", Encoder)
    assert fusion.get_acoustic_encoder("alpha") is enc
    assert fusion.get_acoustic_encoder("alpha-lazy").load() is plugins.Registry
    assert fusion.get_text_encoder("alpha-text").load() is TextThing
    assert enc.description == Encoder.__doc__.strip()
    assert not failures_of("alpha")


def test_unregister_removes_components(plugin):
    name = plugin(AlphaPlugin(), "alpha")
    assert "alpha-enc" in plugins.registries()["acoustic_encoder"]
    plugins.unregister_plugin(name)
    assert "alpha-enc" not in plugins.registries()["acoustic_encoder"]


def test_unknown_name_lists_valid_names(plugin):
    plugin(AlphaPlugin(), "alpha")
    with pytest.raises(UnknownComponentError) as info:
        fusion.get_acoustic_encoder("alpah-enc")
    message = str(info.value)
    assert message.startswith("unknown acoustic encoder 'alpah-enc'; valid choices: ")
    valid = message.split("valid choices: ")[1].split(", ")
    assert "alpha-enc" in valid and "alpha-lazy" in valid
    assert valid == sorted(plugins.registries()["acoustic_encoder"].names())
    with pytest.raises(UnknownComponentError, match="unknown fusion head 'nope'; valid choices: .*concat"):
        fusion.get_fusion_head("nope")


def test_unknown_kind_lists_kinds():
    with pytest.raises(UnknownComponentError) as info:
        plugins.get_component("widget", "x")
    assert all(kind in str(info.value) for kind in KINDS)


def test_duplicate_name_reported_naming_both_plugins_first_wins(plugin):
    plugin(AlphaPlugin(), "alpha")
    plugin(BetaPlugin(), "beta")
    enc = fusion.get_acoustic_encoder("alpha-enc")
    assert enc.plugin == "alpha" and enc.load() is Encoder  # the first registration keeps working
    assert fusion.get_acoustic_encoder("beta-enc").plugin == "beta"  # only the clashing name is dropped
    (failure,) = failures_of("beta")
    assert failure.stage == "register:acoustic_encoder"
    assert "'alpha-enc'" in failure.reason and "'alpha'" in failure.reason and "'beta'" in failure.reason
    assert not failures_of("alpha")
    plugin(BrokenImportPlugin(), "unrelated")  # any change rebuilds the registries...
    plugins.registries()
    assert len(failures_of("beta")) == 1  # ...and the clash is still reported once


def test_raising_register_hook_is_reported_and_others_still_resolve(plugin):
    plugin(AlphaPlugin(), "alpha")
    plugin(RaisingPlugin(), "raiser")
    assert fusion.get_acoustic_encoder("alpha-enc").plugin == "alpha"
    assert fusion.get_fusion_head("concat")  # defaults unaffected
    assert fusion.get_dataset("raising-data").meta == {"protocol": "speaker"}  # its other hook worked
    with pytest.raises(UnknownComponentError):
        fusion.get_acoustic_encoder("never-seen")  # a failing hook registers none of its components
    (failure,) = failures_of("raiser")
    assert failure.stage == "register:acoustic_encoder"
    assert failure.reason == "RuntimeError: boom while registering"


def test_unknown_hook_drops_the_plugin_and_reports_it(plugin):
    plugin(AlphaPlugin(), "alpha")
    plugin(WidgetPlugin(), "widgets")
    assert not plugins.pm.has_plugin("widgets")
    (failure,) = failures_of("widgets")
    assert failure.stage == "validate"
    assert "'register_widgets'" in failure.reason and "register_acoustic_encoders" in failure.reason
    with pytest.raises(UnknownComponentError):
        fusion.get_fusion_head("widget-head")  # dropped as a whole
    assert fusion.get_acoustic_encoder("alpha-enc")
    plugins.pm.check_pending()  # nothing unverified left behind
    assert "widgets" not in {row["name"] for row in plugins.plugin_report()}


def test_lazy_target_failing_to_import_raises_plugin_error_when_used(plugin):
    plugin(BrokenImportPlugin(), "ghosts")
    component = fusion.get_transcriber("ghost-asr")  # lookup is lazy: no import yet
    assert not failures_of("ghosts")
    with pytest.raises(PluginError) as info:
        component.build()
    message = str(info.value)
    assert "'ghost-asr'" in message and "'ghosts'" in message and "no_such_package_xyz" in message


def test_plugin_report_structure(plugin):
    plugin(AlphaPlugin(), "alpha", distribution="alpha-dist", version="1.2.3")
    rows = plugins.plugin_report()
    by_name = {row["name"]: row for row in rows}
    assert by_name["alpha"] == {
        "name": "alpha", "distribution": "alpha-dist", "version": "1.2.3", "module": "AlphaPlugin",
        "components": {"acoustic_encoder": ["alpha-enc", "alpha-lazy"], "text_encoder": ["alpha-text"]},
        "aliases": {"acoustic_encoder": {"alpha-enc": ["alpha"]}},
    }
    assert DEFAULT_PLUGINS <= set(by_name)
    assert [row["name"] for row in rows[: len(DEFAULT_PLUGINS)]] == sorted(DEFAULT_PLUGINS)  # core first
    assert by_name["fusion.default_plugins.heads"]["distribution"] == "fusion-ser"
    assert by_name["fusion.default_plugins.heads"]["version"] == fusion.__version__


def test_cli_plugins_lists_failures(plugin):
    from fusion.cli import cli

    plugin(AlphaPlugin(), "alpha")
    plugin(RaisingPlugin(), "raiser")
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0, result.output
    assert "alpha  ((in-process) )" in result.output
    assert "    acoustic encoder: alpha-enc (alias alpha), alpha-lazy" in result.output
    assert "FAILED raiser (register:acoustic_encoder): RuntimeError: boom while registering" in result.output
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    report = json.loads(result.output)
    assert {"plugin": "raiser", "stage": "register:acoustic_encoder",
            "reason": "RuntimeError: boom while registering"} in report["failures"]


class EmptyPlugin:
    """Implements no hook: registers nothing."""


class CommandPlugin:
    @hookimpl
    def register_commands(self, cli):
        import click

        @click.command("hello-plugin")
        def hello():
            """Say hello."""

        cli.add_command(hello)


def test_cli_plugins_shows_aliases_commands_and_marks_empty_plugins(plugin):
    from fusion.cli import _plugin_commands, _register_plugin_commands, cli

    plugin(AlphaPlugin(), "alpha")
    plugin(EmptyPlugin(), "empty")
    plugin(CommandPlugin(), "greeter")
    _register_plugin_commands()
    try:
        text = CliRunner().invoke(cli, ["plugins"])
        assert text.exit_code == 0, text.output
        blocks = {b.splitlines()[0].split("  (")[0]: b.splitlines()[1:] for b in _blocks(text.output)}
        assert blocks["alpha"] == ["    acoustic encoder: alpha-enc (alias alpha), alpha-lazy",
                                   "    text encoder: alpha-text"]
        assert blocks["empty"] == ["    (registers no components or commands)"]
        assert blocks["greeter"] == ["    commands: hello-plugin"]
        assert "    fusion head: concat, cross-attention (aliases mult, xattn), " in text.output
        assert "train" in blocks["fusion.default_plugins.commands"][0]
        as_json = {row["name"]: row for row in json.loads(CliRunner().invoke(cli, ["plugins", "--json"]).output)
                   ["plugins"]}
        assert as_json["greeter"]["commands"] == ["hello-plugin"] and as_json["empty"]["components"] == {}
        assert as_json["alpha"]["aliases"] == {"acoustic_encoder": {"alpha-enc": ["alpha"]}}
    finally:
        cli.commands.pop("hello-plugin", None)
        _plugin_commands.pop("greeter", None)


def _blocks(output: str) -> list[str]:
    """`fusion plugins` text -> one block per plugin (its header line and its indented lines)."""
    blocks: list[str] = []
    for line in output.splitlines():
        if line.startswith(" ") and blocks:
            blocks[-1] += "\n" + line
        elif not line.startswith("FAILED"):
            blocks.append(line)
    return blocks


# ----------------------------------------------------------------------------- entry points


@pytest.fixture
def fake_entry_points(monkeypatch):
    """Replace the installed entry points by fake ones and let load_plugins run again."""
    saved_failures = list(plugins.failures)
    module = types.ModuleType("fusion_test_entry_points")
    module.widgets = WidgetPlugin()
    module.alpha = AlphaPlugin()
    monkeypatch.setitem(sys.modules, module.__name__, module)
    eps = [
        EntryPoint("ep-broken", "no_such_package_xyz.plugin", plugins.ENTRY_POINT_GROUP),
        EntryPoint("ep-widgets", f"{module.__name__}:widgets", plugins.ENTRY_POINT_GROUP),
        EntryPoint("ep-alpha", f"{module.__name__}:alpha", plugins.ENTRY_POINT_GROUP),
    ]
    monkeypatch.setattr(plugins, "entry_points", lambda group: [ep for ep in eps if ep.group == group])
    monkeypatch.setattr(plugins, "_loaded", False)
    yield
    for ep in eps:
        plugins.unregister_plugin(ep.name)
    plugins.failures[:] = saved_failures
    plugins.registries()


def test_entry_point_failures_are_recorded_not_raised(fake_entry_points, monkeypatch):
    monkeypatch.delenv("FUSION_LOAD_PLUGINS", raising=False)
    plugins.load_plugins()
    (broken,) = failures_of("ep-broken")
    assert broken.stage == "import" and "ModuleNotFoundError" in broken.reason
    (widgets,) = failures_of("ep-widgets")
    assert widgets.stage == "validate" and "register_widgets" in widgets.reason
    assert fusion.get_acoustic_encoder("alpha-enc").plugin == "ep-alpha"
    report = {row["name"]: row for row in plugins.plugin_report()}
    assert "ep-alpha" in report and "ep-widgets" not in report and "ep-broken" not in report


def test_load_plugins_env_restricts_entry_points(fake_entry_points, monkeypatch):
    monkeypatch.setenv("FUSION_LOAD_PLUGINS", " ep-alpha , nonexistent")
    plugins.load_plugins()
    assert plugins.pm.has_plugin("ep-alpha")
    assert not failures_of("ep-broken") and not failures_of("ep-widgets")  # never attempted


def run_fusion_plugins_json(**env_overrides):
    env = {k: v for k, v in os.environ.items() if k != "FUSION_LOAD_PLUGINS"}
    env.update(env_overrides)
    out = subprocess.run([sys.executable, "-m", "fusion.cli", "plugins", "--json"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    return json.loads(out.stdout)


def test_fusion_plugins_json_structure():
    report = run_fusion_plugins_json()
    assert set(report) == {"plugins", "failures"}
    for row in report["plugins"]:
        assert set(row) == {"name", "distribution", "version", "module", "components", "aliases", "commands"}
        assert set(row["components"]) <= set(KINDS)
        assert all(isinstance(names, list) and names and all(isinstance(n, str) for n in names)
                   for names in row["components"].values())
        assert all(set(by_name) <= set(row["components"][kind]) and all(by_name.values())
                   for kind, by_name in row["aliases"].items())
        assert isinstance(row["commands"], list)
    for failure in report["failures"]:
        assert set(failure) == {"plugin", "stage", "reason"}
    names = {row["name"] for row in report["plugins"]}
    assert DEFAULT_PLUGINS <= names
    accounted = names | {f["plugin"] for f in report["failures"]}
    assert {ep.name for ep in entry_points(group=plugins.ENTRY_POINT_GROUP)} <= accounted
    heads = next(row for row in report["plugins"] if row["name"] == "fusion.default_plugins.heads")
    assert "cross-attention" in heads["components"]["fusion_head"]
    assert heads["aliases"]["fusion_head"]["late"] == ["decision"]
    commands = next(row for row in report["plugins"] if row["name"] == "fusion.default_plugins.commands")
    assert {"train", "ablate", "predict"} <= set(commands["commands"]) and commands["components"] == {}


def test_fusion_load_plugins_env_in_subprocess():
    installed = {ep.name for ep in entry_points(group=plugins.ENTRY_POINT_GROUP)}
    if "corpora" not in installed:
        pytest.skip("the fusion-corpora plugin is not installed")
    only_corpora = run_fusion_plugins_json(FUSION_LOAD_PLUGINS="corpora")
    assert {row["name"] for row in only_corpora["plugins"]} == DEFAULT_PLUGINS | {"corpora"}
    corpora = next(row for row in only_corpora["plugins"] if row["name"] == "corpora")
    assert corpora["distribution"] == "fusion-corpora"
    assert "ravdess" in corpora["components"]["dataset"]
    none = run_fusion_plugins_json(FUSION_LOAD_PLUGINS="")
    assert {row["name"] for row in none["plugins"]} == DEFAULT_PLUGINS
    assert none["failures"] == []
