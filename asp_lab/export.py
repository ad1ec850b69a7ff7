"""A shipped model as one ONNX graph, for the book's "Try it with your voice" page and
chapter 6's live widget: waveform in, embedding and attention out, the front end inside.

    asp-lab export-onnx --out book/_static/live/models      # every shipped model
    export_onnx("asp-scalar", "asp-scalar.onnx")

The graph takes ``wave: (1, samples)`` float32 at 16 kHz (at least :func:`min_samples`) and
returns

- ``embedding: (E,)``, what :func:`asp_lab.embed` returns;
- ``alpha: (T',)``, what :func:`asp_lab.frame_attention` returns (summing to one);
- ``alpha_map: (K, T')``, what :func:`asp_lab.inference.channel_attention` returns (``K = P``
  channels for ``asp-channel``, ``K = 1`` otherwise);
- ``log_mel: (40, T)``, the model's input before its mean is removed, which the page draws.

The model's layers check their input (finite, long enough, the right shape) with branches
that depend on the data, which an exported graph cannot hold. So :class:`Exportable` runs
the same computation without them: the front end (:class:`asp_lab.features.LogMel` and the
mean removal of :func:`asp_lab.features.model_input`), the model's own frame layers, the
pooling's fast path (:mod:`asp_lab.pooling.fast`) with the module's parameters, and the
model's segment and embedding layers. ``tests/test_onnx.py`` proves the exported graph equal
to :func:`asp_lab.embed` and :func:`asp_lab.frame_attention`; the browser's checks (length,
silence) are the page's own.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import soundfile as sf
import torch
from torch import nn

from . import data
from .constants import SAMPLE_RATE
from .experiments.attention_grid import training_noises
from .features import LogMel
from .inference import MODEL_NAMES, load_model, min_samples
from .models import FRAME_OFFSET, TDNN
from .pooling import AttentiveStatisticsPooling, fast

__all__ = ["MAX_SECONDS", "OUTPUTS", "Exportable", "export_onnx", "export_all", "copy_site_audio"]

#: The longest waveform the exported graph takes, in seconds (its dynamic axis' bound).
MAX_SECONDS = 60
#: The graph's outputs, in order.
OUTPUTS = ("embedding", "alpha", "alpha_map", "log_mel")


class Exportable(nn.Module):
    """``model`` from a waveform, without input checks: ``wave (1, samples)`` ->
    ``(embedding (E,), alpha (T',), alpha_map (K, T'), log_mel (40, T))``. Chapter 6."""

    def __init__(self, model: TDNN) -> None:
        super().__init__()
        self.model = model.eval()
        self.logmel = LogMel()

    def pool(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The model's pooling on its fast path: ``h (1, P, T')`` -> pooled ``(1, 2P)`` and
        the weights ``(1, K, T')``, one row per channel (``K = 1`` for one weight per frame)."""
        pooling = self.model.pooling
        if isinstance(pooling, AttentiveStatisticsPooling):
            context = None
            if pooling.W_context is not None:  # W_mu mu + W_sigma sigma, as the layer does
                mu, sigma = fast.moments(h, fast.equal_weights(None, 1, h.shape[-1], like=h))
                context = torch.cat([mu, sigma], dim=1) @ pooling.W_context.T
            e = fast.scores(h, pooling.W, pooling.b, pooling.v, pooling.k, pooling.f, context)
            alpha = torch.softmax(e, dim=-1)  # (1, T') or (1, P, T'): no padding in one utterance
        else:
            alpha = torch.softmax(torch.zeros_like(h[:, 0]), dim=-1)  # uniform, 1 / T'
        mu, sigma = fast.moments(h, alpha)
        alpha = alpha if alpha.dim() == 3 else alpha[:, None, :]
        return torch.cat([mu, sigma], dim=1), alpha

    def forward(self, wave: torch.Tensor):
        log_mel = self.logmel(wave)  # (1, 40, T)
        x = log_mel - log_mel.mean(dim=-1, keepdim=True)  # features.model_input
        h = self.model.frame_layers(x)  # (1, P, T - 14)
        pooled, alpha_map = self.pool(h)
        embedding = self.model.embedding(self.model.segment(pooled))
        alpha_map = alpha_map[0] / alpha_map[0].sum(dim=-1, keepdim=True)  # (K, T')
        alpha = alpha_map.mean(dim=0)
        return embedding[0], alpha / alpha.sum(), alpha_map, log_mel[0]


