"""Hook implementations of this plugin (registered by path: nothing heavy is imported here)."""

from fusion import hookimpl


@hookimpl
def register_transcribers(register):
    register("faster-whisper", "fusion_faster_whisper.transcriber:FasterWhisperTranscriber",
             aliases=("ctranslate2",),
             description="faster-whisper (CTranslate2, int8 on CPU); offline tiny.en by default, "
                         "model=base offline with the [base] extra")
