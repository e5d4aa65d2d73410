// AudioWorklet processor of the web demo: hands each block of microphone samples (channel 0,
// float32 at the AudioContext's rate) to the page, which encodes the recording as WAV.
class FusionRecorder extends AudioWorkletProcessor {
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel && channel.length) this.port.postMessage(channel.slice(0));
    return true;
  }
}
registerProcessor("fusion-recorder", FusionRecorder);