def export_onnx(name: str | os.PathLike, out: str | os.PathLike) -> dict:
    """Export the shipped model ``name`` (or a checkpoint path) to the ONNX file ``out``.
    Chapter 6 and the "Try it with your voice" page run it in the browser.

    Returns what the page needs to know about it: outputs, sizes, the frame grid.
    """
    import onnx  # noqa: F401  (the exporter needs onnx and onnxscript: a clear ImportError)

    model = load_model(name)
    wrapper = Exportable(model).eval()
    example = torch.zeros(1, 3 * SAMPLE_RATE)
    example[0, ::97] = 0.1  # not silent, so no branch of the tracer sees a constant
    samples = torch.export.Dim("samples", min=min_samples(), max=SAMPLE_RATE * MAX_SECONDS)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with torch.no_grad():
        program = torch.onnx.export(
            wrapper, (example,), dynamo=True, input_names=["wave"], output_names=list(OUTPUTS),
            dynamic_shapes={"wave": {1: samples}}, optimize=True, verbose=False,
        )
    program.save(str(out), external_data=False)
    _strip_trace_metadata(out)
    return {
        "name": str(name),
        "file": out.name,
        "pooling": model.pooling_name,
        "bytes": out.stat().st_size,
        "export_seconds": round(time.perf_counter() - start, 2),
        "outputs": list(OUTPUTS),
        "sample_rate": SAMPLE_RATE,
        "min_samples": min_samples(),
        "max_samples": SAMPLE_RATE * MAX_SECONDS,
        "frame_offset": FRAME_OFFSET,
        "hop_samples": wrapper.logmel.hop,
    }


def _strip_trace_metadata(path: Path) -> None:
    """Drop the exporter's per-node notes (Python stack traces and tracer counters, which
    differ from run to run), so that the same checkpoint always gives the same bytes."""
    import onnx

    proto = onnx.load(str(path))
    nodes = list(proto.graph.node) + [n for f in proto.functions for n in f.node]
    for node in nodes:
        del node.metadata_props[:]
    for value in list(proto.graph.value_info):
        del value.metadata_props[:]
    onnx.save(proto, str(path))


def export_all(out_dir: str | os.PathLike, names=MODEL_NAMES) -> list[dict]:
    """Every shipped model into ``out_dir`` as ``NAME.onnx``, with ``models.json`` listing
    them (what the page reads). Chapter 6."""
    out_dir = Path(out_dir)
    records = [export_onnx(n, out_dir / f"{n}.onnx") for n in names]
    listed = [{k: v for k, v in r.items() if k != "export_seconds"} for r in records]  # repeats
    (out_dir / "models.json").write_text(json.dumps({"models": listed}, indent=1) + "\n")
    return records


def copy_site_audio(out_dir: str | os.PathLike, root: str | os.PathLike | None = None) -> dict:
    """The recordings the page offers, copied as they are (FLAC speech, WAV noise) into
    ``out_dir`` with ``index.json``: the first test-other utterance of each speaker, and every
    recorded noise with the models that were trained on it. Chapter 6."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sexes = data.speakers(root)
    first: dict[str, data.Utterance] = {}
    for u in data.utterances("test-other", root):
        first.setdefault(u.speaker, u)
    index: dict = {"utterances": [], "noises": []}
    for u in first.values():
        shutil.copyfile(u.path, out_dir / u.path.name)
        seconds = round(sf.info(u.path).duration, 2)
        index["utterances"].append({"name": u.path.stem, "file": u.path.name, "seconds": seconds,
                                    "speaker": u.speaker, "sex": sexes.get(u.speaker, "?")})
    for name in data.noise_names(root):
        path = data._root(root) / "noise" / f"{name}.wav"
        shutil.copyfile(path, out_dir / path.name)
        seen = [m for m in MODEL_NAMES if name in training_noises(m)]
        index["noises"].append({"name": name, "file": path.name, "trained_on_by": seen})
    (out_dir / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    return index
