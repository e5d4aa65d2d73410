"""Hook implementations of the fusion-acoustic plugin (lazy: nothing here imports torch)."""

from fusion import hookimpl


@hookimpl
def register_acoustic_encoders(register):
    register("cnn", "fusion_acoustic.cnn:CNNEncoder",
             description="2-D CNN over log-mel (conv-BN-ReLU-pool blocks), masked mean pooling")
    register("cnn-lstm", "fusion_acoustic.cnn_lstm:CNNLSTMEncoder", aliases=("crnn",),
             description="CNN front end over log-mel + BiLSTM/BiGRU, attention pooling")
    register("lstm", "fusion_acoustic.lstm:LSTMEncoder", aliases=("bilstm",),
             description="BiLSTM/BiGRU over MFCC (+ deltas) frames, attention pooling")
