"""The book's ipywidgets apps, one section per chapter.

Each app needs a running kernel (JupyterLab, Colab). The built book cannot run them, so
each has a static twin in its chapter: a plotly figure with precomputed states, built by a
function in :mod:`asp_lab.viz`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import numpy as np
import torch

from .handset import effective_frames, loudness_attention  # chapter 2's maths, kept here too

# ------------------------------------------ chapter 2: attention explorer (ASP step by step)

#: The test-other utterances the chapter 2 explorer offers (5 to 7 s each, 3 F and 2 M).
EXPLORER_UTTERANCES = (
    "3080-5032-0004",
    "2033-164914-0003",
    "1998-15444-0001",
    "2609-156975-0005",
    "3331-159605-0003",
)


def attention_explorer(utterances: Sequence[str | os.PathLike] | None = None):
    """An ipywidgets app: pick an utterance, the score scale ``v`` and the temperature ``tau``;
    it redraws the log-mel spectrogram with ``alpha = softmax(e / tau)`` over it and the
    effective number of frames.

    Args:
        utterances: test-other utterance names (``"3080-5032-0004"``) or paths to audio
            files; default :data:`EXPLORER_UTTERANCES`.

    Returns:
        An ``ipywidgets.VBox``; display it in a notebook.
    """
    import io

    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from . import data, features, pooling, viz

    known = {u.name: u.path for u in data.utterances("test-other")}
    paths = {}
    for item in EXPLORER_UTTERANCES if utterances is None else utterances:
        if os.fspath(item) in known:
            paths[os.fspath(item)] = known[os.fspath(item)]
        elif os.path.isfile(item):
            paths[os.path.basename(os.fspath(item)).rsplit(".", 1)[0]] = item
        else:
            raise ValueError(
                f"utterance {item!r} is neither a test-other name (e.g. {next(iter(known))!r}) "
                f"nor an audio file"
            )
    if not paths:
        raise ValueError("utterances is empty: give at least one name or path")
    frames_cache: dict[str, np.ndarray] = {}

    def log_mel_of(name: str) -> np.ndarray:
        if name not in frames_cache:
            frames_cache[name] = features.log_mel(data.load_audio(paths[name]))
        return frames_cache[name]

    choose = widgets.Dropdown(options=list(paths), description="utterance")
    scale = widgets.FloatLogSlider(value=1.0, base=10, min=-1, max=1, step=0.05,
                                   description="scale v", continuous_update=False)
    temperature = widgets.FloatLogSlider(value=1.0, base=10, min=-2, max=2, step=0.05,
                                         description="temperature τ", continuous_update=False,
                                         style={"description_width": "initial"})
    summary = widgets.HTML()
    # The figure goes in as PNG bytes: no dependence on the notebook's matplotlib backend,
    # and the widget's state alone says what is shown.
    picture = widgets.Image(format="png", layout=widgets.Layout(width="100%", max_width="900px"))

    def redraw(_change=None) -> None:
        S = log_mel_of(choose.value)
        h = torch.from_numpy(S)[None]  # (1, C, T)
        W, b, v, k = loudness_attention(h, scale.value)
        e = pooling.attention_scores(h, W, b, v, k)  # (1, T)
        alpha = pooling.attention_weights(e / temperature.value)[0].numpy()  # (T,)
        n_eff = effective_frames(alpha)
        summary.value = (
            f"effective number of frames 1/Σα² = <b>{n_eff:.1f}</b> of T = {alpha.size} "
            f"({100 * n_eff / alpha.size:.1f}%)"
        )
        fig = viz.attention_on_spectrogram(
            S, alpha, features.HOP_SECONDS,
            title=f"{choose.value}: α = softmax(e / τ), v = {scale.value:.3g}, "
            f"τ = {temperature.value:.3g}",
        )
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=100)
        plt.close(fig)
        picture.value = png.getvalue()

    for control in (choose, scale, temperature):
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([choose, scale, temperature]), summary, picture])


# ------------------------------------------ chapter 6: attention under noise

#: The models the chapter 6 explorer offers (shipped checkpoints, seed 0).
NOISE_EXPLORER_MODELS = ("asp-scalar", "asp-channel", "asp-scalar-clean", "stats")
#: The noise menu's entry for no noise at all.
NO_NOISE = "(no noise)"
#: Prefix of the utterance menu's entries for uploaded recordings.
UPLOAD_PREFIX = "upload: "


def decode_audio(content: bytes, name: str = "upload") -> np.ndarray:
    """The bytes of an audio file (WAV, FLAC, OGG, ... as soundfile reads them) as mono
    float32 at 16 kHz, ``(samples,)``.

    Raises :class:`asp_lab.data.AudioError` naming the file when it cannot be decoded, is
    silent, or is shorter than the model's 15-frame context (0.14 s).
    """
    import io

    import soundfile

    from . import analysis
    from .data import SAMPLE_RATE, AudioError

    try:
        audio, rate = soundfile.read(io.BytesIO(bytes(content)), dtype="float32",
                                     always_2d=True)
    except Exception as err:  # soundfile raises several types for unreadable data
        reason = str(err).rsplit(": ", 1)[-1]  # drop "Error opening <_io.BytesIO ...>"
        raise AudioError(f"cannot read {name!r} as audio ({reason}); give a WAV, FLAC or OGG "
                         f"file") from err
    audio = audio.mean(axis=1)
    if rate != SAMPLE_RATE:
        import librosa

        audio = librosa.resample(audio, orig_sr=rate, target_sr=SAMPLE_RATE).astype(np.float32)
    if audio.size < analysis.min_samples():
        raise AudioError(f"{name!r} is {audio.size / SAMPLE_RATE:.3f} s long; the model needs "
                         f"at least {analysis.min_samples() / SAMPLE_RATE:.2f} s")
    if not np.any(audio):
        raise AudioError(f"{name!r} is silent: all {audio.size} samples are zero")
    return audio


def uploaded_files(value) -> list[tuple[str, bytes]]:
    """``(name, content)`` of each file in a ``FileUpload``'s value, in either format:
    ipywidgets 8's tuple of dicts with ``name`` and ``content`` (a memoryview), or
    ipywidgets 7's dict ``{name: {"metadata": {...}, "content": bytes}}`` (Colab's)."""
    if isinstance(value, dict):
        return [(name, bytes(item["content"])) for name, item in value.items()]
    return [(item["name"], bytes(item["content"])) for item in value]


class NoiseAttentionExplorer:
    """An ipywidgets app: put noise into part of an utterance and watch a trained model's
    attention.

    Pick an utterance (or upload a recording), a noise kind, its SNR, where it starts and
    how long it lasts (as fractions of the utterance), whether it is added to the speech or
    replaces it, and the model; :meth:`update` redraws the spectrogram with ``alpha_t``
    below (noise shaded) and reports the attention on the noise against its uniform share,
    the effective number of frames, and how far the pooled ``mu``, ``sigma`` and the
    embedding moved from those of the clean utterance. ``widget`` is the app to display.

    The callbacks are plain methods (:meth:`update`, :meth:`load_upload`), so tests can
    drive the app without a front end.
    """

    def __init__(self, utterances: Sequence[str] | None = None) -> None:
        import ipywidgets as widgets

        from . import analysis, data

        self._paths = {u.name: u.path for u in data.utterances("test-other")}
        names = list(utterances) if utterances is not None else list(self._paths)
        unknown = [n for n in names if n not in self._paths]
        if unknown or not names:
            raise ValueError(f"unknown test-other utterances {unknown[:3]} (or none given); "
                             f"e.g. {next(iter(self._paths))!r}")
        self._audio: dict[str, np.ndarray] = {}
        self._models: dict = {}
        first = EXPLORER_UTTERANCES[0] if EXPLORER_UTTERANCES[0] in names else names[0]
        style = {"description_width": "initial"}
        self.utterance = widgets.Dropdown(options=names, value=first, description="utterance")
        self.noise = widgets.Dropdown(options=[NO_NOISE, *analysis.noise_kinds()],
                                      value="white_noise", description="noise")
        self.snr = widgets.IntSlider(value=0, min=-10, max=30, step=1, description="SNR (dB)",
                                     continuous_update=False, style=style)
        self.position = widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05,
                                            description="position", continuous_update=False)
        self.length = widgets.FloatSlider(value=0.33, min=0.05, max=1.0, step=0.01,
                                          description="length", continuous_update=False)
        self.mode = widgets.ToggleButtons(options=["replace", "add"], value="replace",
                                          description="noise is")
        self.model = widgets.Dropdown(options=list(NOISE_EXPLORER_MODELS), value="asp-scalar",
                                      description="model")
        if "google.colab" in sys.modules:
            # Colab's FileUpload drops files of about 1 MB and more without a word
            # (jupyter-widgets/ipywidgets#3452); Colab's own upload dialog takes any size.
            self.upload = widgets.Button(description="your recording", icon="upload",
                                         tooltip="upload an audio file (Colab's dialog)")
            self.upload.on_click(self._upload_with_colab)
        else:
            self.upload = widgets.FileUpload(accept=".wav,.flac,.ogg,audio/*",
                                             multiple=False, description="your recording")
            self.upload.observe(self._on_upload, names="value")
        self.message = widgets.HTML()
        self.summary = widgets.HTML()
        self.player = widgets.HTML()
        self.picture = widgets.Image(format="png",
                                     layout=widgets.Layout(width="100%", max_width="900px"))
        self.state: dict = {}
        for control in (self.utterance, self.noise, self.snr, self.position, self.length,
                        self.mode, self.model):
            control.observe(self.update, names="value")
        self.widget = widgets.VBox([
            widgets.HBox([self.utterance, self.model, self.upload]),
            widgets.HBox([self.noise, self.mode]),
            widgets.HBox([self.snr, self.position, self.length]),
            self.message, self.summary, self.picture, self.player,
        ])
        self.update()

    # -------------------------------------------------------------- inputs

    def _speech(self, name: str) -> np.ndarray:
        from . import data

        if name not in self._audio:
            self._audio[name] = data.load_audio(self._paths[name])
        return self._audio[name]

    def _model(self, name: str):
        from . import analysis

        if name not in self._models:
            self._models[name] = analysis.load_model(name)
        return self._models[name]

    def load_upload(self, name: str, content: bytes) -> bool:
        """Decode an uploaded file and select it; on failure say why in :attr:`message`
        and keep the current utterance. Returns whether it worked."""
        import html

        from .data import AudioError

        try:
            audio = decode_audio(content, name)
        except AudioError as err:
            self.message.value = (f"<p role='alert'><b>Could not use "
                                  f"{html.escape(name, quote=False)}:</b> "
                                  f"{html.escape(str(err), quote=False)}</p>")
            return False
        key = UPLOAD_PREFIX + name
        self._audio[key] = audio
        if key not in self.utterance.options:
            self.utterance.options = [*self.utterance.options, key]
        self.message.value = (f"<p>Loaded {html.escape(name, quote=False)}: "
                              f"{audio.size / 16000:.2f} s "
                              f"at 16 kHz, mono.</p>")
        if self.utterance.value == key:
            self.update()
        else:
            self.utterance.value = key  # observers call update()
        return True

    def _on_upload(self, change) -> None:
        for name, content in uploaded_files(change["new"]):
            self.load_upload(name, content)

    def _upload_with_colab(self, _button=None) -> None:
        from google.colab import files

        for name, content in files.upload().items():  # {file name: bytes}
            self.load_upload(name, content)

    # -------------------------------------------------------------- output

    def update(self, _change=None) -> dict:
        """Recompute and redraw for the current controls; return the new :attr:`state`."""
        import html
        import io

        import matplotlib.pyplot as plt

        from . import analysis, features, viz
        from .data import SAMPLE_RATE, AudioError

        name, kind, model_name = self.utterance.value, self.noise.value, self.model.value
        speech = self._speech(name)
        model = self._model(model_name)
        start, length = analysis.noise_segment(speech.size, self.length.value,
                                               self.position.value)
        try:
            if kind == NO_NOISE:
                mixed, segment, mask = speech, None, None
                times, alpha = analysis.frame_attention(model, speech)
            else:
                out = analysis.noise_attention(model, speech, kind, float(self.snr.value),
                                               start, length, self.mode.value,
                                               rng=analysis.noise_rng(0, 0, kind))
                mixed, times, alpha, mask = out["mixed"], out["times"], out["alpha"], out["mask"]
                segment = (start / SAMPLE_RATE, (start + length) / SAMPLE_RATE)
        except (AudioError, ValueError) as err:
            self.message.value = (f"<p role='alert'><b>Cannot compute this setting:</b> "
                                  f"{html.escape(str(err), quote=False)}</p>")
            return self.state
        mu0, sigma0 = analysis.pooled_statistics(model, speech)
        mu, sigma = analysis.pooled_statistics(model, mixed)
        e0, e1 = analysis.embed(model, speech), analysis.embed(model, mixed)
        cosine = float(e0 @ e1 / (np.linalg.norm(e0) * np.linalg.norm(e1)))
        state = {
            "utterance": name, "noise": kind, "model": model_name, "segment": segment,
            "alpha": alpha, "times": times, "n_eff": effective_frames(alpha),
            "mass": None if mask is None or not mask.any() else float(alpha[mask].sum()),
            "uniform": None if mask is None else float(mask.mean()),
            "mu_change": float(np.linalg.norm(mu - mu0) / np.linalg.norm(mu0)),
            "sigma_change": float(np.linalg.norm(sigma - sigma0) / np.linalg.norm(sigma0)),
            "cosine_to_clean": cosine,
        }
        state["relative_mass"] = (state["mass"] / state["uniform"]
                                  if state["mass"] is not None else None)
        lines = [f"effective frames 1/Σα² = <b>{state['n_eff']:.0f}</b> of T' = {alpha.size}"]
        if state["mass"] is not None:
            lines.insert(0, f"attention on the noise frames: <b>{state['mass']:.3f}</b> "
                            f"against a uniform share of {state['uniform']:.3f} "
                            f"(<b>{state['relative_mass']:.2f}×</b>)")
        lines.append(f"against the clean utterance: pooled μ moved by "
                     f"{state['mu_change']:.1%}, σ by {state['sigma_change']:.1%}; "
                     f"cosine of the embeddings {cosine:.3f}")
        self.summary.value = "<br>".join(lines)
        title = f"{name}, {model_name}: " + (
            "no noise added" if segment is None
            else f"{kind} {self.mode.value}s {segment[0]:.2f}-{segment[1]:.2f} s at "
                 f"{self.snr.value} dB")
        fig, _, _ = viz.spectrogram_attention(features.log_mel(mixed), {model_name: (times, alpha)},
                                              segment=segment, title=title)
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=90)
        plt.close(fig)
        self.picture.value = png.getvalue()
        self.player.value = viz.audio_html(mixed, label=f"listen: {title}")
        if not self.message.value.startswith("<p>Loaded"):
            self.message.value = ""
        self.state = state
        return state
