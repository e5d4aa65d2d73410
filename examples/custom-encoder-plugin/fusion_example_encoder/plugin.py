"""The plugin's hook implementations: what fusion imports through the entry point.

The encoder is registered by a ``"module:Class"`` string, so listing plugins
(``fusion plugins``) never imports torch or the encoder module.
"""

import fusion


@fusion.hookimpl
def register_acoustic_encoders(register):
    register(
        "energy-contour",
        "fusion_example_encoder.encoder:EnergyContourEncoder",
        aliases=("contours",),
        description="log-energy, zero-crossing-rate and spectral-centroid contours -> 1-D CNN, mean pooling",
    )
