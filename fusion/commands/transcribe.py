"""``fusion transcribe``: speech-to-text over a manifest, cached per audio content and transcriber."""

from __future__ import annotations

import json
from collections import Counter

import click

from fusion.errors import TranscriptionError

from .options import quiet_option

MAX_REASONS = 3  # distinct failure reasons echoed after the summary (all are in the output file)


def output_rows(utterances, report) -> list[dict]:
    """One row per manifest utterance, in manifest order: {id, transcript} or {id, transcript: null, error}."""
    rows = []
    for u in utterances:
        if u.id in report.errors:
            rows.append({"id": u.id, "transcript": None, "error": report.errors[u.id]})
        else:
            rows.append({"id": u.id, "transcript": report.transcripts[u.id]})
    return rows


@click.command()
@click.argument("manifest", type=click.Path(dir_okay=False))
@click.option("-t", "--transcriber", "name", default="faster-whisper", show_default=True,
              help="registered transcriber (see `fusion plugins`)")
@click.option("--model", default=None, help="model name or local checkpoint/folder of the transcriber")
@click.option("--language", default=None, help="spoken language code (default: auto / the model's)")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="JSONL to write")
@click.option("--batch-size", default=8, show_default=True, type=click.IntRange(min=1),
              help="clips handed to the transcriber at once")
@click.option("--no-cache", is_flag=True, help="neither read nor write the transcript cache")
@quiet_option
def transcribe(manifest, name, model, language, output, batch_size, no_cache, quiet):
    """Transcribe every utterance of MANIFEST (JSONL) and write {id, transcript, error?} rows."""
    import fusion
    from fusion.cache import Cache, atomic_write_text
    from fusion.progress import progress_bars
    from fusion.transcripts import transcribe_utterances

    utterances = fusion.read_manifest(manifest)
    # only the options given; one the transcriber's Config lacks is a ConfigError listing valid ones
    options = {k: v for k, v in {"model": model, "language": language}.items() if v is not None}
    transcriber = fusion.get_transcriber(name).build(options)
    report = transcribe_utterances(utterances, transcriber, cache=Cache("transcripts", enabled=not no_cache),
                                   progress=progress_bars(quiet), batch_size=batch_size)
    rows = output_rows(utterances, report)
    atomic_write_text(output, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    click.echo(f"{report.computed} transcribed, {report.cached} from cache, {len(report.errors)} errors "
               f"-> {output}")
    if report.errors:
        reasons = Counter(report.errors.values()).most_common(MAX_REASONS)
        for reason, count in reasons:
            click.echo(f"  {count} x {reason}", err=True)
        raise TranscriptionError(f"{len(report.errors)} of {len(utterances)} utterances failed "
                                 f"(rows with an 'error' field in {output})")
