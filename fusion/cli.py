"""The ``fusion`` command line: parse arguments, call the library, print.

Every :class:`fusion.errors.FusionError` becomes one line ``error: ...`` and exit status 1;
set ``FUSION_DEBUG=1`` to see tracebacks. Plugins add commands with ``register_commands(cli)``.
"""

from __future__ import annotations

import json
import os
import sys

import click

from . import __version__
from .errors import FusionError


class FusionGroup(click.Group):
    def main(self, *args, **kwargs):
        kwargs["standalone_mode"] = False
        try:
            rv = super().main(*args, **kwargs)
            sys.exit(rv if isinstance(rv, int) else 0)
        except click.exceptions.Abort:
            click.echo("aborted", err=True)
            sys.exit(130)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except FusionError as exc:
            if os.environ.get("FUSION_DEBUG"):
                raise
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # a bug or a plugin failing deep inside: still one line
            if os.environ.get("FUSION_DEBUG"):
                raise
            click.echo(f"error: unexpected {type(exc).__name__}: {exc} (set FUSION_DEBUG=1 for a traceback)",
                       err=True)
            sys.exit(2)


@click.group(cls=FusionGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fusion")
def cli():
    """fusion: multimodal speech emotion recognition (audio + transcript)."""


def _with_aliases(name: str, aliases) -> str:
    """``"late (alias decision)"``, ``"cross-attention (aliases mult, xattn)"``, or the bare name."""
    if not aliases:
        return name
    return f"{name} ({'aliases' if len(aliases) > 1 else 'alias'} {', '.join(aliases)})"


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
def plugins(as_json):
    """List plugins, their versions and the components (with aliases) and commands they register."""
    from .plugins import failure_report, plugin_report

    rows, failed = plugin_report(), failure_report()
    for row in rows:
        row["commands"] = sorted(_plugin_commands.get(row["name"], ()))
    if as_json:
        click.echo(json.dumps({"plugins": rows, "failures": failed}, indent=2))
        return
    for row in rows:
        click.echo(f"{row['name']}  ({row['distribution']} {row['version']})")
        for kind, names in row["components"].items():
            aliases = row["aliases"].get(kind, {})
            click.echo(f"    {kind.replace('_', ' ')}: " + ", ".join(_with_aliases(n, aliases.get(n, ())) for n in names))
        if row["commands"]:
            click.echo(f"    commands: {', '.join(row['commands'])}")
        if not row["components"] and not row["commands"]:
            click.echo("    (registers no components or commands)")
    for f in failed:
        click.echo(f"FAILED {f['plugin']} ({f['stage']}): {f['reason']}")


@cli.command()
@click.argument("dataset")
@click.argument("data_dir", required=False, type=click.Path(path_type=str))
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), help="manifest (JSONL) to write")
@click.option("--json", "as_json", is_flag=True, help="print the counts as JSON")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="recipe option, e.g. --option labels=all (IEMOCAP), --option with_audio=false (MELD)")
def prepare(dataset, data_dir, output, as_json, options):
    """Parse a corpus with the recipe DATASET and write a manifest."""
    from .data import summarize, write_manifest
    from .errors import ConfigError
    from .recipes import prepare_dataset

    kwargs = {}
    for item in options:
        key, eq, raw = item.partition("=")
        if not eq:
            raise ConfigError(f"--option {item!r}: expected KEY=VALUE")
        try:
            kwargs[key] = json.loads(raw)
        except json.JSONDecodeError:
            kwargs[key] = raw
    corpus = prepare_dataset(dataset, data_dir, **kwargs)
    if output:
        write_manifest(corpus, output)
    summary = summarize(corpus)
    summary["skipped"] = [{"path": p, "reason": r} for p, r in corpus.skipped]
    if as_json:
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        click.echo(f"{summary['utterances']} utterances, {len(summary['speakers'])} speakers, "
                   f"{len(summary['labels'])} labels")
        click.echo("labels:   " + ", ".join(f"{k} {v}" for k, v in summary["labels"].items()))
        click.echo("speakers: " + ", ".join(f"{k} {v}" for k, v in summary["speakers"].items()))
        from collections import Counter

        for p, r in corpus.skipped[:20]:
            click.echo(f"skipped {p}: {r}")
        if len(corpus.skipped) > 20:
            reasons = Counter(r for _, r in corpus.skipped)
            click.echo(f"... {len(corpus.skipped) - 20} more skipped; by reason: "
                       + "; ".join(f"{n} x {r}" for r, n in reasons.most_common(5))
                       + " (all listed with --json)")
        if output:
            click.echo(f"wrote {output}")
    if corpus.skipped:
        click.echo(f"warning: {len(corpus.skipped)} file(s) could not be parsed (listed above)", err=True)


_plugin_commands: dict[str, set[str]] = {}  # plugin name -> the commands its register_commands added


def _register_plugin_commands() -> None:
    from .plugins import _record, load_plugins, pm

    load_plugins()
    for impl in pm.hook.register_commands.get_hookimpls():
        before = dict(cli.commands)
        try:
            impl.function(cli=cli)
        except Exception as exc:
            _record(impl.plugin_name, "register:commands", exc)
        added = {name for name, command in cli.commands.items() if before.get(name) is not command}
        if added:
            _plugin_commands.setdefault(impl.plugin_name, set()).update(added)


def main(argv=None):
    _register_plugin_commands()
    from .plugins import warn_failures

    warn_failures()
    return cli.main(args=argv, prog_name="fusion")


if __name__ == "__main__":  # python -m fusion.cli
    main()
