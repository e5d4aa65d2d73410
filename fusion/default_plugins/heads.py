"""The built-in fusion heads (``fusion.heads``), registered through the same hook as any plugin."""

from fusion.hookspecs import hookimpl


@hookimpl
def register_fusion_heads(register):
    register("concat", "fusion.heads.concat:ConcatHead",
             description="early fusion: concatenated pooled embeddings -> MLP")
    register("gated", "fusion.heads.gated:GatedHead",
             description="learned per-dimension gate between the modalities")
    register("late", "fusion.heads.late:LateHead", aliases=("decision",),
             description="decision-level fusion of unimodal classifiers' log-probabilities")
    register("cross-attention", "fusion.heads.cross_attention:CrossAttentionHead",
             aliases=("mult", "xattn"),
             description="bidirectional cross-modal attention (audio<->text), MulT-style")
    register("tensor", "fusion.heads.tensor:TensorHead", aliases=("tfn",),
             description="outer-product (TFN) fusion, low-rank option")
    register("unimodal", "fusion.heads.unimodal:UnimodalHead",
             description="classifier over one modality (audio-only / text-only modes)")
