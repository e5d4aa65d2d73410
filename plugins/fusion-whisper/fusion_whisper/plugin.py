"""Hook implementations of this plugin (registered by path: nothing heavy is imported here)."""

from fusion import hookimpl


@hookimpl
def register_transcribers(register):
    register("whisper", "fusion_whisper.transcriber:WhisperTranscriber", aliases=("openai-whisper",),
             description="openai-whisper speech-to-text (model name or local .pt checkpoint)")
    register("whisper-shared", "fusion_whisper.shared_transcriber:SharedPassWhisperTranscriber",
             description="openai-whisper decoding from the padded encoder pass shared with whisper-encoder-shared")


@hookimpl
def register_acoustic_encoders(register):
    register("whisper-encoder", "fusion_whisper.encoder:WhisperEncoder", aliases=("whisper",),
             description="frozen Whisper encoder states on the real clip length, layer-weighted and pooled, "
                         "with the clip's eGeMAPS prosodic functionals")
    register("whisper-encoder-shared", "fusion_whisper.shared_encoder:SharedPassWhisperEncoder",
             description="whisper-encoder on the padded pass shared with the whisper-shared transcriber")
