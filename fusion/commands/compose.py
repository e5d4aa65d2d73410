"""``fusion compose``: an audio-only and a text-only model directory pooled into one composed model."""

from __future__ import annotations

import sys

import click

from ..training.device import DEVICES
from .options import transcriber_options


@click.command()
@click.option("--audio", "audio_dir", required=True, type=click.Path(file_okay=False),
              help="model directory of an audio-only model (fusion train --mode audio)")
@click.option("--text", "text_dir", required=True, type=click.Path(file_okay=False),
              help="model directory of a text-only model (fusion train --mode text)")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="composed model directory to write (the members are copied inside)")
@click.option("--labels", "keep_labels", metavar="L1,L2,...",
              help="output labels (canonical names; default: those both members model)")
@click.option("--calibrate", type=click.Path(dir_okay=False), metavar="MANIFEST",
              help="a labelled in-domain manifest (CSV/JSONL: path,label,speaker[,transcript]) to fit each "
                   "modality's weight and temperature on")
@click.option("--adapt", type=click.Path(dir_okay=False), metavar="MANIFEST",
              help="unlabelled clips of the target domain (CSV/JSONL: path[,speaker][,transcript]; a label "
                   "column is not read) to balance each member's average output on (not with --calibrate)")
@click.option("--label-map", "label_map_file", type=click.Path(dir_okay=False), metavar="FILE.toml",
              help="a [map] table renaming the calibration manifest's labels to canonical ones")
@click.option("--transcriber", help="the text member's speech-to-text for the calibration clips and for new "
                                    "audio, or 'gold' for the manifest's transcripts (default: the member's own)")
@click.option("--set", "sets", multiple=True, metavar="transcriber.KEY=VALUE",
              help="option of --transcriber, e.g. --set transcriber.model=PATH")
@click.option("--device", type=click.Choice(DEVICES), help="where the members run while calibrating (default cpu)")
def compose(audio_dir, text_dir, out_dir, keep_labels, calibrate, adapt, label_map_file, transcriber, sets, device):
    """Combine an audio model and a text model, trained on any corpora, by a weighted product of experts.

    p(y | audio, text) ∝ p_audio(y)^(w_a/T_a) · p_text(y)^(w_t/T_t) over the output labels, the
    members' labels mapped to canonical names (MELD joy -> happy, ...); a class one member lacks gets
    a uniform factor from it. Without --calibrate all weights and temperatures are 1; --adapt adds a
    per-member label bias fitted, without labels, so that its average output over the given clips is
    uniform. The result is a model directory for `fusion predict`, `evaluate`, `serve` and `fusion.load`.
    """
    from ..labels import load_label_map
    from ..runners import compose_model_dir

    doc = compose_model_dir(audio_dir, text_dir, out_dir, labels=keep_labels, calibrate=calibrate,
                            label_map=load_label_map(label_map_file) if label_map_file else None,
                            transcriber=transcriber, transcriber_config=transcriber_options(transcriber, sets),
                            device=device, log=lambda msg: click.echo(msg, err=True), adapt=adapt)
    w, t = doc["weights"], doc["temperatures"]
    how = "calibrated" if doc["calibration"] else "equal, uncalibrated"
    if doc.get("adaptation"):
        how += f"; label biases adapted on {doc['adaptation']['n']} unlabelled clips"
    click.echo(f"saved {out_dir} (labels {', '.join(doc['labels'])}; weights audio {w['audio']:.2f} text "
               f"{w['text']:.2f}, temperatures audio {t['audio']:.2f} text {t['text']:.2f}: {how})")
    sys.stdout.flush()
