"""SpeechBrain's attentive statistics pooling, imported without torchaudio (chapter 7).

SpeechBrain's ``AttentiveStatisticsPooling`` (``speechbrain/lobes/models/ECAPA_TDNN.py``)
is ECAPA-TDNN's pooling as the field runs it. Its scores: a ``TDNNBlock`` (a kernel-size-1
convolution, ReLU, ``BatchNorm1d``), then tanh, then a second convolution; global context
by concatenating each frame with the utterance's mean and standard deviation repeated over
time; two-pass moments with the variance clamped at 1e-12; padding masked from relative
``lengths``. ``asp_lab.pooling.AttentiveStatisticsPooling(C, A, mode="channel",
global_context=True, batch_norm=True, tanh=True)`` computes the same function
(``tests/test_pooling_speechbrain.py`` copies the weights across and compares).
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import logging
import sys
import types
from collections.abc import Iterator

from torch import nn


@contextlib.contextmanager
def _torchaudio_stub() -> Iterator[None]:
    """Put a placeholder ``torchaudio`` module in ``sys.modules`` while SpeechBrain imports.

    SpeechBrain's package ``__init__`` imports modules that ``import torchaudio`` at the top
    (``speechbrain.nnet.CNN`` for one), although the pooling layer uses none of it. Where
    torchaudio is missing, or its wheel does not match the installed torch, the stub lets
    the import go through. It is removed again afterwards; a real torchaudio, if one
    imports, is used instead and left alone.
    """
    try:
        import torchaudio  # noqa: F401
    except Exception:  # not installed, or built for another torch
        sys.modules.pop("torchaudio", None)
        stub = types.ModuleType("torchaudio")
        stub.__spec__ = importlib.machinery.ModuleSpec("torchaudio", None)
        stub.__version__ = "2.9.0+asp_lab_stub"  # >= 2.9: SpeechBrain skips backend checks
        sys.modules["torchaudio"] = stub
        try:
            yield
        finally:
            if sys.modules.get("torchaudio") is stub:
                del sys.modules["torchaudio"]
    else:
        yield


def load_speechbrain_asp() -> tuple[type[nn.Module] | None, str]:
    """SpeechBrain's ``AttentiveStatisticsPooling`` class, or ``None`` and the reason why not.

    Chapter 7 (the benchmark's ``speechbrain-asp`` rows).

    Returns ``(cls, "")`` when ``speechbrain.lobes.models.ECAPA_TDNN`` imports (SpeechBrain
    installed, e.g. by ``make bench-deps``: ``pip install --no-deps speechbrain hyperpyyaml
    ruamel.yaml``, which leaves torch alone), else ``(None, reason)``. torchaudio is not
    needed: a stub stands in for it during the import (see ``_torchaudio_stub``).

    The class is ``AttentiveStatisticsPooling(channels, attention_channels=128,
    global_context=True)``; its ``forward(x, lengths=None)`` maps ``x: (B, C, T)`` to
    ``(B, 2C, 1)``, with ``lengths`` *relative* (fractions of T).
    """
    sb_logger = logging.getLogger("speechbrain")
    level = sb_logger.level
    sb_logger.setLevel(logging.ERROR)  # its import logs about the torchaudio version
    try:
        with _torchaudio_stub():
            from speechbrain.lobes.models.ECAPA_TDNN import AttentiveStatisticsPooling as SB
    except ImportError as err:
        return None, (f"SpeechBrain is not importable ({err}); `make bench-deps` installs it "
                      f"without touching torch")
    finally:
        sb_logger.setLevel(level)
        _drop_lazy_placeholders()
    return SB, ""


def _drop_lazy_placeholders() -> None:
    """Remove the placeholder modules SpeechBrain puts in ``sys.modules``.

    SpeechBrain registers redirects for its deprecated module paths (``speechbrain.pretrained``
    and others) as module objects whose attribute access imports the real module, and with it
    optional dependencies (sentencepiece, k2, transformers, ...). Code that scans
    ``sys.modules`` and reads ``__file__`` (hypothesis does, while the tests run) then gets an
    ImportError instead of a missing attribute. The pooling layer needs none of them.
    """
    for name, module in list(sys.modules.items()):
        if name.startswith("speechbrain") and type(module).__module__.startswith(
            "speechbrain.utils.importutils"
        ):
            del sys.modules[name]
