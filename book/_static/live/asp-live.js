/* asp_lab's live widget: a shipped model run in the reader's browser (onnxruntime-web).
 *
 * Each <div class="asp-live"> on a page becomes a widget. Nothing heavy loads until the
 * reader presses Start: then onnxruntime-web (ort/), the chosen model (models/NAME.onnx,
 * exported by `asp-lab export-onnx`) and the book's recordings (audio/) come from the
 * site's own _static/live/ folder, and everything after that runs offline.
 *
 * The model graph takes the waveform at 16 kHz and returns the embedding, the attention
 * alpha_t (summing to one), the per-channel map and the log-mel frames. The noise mixing
 * below is asp_lab.data.mix_noise line for line (same SNR definition, same two modes,
 * the noise excerpt from its first sample, tiled when short).
 */
(function () {
  "use strict";
  const SCRIPT = document.currentScript;
  const BASE = new URL(".", SCRIPT.src).href; // .../_static/live/
  const RATE = 16000; // Hz, asp_lab.constants.SAMPLE_RATE
  const HOP = 160; // samples per frame, 10 ms
  const OFFSET = 7; // output frame t' is centred on input frame t' + 7 (models.FRAME_OFFSET)
  const RECORD_SECONDS = 10;
  const CREDIT = "Speech: LibriSpeech test-other (Panayotov et al., CC BY 4.0). Noise: " +
    "Speech Commands background noise (Warden, CC BY 4.0).";

  // ---------------------------------------------------------------- the numbers
  /** asp_lab.data.mix_noise: noise into samples [start, start + length) at snrDb.
   * "add": the segment's own speech power is snrDb above the noise's; "replace": the
   * segment holds noise only, at the whole utterance's speech power minus snrDb. */
  function mixNoise(speech, noise, snrDb, start, length, mode) {
    if (length < 1 || start < 0 || start + length > speech.length) {
      throw new Error(`the noise segment [${start}, ${start + length}) lies outside the ` +
        `${speech.length} samples of speech`);
    }
    const piece = new Float64Array(length);
    let noisePower = 0;
    for (let i = 0; i < length; i++) {
      piece[i] = noise[i % noise.length]; // tiled when the noise is short
      noisePower += piece[i] * piece[i];
    }
    noisePower /= length;
    if (noisePower === 0) throw new Error("the noise excerpt is silent");
    let speechPower = 0;
    if (mode === "add") {
      for (let i = start; i < start + length; i++) speechPower += speech[i] * speech[i];
      speechPower /= length;
      if (speechPower === 0) throw new Error("the speech is silent where the noise goes: " +
        "its SNR is undefined (move the segment, or replace instead of add)");
    } else {
      for (let i = 0; i < speech.length; i++) speechPower += speech[i] * speech[i];
      speechPower /= speech.length;
    }
    const gain = Math.sqrt(speechPower / (noisePower * Math.pow(10, snrDb / 10)));
    const mixed = Float32Array.from(speech);
    for (let i = 0; i < length; i++) {
      mixed[start + i] = (mode === "add" ? speech[start + i] : 0) + gain * piece[i];
    }
    const frames = 1 + Math.floor(speech.length / HOP);
    const mask = new Uint8Array(frames); // log-mel frames whose centre lies in the segment
    for (let t = 0; t < frames; t++) mask[t] = t * HOP >= start && t * HOP < start + length;
    return { mixed, mask };
  }

  /** Share of alpha on the noise frames, and that share over their uniform share. */
  function noiseMass(alpha, mask) {
    let mass = 0, n = 0;
    for (let t = 0; t < alpha.length; t++) {
      if (mask[t + OFFSET]) { mass += alpha[t]; n++; }
    }
    return { mass, relative: n ? mass / (n / alpha.length) : NaN, frames: n };
  }

  function wavBlob(x) { // 16-bit PCM mono WAV at 16 kHz, for the player
    const view = new DataView(new ArrayBuffer(44 + 2 * x.length));
    const text = (o, s) => { for (let i = 0; i < s.length; i++) view.setUint8(o + i, s.charCodeAt(i)); };
    let peak = 0;
    for (const v of x) peak = Math.max(peak, Math.abs(v));
    const scale = peak > 1 ? 1 / peak : 1; // what is heard; the model saw x itself
    text(0, "RIFF"); view.setUint32(4, 36 + 2 * x.length, true); text(8, "WAVEfmt ");
    view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
    view.setUint32(24, RATE, true); view.setUint32(28, 2 * RATE, true);
    view.setUint16(32, 2, true); view.setUint16(34, 16, true); text(36, "data");
    view.setUint32(40, 2 * x.length, true);
    for (let i = 0; i < x.length; i++) view.setInt16(44 + 2 * i, Math.round(32767 * x[i] * scale), true);
    return new Blob([view], { type: "audio/wav" });
  }

  // ------------------------------------------------------------- loading things
  let ortReady = null;
  function loadRuntime() {
    if (!ortReady) {
      ortReady = new Promise((resolve, reject) => {
        const s = document.createElement("script");
        s.src = BASE + "ort/ort.wasm.min.js";
        s.onload = () => {
          window.ort.env.wasm.wasmPaths = BASE + "ort/";
          window.ort.env.wasm.numThreads = 1; // Pages sends no cross-origin isolation headers
          window.ort.env.logLevel = "error";
          resolve(window.ort);
        };
        s.onerror = () => reject(new Error("could not load onnxruntime-web from " + s.src));
        document.head.appendChild(s);
      });
    }
    return ortReady;
  }

  async function fetchJSON(url) {
    const r = await fetch(url);
    if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
    return r.json();
  }

  /** Any audio the browser decodes, as mono float32 at 16 kHz (channels averaged). */
  async function decode(buffer) {
    const ctx = new OfflineAudioContext(1, 1, RATE);
    let audio;
    try {
      audio = await ctx.decodeAudioData(buffer);
    } catch (err) {
      throw new Error("this browser could not decode the file as audio" +
        (err && err.message ? ` (${err.message})` : ""));
    }
    const out = new Float32Array(audio.length);
    for (let c = 0; c < audio.numberOfChannels; c++) {
      const ch = audio.getChannelData(c);
      for (let i = 0; i < out.length; i++) out[i] += ch[i] / audio.numberOfChannels;
    }
    return out;
  }

  // ------------------------------------------------------------------ drawing
  function colour(v) { // 0..1 -> a dark-blue to yellow ramp (viridis-like)
    const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
    const x = Math.min(Math.max(v, 0), 1) * (stops.length - 1);
    const i = Math.min(Math.floor(x), stops.length - 2), f = x - i;
    return stops[i].map((c, k) => Math.round(c + f * (stops[i + 1][k] - c)));
  }

  /** rows x cols data (row 0 drawn at the bottom) into the canvas between times t0 and t1. */
  function heatmap(canvas, data, rows, cols, range, t0, t1, duration, lowAtBottom) {
    const img = new ImageData(cols, rows);
    const [lo, hi] = range;
    for (let r = 0; r < rows; r++) {
      const y = lowAtBottom ? rows - 1 - r : r;
      for (let c = 0; c < cols; c++) {
        const [R, G, B] = colour((data[r * cols + c] - lo) / (hi - lo || 1));
        const o = 4 * (y * cols + c);
        img.data[o] = R; img.data[o + 1] = G; img.data[o + 2] = B; img.data[o + 3] = 255;
      }
    }
    const tmp = document.createElement("canvas");
    tmp.width = cols; tmp.height = rows;
    tmp.getContext("2d").putImageData(img, 0, 0);
    const g = canvas.getContext("2d");
    const W = canvas.width, H = canvas.height, left = 0.08 * W;
    g.clearRect(0, 0, W, H);
    g.imageSmoothingEnabled = false;
    const x0 = left + (t0 / duration) * (W - left), x1 = left + (t1 / duration) * (W - left);
    g.drawImage(tmp, x0, 0, x1 - x0, H);
  }

  function shade(canvas, segment, duration) {
    if (!segment) return;
    const g = canvas.getContext("2d"), W = canvas.width, H = canvas.height, left = 0.08 * W;
    const x = (t) => left + (t / duration) * (W - left);
    g.fillStyle = "rgba(255, 255, 255, 0.25)";
    g.fillRect(x(segment[0]), 0, x(segment[1]) - x(segment[0]), H);
    g.strokeStyle = "#fff"; g.lineWidth = 1;
    g.strokeRect(x(segment[0]), 0, x(segment[1]) - x(segment[0]), H);
  }

  function plotAlpha(canvas, alpha, duration, segment, dpr) {
    const g = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
    const left = 0.08 * W, bottom = H - 22 * dpr, top = 8 * dpr;
    const x = (t) => left + (t / duration) * (W - left);
    let peak = 0;
    for (const a of alpha) peak = Math.max(peak, a);
    const uniform = 1 / alpha.length, ymax = Math.max(peak, 2 * uniform) * 1.05;
    const y = (a) => bottom - (a / ymax) * (bottom - top);
    g.clearRect(0, 0, W, H);
    g.fillStyle = getComputedStyle(canvas).color || "#222";
    g.font = `${11 * dpr}px sans-serif`;
    if (segment) {
      g.fillStyle = "rgba(128, 128, 128, 0.25)";
      g.fillRect(x(segment[0]), top, x(segment[1]) - x(segment[0]), bottom - top);
    }
    g.strokeStyle = "#888"; g.setLineDash([4 * dpr, 4 * dpr]); g.lineWidth = dpr;
    g.beginPath(); g.moveTo(left, y(uniform)); g.lineTo(W, y(uniform)); g.stroke();
    g.setLineDash([]);
    g.strokeStyle = "#d62728"; g.lineWidth = 1.5 * dpr; g.beginPath();
    alpha.forEach((a, t) => {
      const px = x((t + OFFSET) * HOP / RATE);
      if (t === 0) g.moveTo(px, y(a)); else g.lineTo(px, y(a));
    });
    g.stroke();
    g.fillStyle = getComputedStyle(canvas).color || "#222";
    g.strokeStyle = g.fillStyle; g.lineWidth = dpr;
    g.beginPath(); g.moveTo(left, top); g.lineTo(left, bottom); g.lineTo(W, bottom); g.stroke();
    const step = duration > 20 ? 5 : duration > 8 ? 2 : duration > 3 ? 1 : 0.5;
    g.textAlign = "center";
    const label = "time (s)", room = g.measureText(label).width + 16 * dpr;
    for (let t = 0; t <= duration + 1e-9; t += step) {
      if (x(t) < W - room) g.fillText(t.toFixed(step < 1 ? 1 : 0), x(t), H - 8 * dpr);
    }
    g.textAlign = "right"; g.fillText(label, W - 2, H - 8 * dpr);
    g.save(); g.translate(12 * dpr, (top + bottom) / 2); g.rotate(-Math.PI / 2);
    g.textAlign = "center"; g.fillText("alpha_t", 0, 0); g.restore();
  }

  // ------------------------------------------------------------------- the widget
  const CSS = `
.asp-live { border: 1px solid #8886; border-radius: 6px; padding: .75rem; margin: 1rem 0; }
.asp-live .asp-controls { display: grid; grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr)); gap: .5rem 1rem; }
.asp-live label { display: block; font-size: .9rem; }
.asp-live select, .asp-live input[type=range], .asp-live input[type=file], .asp-live button { width: 100%; min-height: 2.5rem; box-sizing: border-box; }
.asp-live button { cursor: pointer; }
.asp-live canvas { width: 100%; display: block; margin-top: .4rem; }
.asp-live .asp-drop { border: 2px dashed #8888; border-radius: 6px; padding: .5rem; text-align: center; }
.asp-live .asp-drop.asp-over { border-color: #d62728; }
.asp-live audio { width: 100%; margin-top: .4rem; }
.asp-live .asp-status { font-weight: bold; min-height: 1.4em; }
.asp-live .asp-credit { font-size: .8rem; opacity: .8; }`;

  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "text") e.textContent = v; else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c);
    return e;
  }

  let counter = 0;
  class LiveWidget {
    constructor(root) {
      this.root = root;
      this.id = `asp-live-${++counter}`;
      this.sessions = {};
      this.audioCache = {};
      this.state = { runs: 0 };
      root.aspLive = this.state; // read by the tests and the benchmark
      root.innerHTML = "";
      this.status = el("p", { class: "asp-status", role: "status", "aria-live": "polite" });
      const weight = root.dataset.weight || "about 16 MB";
      this.startButton = el("button", { type: "button", class: "asp-start",
        text: `Start the live widget (downloads ${weight} once)` });
      this.startButton.addEventListener("click", () => this.start());
      root.append(el("p", { text: "The trained models run in your browser: your recording " +
        "never leaves this page." }), this.startButton, this.status);
    }

    say(text) { this.status.textContent = text; }

    async start() {
      this.state.clicked = performance.now();
      this.startButton.disabled = true;
      if (typeof WebAssembly !== "object") {
        this.say("This browser has no WebAssembly, which the widget needs to run the model. " +
          "The precomputed figures on this page show the same measurements.");
        return;
      }
      try {
        this.say("Loading the runtime and the models...");
        // The runtime, the first model and the first recording load side by side.
        const models = fetchJSON(BASE + "models/models.json").then((m) => { this.models = m.models; });
        const first = Promise.all([loadRuntime(), models]).then(() =>
          this.session(this.root.dataset.model || "asp-scalar"));
        const audio = fetchJSON(BASE + "audio/index.json").then((index) => {
          this.index = index;
          const u = index.utterances.find((x) => x.name === this.root.dataset.utterance) ||
            index.utterances[0];
          this.firstUtterance = u.name;
          return this.recording(u.name, u.file);
        });
        await Promise.all([models, audio]);
        this.build();
        this.startButton.remove();
        await first;
        this.controls.utterance.value = this.firstUtterance;
        await this.chooseUtterance(this.firstUtterance);
        this.preload();
      } catch (err) {
        this.say("The widget could not start: " + err.message);
        this.startButton.disabled = false;
      }
    }

    control(labelText, input, out) {
      input.id = `${this.id}-${labelText.replace(/\W+/g, "-").toLowerCase()}`;
      const label = el("label", { for: input.id, text: labelText + " " });
      if (out) label.append(out);
      return el("div", {}, label, input);
    }

    range(min, max, step, value, format) {
      const input = el("input", { type: "range", min, max, step, value });
      const out = el("output", { text: format(+value) });
      input.addEventListener("input", () => { out.textContent = format(+input.value); this.update(); });
      return [input, out];
    }

    build() {
      const c = this.controls = {};
      c.utterance = el("select", {});
      for (const u of this.index.utterances) {
        c.utterance.append(el("option", { value: u.name, text: `${u.name} (speaker ${u.speaker}, ${u.sex}, ${u.seconds} s)` }));
      }
      c.utterance.addEventListener("change", () => this.chooseUtterance(c.utterance.value));
      c.file = el("input", { type: "file", accept: "audio/*,.wav,.flac,.mp3,.ogg,.m4a,.webm" });
      c.file.addEventListener("change", () => c.file.files[0] && this.chooseFile(c.file.files[0]));
      c.record = el("button", { type: "button", text: `Record your voice (up to ${RECORD_SECONDS} s)` });
      c.record.addEventListener("click", () => this.toggleRecording());
      c.noise = el("select", {});
      c.noise.append(el("option", { value: "", text: "no noise" }));
      for (const n of this.index.noises) {
        const heard = n.trained_on_by.length ? "heard in training" : "never heard in training";
        c.noise.append(el("option", { value: n.name, text: `${n.name} (${heard})` }));
      }
      c.noise.addEventListener("change", () => this.update());
      c.mode = el("select", {});
      c.mode.append(el("option", { value: "replace", text: "replaces the speech" }),
        el("option", { value: "add", text: "is added to the speech" }));
      c.mode.addEventListener("change", () => this.update());
      [c.snr, c.snrOut] = this.range(-10, 30, 1, 0, (v) => `${v} dB`);
      [c.position, c.positionOut] = this.range(0, 100, 1, 50, (v) => `${v} %`);
      [c.length, c.lengthOut] = this.range(5, 100, 1, 33, (v) => `${v} % of the clip`);
      c.model = el("select", {});
      for (const m of this.models) c.model.append(el("option", { value: m.name, text: m.name }));
      c.model.value = this.root.dataset.model || "asp-scalar";
      c.model.addEventListener("change", () => this.update());
      const drop = el("div", { class: "asp-drop" }, this.control("Or your own recording (any format your browser plays; drop a file here too)", c.file));
      for (const ev of ["dragenter", "dragover"]) drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.add("asp-over"); });
      drop.addEventListener("dragleave", () => drop.classList.remove("asp-over"));
      drop.addEventListener("drop", (e) => {
        e.preventDefault(); drop.classList.remove("asp-over");
        if (e.dataTransfer.files[0]) this.chooseFile(e.dataTransfer.files[0]);
      });
      const grid = el("div", { class: "asp-controls" },
        this.control("Utterance from the book", c.utterance), drop, el("div", {}, c.record),
        this.control("Noise", c.noise), this.control("The noise", c.mode),
        this.control("SNR", c.snr, c.snrOut), this.control("Noise starts at", c.position, c.positionOut),
        this.control("Noise lasts", c.length, c.lengthOut), this.control("Model", c.model));
      const dpr = Math.min(window.devicePixelRatio || 1, 2);
      const canvas = (h, label) => {
        const cv = el("canvas", { role: "img", "aria-label": label, height: Math.round(h * dpr) });
        return cv;
      };
      this.spec = canvas(110, "log-mel spectrogram of the analysed audio");
      this.map = canvas(90, "per-channel attention weights");
      this.map.hidden = true;
      this.plot = canvas(150, "attention weights alpha_t over time");
      this.legend = el("p", { class: "asp-credit", text: "Top: the log-mel spectrogram (low " +
        "frequencies at the bottom); for asp-channel, each channel's weights, one row each. " +
        "Below: alpha_t in red, the uniform share 1/T' dashed, the " +
        "noise segment shaded." });
      this.summary = el("p", { class: "asp-summary" });
      this.player = el("audio", { controls: "", "aria-label": "the audio the model analysed" });
      this.root.append(grid, this.status, this.spec, this.map, this.plot, this.legend, this.summary, this.player,
        el("p", { class: "asp-credit", text: CREDIT }));
      if (!document.getElementById("asp-live-css")) {
        document.head.append(el("style", { id: "asp-live-css", text: CSS }));
      }
      this.dpr = dpr;
    }

    /** After the first plot, the other models and the noises load one after another, so
     * that a later change of a control only runs the model. */
    async preload() {
      try {
        for (const m of this.models) await this.session(m.name);
        for (const n of this.index.noises) await this.recording(n.name, n.file);
        this.state.preloaded = true;
      } catch (err) {
        this.say("Some of the widget's files could not load: " + err.message);
      }
    }

    async session(name) {
      if (!this.sessions[name]) {
        const m = this.models.find((x) => x.name === name);
        this.sessions[name] = window.ort.InferenceSession.create(BASE + "models/" + m.file,
          { executionProviders: ["wasm"] });
      }
      return this.sessions[name];
    }

    async recording(name, file) {
      if (!this.audioCache[name]) {
        this.audioCache[name] = fetch(BASE + "audio/" + file).then((r) => {
          if (!r.ok) throw new Error(`${file}: HTTP ${r.status}`);
          return r.arrayBuffer();
        }).then(decode);
      }
      return this.audioCache[name];
    }

    async chooseUtterance(name) {
      const u = this.index.utterances.find((x) => x.name === name);
      this.say(`Loading ${name}...`);
      this.setSpeech(await this.recording(name, u.file), name);
    }

    async chooseFile(file) {
      this.say(`Decoding ${file.name}...`);
      try {
        this.setSpeech(await decode(await file.arrayBuffer()), file.name);
      } catch (err) {
        this.say(`${file.name}: ${err.message}.`);
      }
    }

    setSpeech(samples, label) {
      const need = this.models[0].min_samples, most = this.models[0].max_samples;
      let note = "";
      if (samples.length > most) {
        samples = samples.slice(0, most);
        note = ` (its first ${most / RATE} s)`;
      }
      if (samples.length < need) {
        this.say(`${label} is ${(samples.length / RATE).toFixed(2)} s long; the model needs at ` +
          `least ${(need / RATE).toFixed(2)} s.`);
        return;
      }
      if (!samples.some((v) => v !== 0)) {
        this.say(`${label} is silent: every sample is zero, so there is nothing to attend to.`);
        return;
      }
      this.speech = samples;
      this.label = label + note;
      this.update();
    }

    segment() {
      const c = this.controls, n = this.speech.length;
      const length = Math.max(1, Math.round((+c.length.value / 100) * n));
      const start = Math.round((+c.position.value / 100) * (n - length));
      return { start, length };
    }

    update() {
      if (!this.speech) return;
      if (this.running) { this.pending = true; return; }
      this.running = this.state.busy = true;
      const began = performance.now();
      this.run().catch((err) => this.say("The model could not run: " + err.message))
        .finally(() => {
          this.running = false;
          this.state.finishedAt = performance.now();
          this.state.lastMs = this.state.finishedAt - began;
          if (this.pending) { this.pending = false; this.update(); } else this.state.busy = false;
        });
    }

    async run() {
      const c = this.controls, model = c.model.value, noiseName = c.noise.value;
      let wave = this.speech, mask = null, seg = null, segment = null;
      if (noiseName) {
        const n = this.index.noises.find((x) => x.name === noiseName);
        const noise = await this.recording(noiseName, n.file);
        seg = this.segment();
        ({ mixed: wave, mask } = mixNoise(this.speech, noise, +c.snr.value, seg.start, seg.length, c.mode.value));
        segment = [seg.start / RATE, (seg.start + seg.length) / RATE];
      }
      const session = await this.session(model);
      const t0 = performance.now();
      const out = await session.run({ wave: new window.ort.Tensor("float32", wave, [1, wave.length]) });
      const t1 = performance.now();
      const alpha = out.alpha.data, mel = out.log_mel.data, map = out.alpha_map;
      this.draw(wave, alpha, mel, out.log_mel.dims[1], map, segment);
      this.state.modelMs = t1 - t0;
      this.state.drawMs = performance.now() - t1;
      let text = `${model} on ${this.label}, ${(wave.length / RATE).toFixed(2)} s, ${alpha.length} frames`;
      let mass = null;
      if (mask) {
        mass = noiseMass(alpha, mask);
        text += `: with ${noiseName} that ${c.mode.options[c.mode.selectedIndex].text} from ` +
          `${segment[0].toFixed(2)} to ${segment[1].toFixed(2)} s at ${c.snr.value} dB, the noise ` +
          `frames get ${(100 * mass.mass).toFixed(1)} % of the attention, ` +
          `${mass.relative.toFixed(2)}x their uniform share (statistics pooling: 1x).`;
      } else {
        let sq = 0;
        for (const a of alpha) sq += a * a;
        text += `: the weights spread over ${(1 / sq).toFixed(0)} effective frames ` +
          `(${(100 / sq / alpha.length).toFixed(0)} % of them).`;
      }
      this.summary.textContent = text;
      this.plot.setAttribute("aria-label", "attention weights alpha_t over time. " + text);
      this.say("");
      if (this.wavUrl) URL.revokeObjectURL(this.wavUrl);
      this.wavUrl = URL.createObjectURL(wavBlob(wave));
      this.player.src = this.wavUrl;
      Object.assign(this.state, { model, alpha: Array.from(alpha), samples: wave.length,
        noise: noiseName, mode: c.mode.value, snr: +c.snr.value, start: seg && seg.start,
        length: seg && seg.length, mass: mass && mass.mass, relative: mass && mass.relative,
        label: this.label, runs: this.state.runs + 1 });
      if (this.state.firstPlotMs === undefined) this.state.firstPlotMs = performance.now() - this.state.clicked;
    }

    draw(wave, alpha, mel, frames, map, segment) {
      const duration = wave.length / RATE, width = Math.round(this.spec.clientWidth * this.dpr) || 600;
      for (const cv of [this.spec, this.map, this.plot]) cv.width = width;
      let lo = Infinity, hi = -Infinity;
      for (const v of mel) { hi = Math.max(hi, v); }
      lo = hi - 12; // about 52 dB of range (natural log of power)
      const half = HOP / 2 / RATE;
      heatmap(this.spec, mel, 40, frames, [lo, hi], -half, (frames - 1) * HOP / RATE + half, duration, true);
      shade(this.spec, segment, duration);
      const [K, T] = map.dims;
      this.map.hidden = K === 1;
      if (K > 1) {
        const sorted = Float32Array.from(map.data).sort(); // colours up to the 99th percentile
        const mhi = sorted[Math.floor(0.99 * (sorted.length - 1))];
        const t0 = (OFFSET - 0.5) * HOP / RATE;
        heatmap(this.map, map.data, K, T, [0, mhi], t0, t0 + T * HOP / RATE, duration, false);
        shade(this.map, segment, duration);
      }
      plotAlpha(this.plot, alpha, duration, segment, this.dpr);
    }

    async toggleRecording() {
      if (this.recorder) { this.recorder.stop(); return; }
      const c = this.controls;
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        this.say("This browser gives the page no microphone (it needs a secure https page). " +
          "Record a file with another program and pick it above.");
        return;
      }
      let stream;
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false,
          noiseSuppression: false, autoGainControl: false } });
      } catch (err) {
        this.say(err.name === "NotAllowedError"
          ? "The microphone was not allowed. Allow it for this page in the browser's settings, or pick a file above."
          : `No microphone could be opened (${err.name}): pick a file above instead.`);
        return;
      }
      const ctx = new AudioContext({ sampleRate: RATE });
      const chunks = [];
      const code = "class Tap extends AudioWorkletProcessor { process(inputs) { const x = inputs[0];" +
        " if (x && x.length) { const m = new Float32Array(x[0].length);" +
        " for (const ch of x) for (let i = 0; i < m.length; i++) m[i] += ch[i] / x.length;" +
        " this.port.postMessage(m); } return true; } } registerProcessor('asp-tap', Tap);";
      const url = URL.createObjectURL(new Blob([code], { type: "application/javascript" }));
      await ctx.audioWorklet.addModule(url);
      URL.revokeObjectURL(url);
      const source = ctx.createMediaStreamSource(stream);
      const tap = new AudioWorkletNode(ctx, "asp-tap");
      const mute = ctx.createGain();
      mute.gain.value = 0;
      let got = 0;
      tap.port.onmessage = (e) => {
        chunks.push(e.data); got += e.data.length;
        this.say(`Recording... ${(got / RATE).toFixed(1)} s`);
        if (got >= RECORD_SECONDS * RATE) this.recorder && this.recorder.stop();
      };
      source.connect(tap); tap.connect(mute); mute.connect(ctx.destination);
      c.record.textContent = "Stop recording";
      this.recorder = { stop: () => {
        this.recorder = null;
        stream.getTracks().forEach((t) => t.stop());
        ctx.close();
        c.record.textContent = `Record your voice (up to ${RECORD_SECONDS} s)`;
        const x = new Float32Array(got);
        let o = 0;
        for (const ch of chunks) { x.set(ch, o); o += ch.length; }
        this.state.recordedSamples = got;
        this.setSpeech(x, "your recording");
      } };
      this.say("Recording... speak now");
    }
  }

  window.aspLive = { mixNoise, noiseMass, widgets: [] };
  for (const root of document.querySelectorAll(".asp-live")) {
    window.aspLive.widgets.push(new LiveWidget(root));
  }
})();
