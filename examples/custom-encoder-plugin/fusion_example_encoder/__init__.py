"""An example third-party fusion plugin: the ``energy-contour`` acoustic encoder.

Nothing is imported here on purpose: ``fusion plugins`` imports only
:mod:`fusion_example_encoder.plugin`, and torch loads when the encoder is first used.
"""
