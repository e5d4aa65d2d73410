"""``fusion serve``: the local web demo of a trained model directory."""

from __future__ import annotations

import ipaddress
import sys

import click

from ..errors import ConfigError
from .options import build_predictor, predictor_options


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command()
@click.argument("model_dir", type=click.Path())
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="port to listen on (0: any free port; the URL is printed)")
@predictor_options("speech-to-text for text/fused models (default: the model's; without one, the page "
                   "asks for the transcript)")
@click.option("--max-upload-mb", default=50.0, show_default=True, type=float, help="largest accepted upload")
@click.option("--no-warmup", is_flag=True, help="skip the start-up prediction that loads lazy models")
@click.option("--quiet", is_flag=True, help="do not log each request")
@click.option("--ensemble-with", "ensemble_with", multiple=True, type=click.Path(), metavar="OTHER_DIR",
              help="another model directory whose probabilities are averaged with MODEL_DIR's (repeatable)")
def serve(model_dir, host, port, transcriber, sets, max_upload_mb, no_warmup, quiet, ensemble_with):
    """Serve a web page to upload or record audio and see the predicted emotion of MODEL_DIR.

    The page shows the transcript, the probabilities per class for the fused model and each
    modality branch, and a timeline for recordings longer than predict.long_threshold (20 s).
    Its JSON API is POST /api/predict (the audio file as the body). Stop with Ctrl+C.
    """
    from ..web import Demo, DemoServer

    predictor = build_predictor(model_dir, transcriber, sets, ensemble_with)
    demo = Demo(predictor, Demo.Config(max_upload_mb=max_upload_mb, warmup=not no_warmup))
    try:
        server = DemoServer((host, port), demo, quiet=quiet)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --port "
                          "(0 picks a free one)") from exc
    if not _is_loopback(host):
        click.echo(f"warning: listening on {host}: the demo has no authentication, anyone who can reach "
                   "this address can use it", err=True)
    if demo.needs_transcript:
        click.echo("note: the model has no speech-to-text transcriber: the page asks for each clip's "
                   "transcript (use --transcriber NAME to transcribe)", err=True)
    click.echo(f"serving {' + '.join(map(str, [model_dir, *ensemble_with]))} at {server.url} (Ctrl+C to stop)")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
    finally:
        server.server_close()
