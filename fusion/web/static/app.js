// fusion web demo: choose or record audio, POST it to /api/predict, draw the result.
// Recording goes through an AudioContext (an AudioWorklet, static/recorder.js, collects the samples)
// and is encoded as 16-bit PCM WAV here, because what MediaRecorder makes (WebM/Opus, Ogg/Opus) is
// not readable by the server's soundfile decoder.
"use strict";

const LABEL_COLORS = ["#c92a2a", "#2f9e44", "#1971c2", "#f08c00", "#862e9c", "#0c8599", "#5c940d", "#d6336c"];
const $ = (id) => document.getElementById(id);
const state = { info: null, clip: null, clipName: null, recorder: null };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function labelColor(label) {
  const labels = state.info ? state.info.labels : [];
  const index = Math.max(0, labels.indexOf(label));
  return LABEL_COLORS[index % LABEL_COLORS.length];
}

function percent(p) { return (100 * p).toFixed(1) + "%"; }
function clock(seconds) {
  const m = Math.floor(seconds / 60), s = seconds - 60 * m;
  return String(m).padStart(2, "0") + ":" + s.toFixed(1).padStart(4, "0");
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}
function setStatus(message) { $("status").textContent = message; }

// ------------------------------------------------------------------ model info
async function loadInfo() {
  try {
    const response = await fetch("/api/info");
    state.info = await response.json();
  } catch (err) {
    $("model-info").textContent = "cannot reach the server: " + err;
    return;
  }
  const info = state.info;
  const asr = info.transcriber ? "speech-to-text: " + info.transcriber : "no speech-to-text";
  $("model-info").textContent = `model ${info.model} · ${info.mode} · classes: ${info.labels.join(", ")} · ${asr}`;
  if (info.needs_transcript) {
    $("transcript-note").textContent = "(required: this model has no speech-to-text)";
    $("transcript").required = true;
  } else if (info.mode === "audio") {
    $("transcript-note").textContent = "(not used by an audio-only model)";
    $("transcript").disabled = true;
  }
}

// ------------------------------------------------------------------ choosing a file
function useClip(blob, name) {
  state.clip = blob;
  state.clipName = name;
  $("file-name").textContent = name;
  $("player").src = URL.createObjectURL(blob);
  $("player").hidden = false;
  $("predict").disabled = false;
  showError("");
}

$("file").addEventListener("change", () => {
  const file = $("file").files[0];
  if (file) useClip(file, file.name);
});

// ------------------------------------------------------------------ recording to WAV
function encodeWav(chunks, sampleRate) {
  const length = chunks.reduce((n, c) => n + c.length, 0);
  const buffer = new ArrayBuffer(44 + 2 * length);
  const view = new DataView(buffer);
  const text = (offset, s) => { for (let i = 0; i < s.length; i++) view.setUint8(offset + i, s.charCodeAt(i)); };
  text(0, "RIFF"); view.setUint32(4, 36 + 2 * length, true); text(8, "WAVE");
  text(12, "fmt "); view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
  view.setUint32(24, sampleRate, true); view.setUint32(28, 2 * sampleRate, true);
  view.setUint16(32, 2, true); view.setUint16(34, 16, true);
  text(36, "data"); view.setUint32(40, 2 * length, true);
  let offset = 44;
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++, offset += 2) {
      const s = Math.max(-1, Math.min(1, chunk[i]));
      view.setInt16(offset, s < 0 ? s * 0x8000 : s * 0x7fff, true);
    }
  }
  return new Blob([buffer], { type: "audio/wav" });
}

async function startRecording() {
  showError("");
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    showError("This browser cannot record here (it needs http://127.0.0.1 or https). Choose a file instead.");
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (err) {
    showError("No microphone available: " + err.message);
    return;
  }
  const context = new AudioContext();
  const chunks = [];
  let node;
  try {
    await context.audioWorklet.addModule("/static/recorder.js");
    node = new AudioWorkletNode(context, "fusion-recorder");
  } catch (err) {
    stream.getTracks().forEach((t) => t.stop());
    await context.close();
    showError("This browser cannot record audio here (" + err.message + "). Choose a file instead.");
    return;
  }
  node.port.onmessage = (event) => chunks.push(event.data);
  const source = context.createMediaStreamSource(stream);
  source.connect(node);
  node.connect(context.destination);  // the node writes no output: keeps it pulled, stays silent
  const started = Date.now();
  const timer = setInterval(() => { $("rec-time").textContent = "recording " + ((Date.now() - started) / 1000).toFixed(1) + " s"; }, 100);
  state.recorder = { stream, context, source, node, chunks, timer };
  $("record").disabled = true;
  $("stop").disabled = false;
}

async function stopRecording() {
  const r = state.recorder;
  if (!r) return;
  state.recorder = null;
  clearInterval(r.timer);
  r.source.disconnect();
  r.node.disconnect();
  r.node.port.onmessage = null;
  r.stream.getTracks().forEach((t) => t.stop());
  const wav = encodeWav(r.chunks, r.context.sampleRate);
  await r.context.close();
  $("record").disabled = false;
  $("stop").disabled = true;
  const seconds = (wav.size - 44) / 2 / r.context.sampleRate;
  $("rec-time").textContent = "recorded " + seconds.toFixed(1) + " s";
  useClip(wav, "recording.wav");
}

