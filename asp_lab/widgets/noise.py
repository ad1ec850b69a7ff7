"""Chapter 6's noise explorer: noise put into part of an utterance (or of the reader's own
recording) and a trained model's attention on it. Needs a running kernel; its static twin is
:func:`asp_lab.viz.noise_attention_twin`.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence

import ipywidgets as widgets
import numpy as np
import soundfile

from .. import analysis, data, features, viz
from ..data import SAMPLE_RATE, AudioError
from ..handset import effective_frames
from .attention import EXPLORER_UTTERANCES
from .common import escaped, picture_widget, png_of

#: The models the chapter 6 explorer offers (shipped checkpoints, seed 0).
NOISE_EXPLORER_MODELS = ("asp-scalar", "asp-channel", "asp-scalar-clean", "stats")
#: The noise menu's entry for no noise at all.
NO_NOISE = "(no noise)"
#: Prefix of the utterance menu's entries for uploaded recordings.
UPLOAD_PREFIX = "upload: "


def decode_audio(content: bytes, name: str = "upload") -> np.ndarray:
    """The bytes of an audio file (WAV, FLAC, OGG, ... as soundfile reads them) as mono
    float32 at 16 kHz, ``(samples,)``. Chapter 6's explorer, for an uploaded recording.

    Raises :class:`asp_lab.data.AudioError` naming the file when it cannot be decoded, is
    silent, or is shorter than the model's 15-frame context (0.14 s).
    """
    try:
        audio, rate = soundfile.read(io.BytesIO(bytes(content)), dtype="float32",
                                     always_2d=True)
    except Exception as err:  # soundfile raises several types for unreadable data
        reason = str(err).rsplit(": ", 1)[-1]  # drop "Error opening <_io.BytesIO ...>"
        raise AudioError(f"cannot read {name!r} as audio ({reason}); give a WAV, FLAC or OGG "
                         f"file") from err
    audio = audio.mean(axis=1)
    if rate != SAMPLE_RATE:
        import librosa  # slow to import, and only this path needs it

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


def noise_summary(state: dict, frames: int) -> str:
    """The lines under chapter 6's explorer: attention on the noise against its uniform
    share, the effective number of frames, and how far the pooling and the embedding moved."""
    lines = [f"effective frames 1/Σα² = <b>{state['n_eff']:.0f}</b> of T' = {frames}"]
    if state["mass"] is not None:
        lines.insert(0, f"attention on the noise frames: <b>{state['mass']:.3f}</b> "
                        f"against a uniform share of {state['uniform']:.3f} "
                        f"(<b>{state['relative_mass']:.2f}×</b>)")
    lines.append(f"against the clean utterance: pooled μ moved by "
                 f"{state['mu_change']:.1%}, σ by {state['sigma_change']:.1%}; "
                 f"cosine of the embeddings {state['cosine_to_clean']:.3f}")
    return "<br>".join(lines)


class NoiseAttentionExplorer:
    """An ipywidgets app: put noise into part of an utterance and watch a trained model's
    attention. Chapter 6, "Try it".

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
        self._paths = {u.name: u.path for u in data.utterances("test-other")}
        names = list(utterances) if utterances is not None else list(self._paths)
        unknown = [n for n in names if n not in self._paths]
        if unknown or not names:
            raise ValueError(f"unknown test-other utterances {unknown[:3]} (or none given); "
                             f"e.g. {next(iter(self._paths))!r}")
        self._audio: dict[str, np.ndarray] = {}
        self._models: dict = {}
        self._make_controls(names)
        self.upload = self._make_upload()
        self.message, self.summary, self.player = widgets.HTML(), widgets.HTML(), widgets.HTML()
        self.picture = picture_widget()
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

    def _make_controls(self, names: list[str]) -> None:
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

    def _make_upload(self):
        if "google.colab" in sys.modules:
            # Colab's FileUpload drops files of about 1 MB and more without a word
            # (jupyter-widgets/ipywidgets#3452); Colab's own upload dialog takes any size.
            upload = widgets.Button(description="your recording", icon="upload",
                                    tooltip="upload an audio file (Colab's dialog)")
            upload.on_click(self._upload_with_colab)
        else:
            upload = widgets.FileUpload(accept=".wav,.flac,.ogg,audio/*", multiple=False,
                                        description="your recording")
            upload.observe(self._on_upload, names="value")
        return upload

    def _speech(self, name: str) -> np.ndarray:
        if name not in self._audio:
            self._audio[name] = data.load_audio(self._paths[name])
        return self._audio[name]

    def _model(self, name: str):
        if name not in self._models:
            self._models[name] = analysis.load_model(name)
        return self._models[name]

    def load_upload(self, name: str, content: bytes) -> bool:
        """Decode an uploaded file and select it; on failure say why in :attr:`message`
        and keep the current utterance. Returns whether it worked."""
        try:
            audio = decode_audio(content, name)
        except AudioError as err:
            self.message.value = (f"<p role='alert'><b>Could not use {escaped(name)}:</b> "
                                  f"{escaped(err)}</p>")
            return False
        key = UPLOAD_PREFIX + name
        self._audio[key] = audio
        if key not in self.utterance.options:
            self.utterance.options = [*self.utterance.options, key]
        self.message.value = (f"<p>Loaded {escaped(name)}: {audio.size / 16000:.2f} s "
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
        from google.colab import files  # exists on Colab only

        for name, content in files.upload().items():  # {file name: bytes}
            self.load_upload(name, content)

    # -------------------------------------------------------------- output

    def _noisy(self, speech: np.ndarray, model, start: int, length: int) -> tuple:
        """``(mixed, times, alpha, mask, segment)`` with the current noise put into samples
        ``start`` to ``start + length``; the mask and segment are None without noise."""
        kind = self.noise.value
        if kind == NO_NOISE:
            times, alpha = analysis.frame_attention(model, speech)
            return speech, times, alpha, None, None
        out = analysis.noise_attention(model, speech, kind, float(self.snr.value), start,
                                       length, self.mode.value,
                                       rng=analysis.noise_rng(0, 0, kind))
        segment = (start / SAMPLE_RATE, (start + length) / SAMPLE_RATE)
        return out["mixed"], out["times"], out["alpha"], out["mask"], segment

    def _measure(self, model, speech: np.ndarray, mixed: np.ndarray, alpha: np.ndarray,
                 mask) -> dict:
        """The attention on the noise and how far the pooling and embedding moved."""
        mu0, sigma0 = analysis.pooled_statistics(model, speech)
        mu, sigma = analysis.pooled_statistics(model, mixed)
        e0, e1 = analysis.embed(model, speech), analysis.embed(model, mixed)
        mass = None if mask is None or not mask.any() else float(alpha[mask].sum())
        uniform = None if mask is None else float(mask.mean())
        return {
            "n_eff": effective_frames(alpha), "mass": mass, "uniform": uniform,
            "relative_mass": mass / uniform if mass is not None else None,
            "mu_change": float(np.linalg.norm(mu - mu0) / np.linalg.norm(mu0)),
            "sigma_change": float(np.linalg.norm(sigma - sigma0) / np.linalg.norm(sigma0)),
            "cosine_to_clean": float(e0 @ e1 / (np.linalg.norm(e0) * np.linalg.norm(e1))),
        }

    def update(self, _change=None) -> dict:
        """Recompute and redraw for the current controls; return the new :attr:`state`."""
        name, kind, model_name = self.utterance.value, self.noise.value, self.model.value
        speech, model = self._speech(name), self._model(model_name)
        start, length = analysis.noise_segment(speech.size, self.length.value,
                                               self.position.value)
        try:
            mixed, times, alpha, mask, segment = self._noisy(speech, model, start, length)
        except (AudioError, ValueError) as err:
            self.message.value = (f"<p role='alert'><b>Cannot compute this setting:</b> "
                                  f"{escaped(err)}</p>")
            return self.state
        state = {"utterance": name, "noise": kind, "model": model_name, "segment": segment,
                 "alpha": alpha, "times": times,
                 **self._measure(model, speech, mixed, alpha, mask)}
        self.summary.value = noise_summary(state, alpha.size)
        title = f"{name}, {model_name}: " + (
            "no noise added" if segment is None
            else f"{kind} {self.mode.value}s {segment[0]:.2f}-{segment[1]:.2f} s at "
                 f"{self.snr.value} dB")
        fig, _, _ = viz.spectrogram_attention(features.log_mel(mixed), {model_name: (times, alpha)},
                                              segment=segment, title=title)
        self.picture.value = png_of(fig, dpi=90)
        self.player.value = viz.audio_html(mixed, label=f"listen: {title}")
        if not self.message.value.startswith("<p>Loaded"):
            self.message.value = ""
        self.state = state
        return state
