"""The numbers every other module agrees on: the sample rate and the frame grid.

At the bottom of the library: :mod:`asp_lab.data` (which cuts noise segments on the frame
grid) and :mod:`asp_lab.features` (which makes the frames) both import from here, so neither
imports the other.
"""

SAMPLE_RATE = 16_000  #: Hz; everything is resampled to this on load
N_MELS = 40  #: log-mel bands per frame, C of the frames the book pools before any network
WIN_SECONDS = 0.025  #: analysis window, 25 ms
HOP_SECONDS = 0.010  #: one frame every 10 ms: 100 frames a second
