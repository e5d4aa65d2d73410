"""The ``gold`` transcriber: the corpus' own transcript."""

from fusion.hookspecs import hookimpl


@hookimpl
def register_transcribers(register):
    register("gold", "fusion.transcripts:GoldTranscriber", aliases=("reference",),
             description="the corpus' own transcript (no speech recognition)")
