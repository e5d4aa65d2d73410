"""fusion-acoustic: log-mel / MFCC features, augmentation and the CNN, CNN-LSTM and LSTM acoustic encoders.

Importing this package is cheap (no torch): the encoders are registered by
``"module:Class"`` strings in :mod:`fusion_acoustic.plugin` and imported on first use.
"""
