"""``fusion predict``: emotion of audio files, folders and manifests with a trained model directory."""

from __future__ import annotations

import click

from ..errors import FusionError
from .options import build_predictor, predictor_options, quiet_option

CHUNK = 32  # inputs per predict_batch call (progress granularity; memory stays bounded)
GROUP_CHUNK = 256  # the same for a model that normalises speakers: inputs of one call without a speaker
                   # are normalised together, so larger calls (decoded clips of a call are held in memory)
def speaker_chunks(inputs, loose: int = CHUNK) -> list[list[int]]:
    """Indices of the inputs per predict_batch call: all the clips of one speaker together (a model
    with speaker normalisation standardises them as one group), the others ``loose`` at a time."""
    by_speaker: dict[str, list[int]] = {}
    rest: list[int] = []
    for n, item in enumerate(inputs):
        (by_speaker.setdefault(item.speaker, []) if item.speaker is not None else rest).append(n)
    return [*by_speaker.values(), *(rest[i:i + loose] for i in range(0, len(rest), loose))]


@click.command()
@click.argument("model_dir", type=click.Path())
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True,
              help='print one JSON document {"predictions": [...], "errors": [...]} instead of the table')
@click.option("--csv", "csv_out", type=click.Path(dir_okay=False),
              help="also write a CSV (one row per input, plus one per segment of a long input)")
@click.option("--recursive/--no-recursive", default=True, show_default=True,
              help="search folders given as PATH recursively for audio files")
@click.option("--ensemble-with", "ensemble_with", multiple=True, type=click.Path(), metavar="OTHER_DIR",
              help="also load this model directory and average the class probabilities of all models "
                   "(repeatable; labels must match)")
@predictor_options("speech-to-text for text/fused models (default: the one the model was trained with; "
                   "required for models trained on gold transcripts)")
@quiet_option
def predict(model_dir, paths, as_json, csv_out, recursive, ensemble_with, transcriber, sets, quiet):
    """Predict the emotion of each audio file in PATHS (files, folders or .jsonl manifests).

    Recordings longer than predict.long_threshold (20 s) are split at pauses and get a timeline
    plus a whole-file summary. A bad input is reported in the output and the others are still
    predicted; the exit status is 1 when any input failed. With --ensemble-with the predictions
    are the mean of MODEL_DIR's and the other models' probabilities.
    """
    from ..cache import atomic_write_text
    from ..inference import expand_paths
    from ..inference.inputs import unique_ids
    from ..inference.output import to_csv, to_json, to_table
    from ..progress import progress_bars

    predictor = build_predictor(model_dir, transcriber, sets, ensemble_with)
    inputs = unique_ids(expand_paths(paths, recursive=recursive))
    if predictor.transcript_source is not None and not quiet:
        click.echo(f"transcripts: {predictor.transcript_source}", err=True)
    predictions = [None] * len(inputs)
    progress = progress_bars(quiet) if len(inputs) > 1 else None
    bar = progress(total=len(inputs), desc="predict", unit="file") if progress else None
    try:
        for chunk in speaker_chunks(inputs, GROUP_CHUNK if predictor.normalizes_speakers else CHUNK):
            for n, prediction in zip(chunk, predictor.predict_batch([inputs[n] for n in chunk])):
                predictions[n] = prediction
            if bar is not None:
                bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()
    if csv_out:
        atomic_write_text(csv_out, to_csv(predictions, predictor.labels))
    if as_json:
        models = [model_dir, *ensemble_with] if ensemble_with else model_dir  # an ensemble: every directory
        click.echo(to_json(predictions, models, predictor.mode, predictor.labels))
    else:
        click.echo(to_table(predictions, show_transcript=predictor.uses_text))
    failed = [p for p in predictions if not p.ok]
    if not quiet or failed:
        click.echo(f"{len(predictions) - len(failed)} predicted, {len(failed)} failed"
                   + (f" -> {csv_out}" if csv_out else ""), err=True)
    if failed:
        raise FusionError(f"{len(failed)} of {len(predictions)} inputs failed (see "
                          + ("'errors' in the JSON output)" if as_json else "the ERROR rows above)"))
