"""The field's own pooling layers, beside which the book measures ``asp_lab``'s.

- :mod:`~asp_lab.reference.wespeaker`: :class:`WeSpeakerASTP`, WeSpeaker's ``ASTP``
  reimplemented (no WeSpeaker install needed); chapter 7's benchmark.
- :mod:`~asp_lab.reference.speechbrain`: :func:`load_speechbrain_asp`, SpeechBrain's
  ``AttentiveStatisticsPooling`` (ECAPA-TDNN) imported with a stand-in for torchaudio;
  chapter 7's benchmark, and the layer that asp_lab's, with ``batch_norm=True, tanh=True``,
  is proven to compute.

The post's block, the book's other reference, stays in :mod:`asp_lab.blog`.
"""

from .speechbrain import load_speechbrain_asp
from .wespeaker import WeSpeakerASTP

__all__ = ["WeSpeakerASTP", "load_speechbrain_asp"]