$("record").addEventListener("click", startRecording);
$("stop").addEventListener("click", stopRecording);

// ------------------------------------------------------------------ predicting
async function predict() {
  if (!state.clip) return;
  showError("");
  $("predict").disabled = true;
  setStatus("predicting…");
  const params = new URLSearchParams({ name: state.clipName });
  const transcript = $("transcript").value.trim();
  if (transcript && !$("transcript").disabled) params.set("transcript", transcript);
  try {
    const response = await fetch("/api/predict?" + params, {
      method: "POST", body: state.clip,
      headers: { "Content-Type": state.clip.type || "application/octet-stream" },
    });
    let doc;
    try { doc = await response.json(); } catch (err) { doc = { error: `server answered ${response.status} without JSON` }; }
    if (!response.ok || doc.error) {
      $("result").hidden = true;
      showError(doc.error || `server answered ${response.status}`);
      setStatus("");
    } else {
      render(doc.prediction, doc.labels);
      $("raw-json").textContent = JSON.stringify(doc, null, 2);
      setStatus("done");
    }
  } catch (err) {
    showError("The request failed: " + err.message);
    setStatus("");
  } finally {
    $("predict").disabled = false;
  }
}

$("predict").addEventListener("click", predict);

// ------------------------------------------------------------------ drawing the result
function seriesOf(p) {
  // fused / combined probabilities first, then each modality branch that differs from it
  const series = [{ name: state.info && state.info.mode !== "fused" ? state.info.mode : "fused", probs: p.probabilities }];
  for (const [name, probs] of Object.entries(p.branches || {})) {
    if (!(state.info && name === state.info.mode)) series.push({ name, probs });
  }
  return series;
}

function drawChart(p, labels) {
  const chart = $("chart"), legend = $("legend");
  chart.replaceChildren();
  legend.replaceChildren();
  const series = seriesOf(p);
  for (const s of series) {
    legend.append(el("span", {}, el("span", { class: "swatch series-" + s.name }), s.name));
  }
  for (const label of labels) {
    chart.append(el("div", { class: "row-label", text: label }));
    for (const s of series) {
      const prob = s.probs[label] || 0;
      const fill = el("span", { class: "fill" });
      fill.style.width = (100 * prob).toFixed(2) + "%";
      chart.append(el("div", { class: "bar series-" + s.name, "data-label": label, "data-series": s.name, "data-p": prob.toFixed(4) },
        el("span", { class: "name muted", text: s.name }), el("span", { class: "track" }, fill),
        el("span", { class: "pct", text: percent(prob) })));
    }
  }
}

function drawTimeline(p) {
  const box = $("timeline-box"), body = $("timeline").querySelector("tbody"), strip = $("timeline-strip");
  body.replaceChildren();
  strip.replaceChildren();
  const segments = p.segments || [];
  box.hidden = segments.length === 0;
  const total = p.duration || (segments.length ? segments[segments.length - 1].end : 1);
  segments.forEach((s, n) => {
    const rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
    rect.setAttribute("x", (1000 * s.start / total).toFixed(1));
    rect.setAttribute("width", Math.max(2, 1000 * (s.end - s.start) / total).toFixed(1));
    rect.setAttribute("y", "4");
    rect.setAttribute("height", "28");
    rect.setAttribute("fill", labelColor(s.label));
    const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
    title.textContent = `${clock(s.start)}–${clock(s.end)} ${s.label}`;
    rect.append(title);
    strip.append(rect);
    const branches = Object.entries(s.branches || {}).map(([name, probs]) =>
      name + "=" + Object.keys(probs).reduce((a, b) => (probs[a] >= probs[b] ? a : b))).join(" ");
    const chip = el("span", { class: "label-chip small", text: s.label });
    chip.style.background = labelColor(s.label);
    body.append(el("tr", {}, el("td", { class: "num", text: String(n + 1) }), el("td", { class: "num", text: clock(s.start) }),
      el("td", { class: "num", text: clock(s.end) }), el("td", {}, chip), el("td", { class: "num", text: percent(s.probabilities[s.label]) }),
      el("td", { text: branches }), el("td", { text: s.transcript || "" })));
  });
}

function render(p, labels) {
  $("result").hidden = false;
  $("label").textContent = p.label;
  $("top-p").textContent = percent(p.probabilities[p.label]);
  $("duration").textContent = p.duration != null ? `${p.duration.toFixed(1)} s of audio` : "";
  $("transcript-out").textContent = p.transcript == null ? "(audio-only model)" : (p.transcript || "(no speech recognised)");
  const warnings = $("warnings");
  warnings.replaceChildren(...(p.warnings || []).map((w) => el("li", { text: w })));
  drawChart(p, labels);
  drawTimeline(p);
}

loadInfo();
