"""The speech and noise the book runs on: where it is, that it is intact, and loading it.

``data/`` (shipped with the project) holds a small LibriSpeech subset (Panayotov et al.,
2015) and four Speech Commands background noises (Warden, 2018), both CC BY 4.0, with a
``SHA256SUMS`` file that :func:`verify` checks before anything is read.

Layout::

    data/librispeech/train-clean-100/<speaker>/<speaker>-<chapter>-<utt>.flac
    data/librispeech/test-other/<speaker>/<speaker>-<chapter>-<utt>.flac
    data/noise/<name>.wav
"""

from __future__ import annotations

import hashlib
import itertools
import os
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .constants import SAMPLE_RATE

# Cropping and mixing live in asp_lab.mixing; data.mix_noise and data.random_crop still work.
from .mixing import mix_noise, random_crop, segment_frames  # noqa: F401

AUDIO_SUFFIXES = (".flac", ".wav")


class ChecksumError(RuntimeError):
    """A file under the data root is missing or differs from ``SHA256SUMS``.
    Raised before any chapter reads a changed file."""


class AudioError(ValueError):
    """An audio file could not be used: unreadable, empty, silent or too short.
    Every chapter that loads audio; chapter 6 for the reader's own recordings."""


def default_root() -> Path:
    """The data folder: ``$ASP_LAB_DATA`` if set, else ``data/`` beside the package.
    Every chapter reads its data from here."""
    env = os.environ.get("ASP_LAB_DATA")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "data"


def _root(root: str | os.PathLike | None) -> Path:
    root = Path(root) if root is not None else default_root()
    if not root.is_dir():
        raise FileNotFoundError(
            f"data root {root} does not exist; clone the repository with its data/ folder "
            f"or set ASP_LAB_DATA to a folder laid out like data/"
        )
    return root


def sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file, as hex: what ``SHA256SUMS`` lists. Chapters 5 and 6 record it."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(root: str | os.PathLike | None = None) -> int:
    """Check every file listed in ``<root>/SHA256SUMS``; return how many were checked.

    Raises :class:`ChecksumError` naming the first missing or altered file. Hashing runs
    once per process for an unchanged folder: the result is remembered together with the
    size and modification time of every file under the root, and any change re-hashes.

    Every chapter, before it reads a file.
    """
    root = _root(root).resolve()
    return _verify(root, _fingerprint(root))


def _fingerprint(root: Path) -> tuple:
    return tuple(
        (str(p), st.st_size, st.st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file() and (st := p.stat())
    )


@cache
def _verify(root: Path, fingerprint: tuple) -> int:
    sums = root / "SHA256SUMS"
    if not sums.is_file():
        raise ChecksumError(f"{sums} is missing: cannot verify the data in {root}")
    count = 0
    for line_no, line in enumerate(sums.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            expected, name = line.split(maxsplit=1)
        except ValueError:
            raise ChecksumError(f"{sums}:{line_no} is not '<sha256>  <path>': {line!r}") from None
        path = root / name.strip().lstrip("*")
        if not path.is_file():
            raise ChecksumError(f"{path} is listed in {sums} but missing")
        actual = sha256(path)
        if actual != expected:
            raise ChecksumError(
                f"{path} does not match {sums}: sha256 {actual}, expected {expected}"
            )
        count += 1
    return count


@dataclass(frozen=True)
class Utterance:
    """One recording: its speaker and where it lies. Chapter 1."""

    speaker: str
    path: Path

    @property
    def name(self) -> str:
        return self.path.stem


def utterances(
    subset: str = "test-other", root: str | os.PathLike | None = None
) -> list[Utterance]:
    """The recordings of a LibriSpeech subset (``test-other`` or ``train-clean-100``),
    sorted by speaker and name. The shipped data is verified against its checksums first.
    Chapters 1 to 7."""
    root = _root(root)
    if (root / "SHA256SUMS").is_file():
        verify(root)
    folder = root / "librispeech" / subset
    if not folder.is_dir():
        raise FileNotFoundError(f"no subset {subset!r}: {folder} does not exist")
    found = [
        Utterance(speaker=p.parent.name, path=p)
        for p in sorted(folder.glob("*/*"))
        if p.suffix.lower() in AUDIO_SUFFIXES
    ]
    if not found:
        raise FileNotFoundError(f"{folder} holds no {'/'.join(AUDIO_SUFFIXES)} files")
    return found


def noise_names(root: str | os.PathLike | None = None) -> list[str]:
    """Names of the noise recordings in ``<root>/noise`` (without ``.wav``).
    Chapters 5 and 6."""
    return sorted(p.stem for p in (_root(root) / "noise").glob("*.wav"))


def load_audio(
    path: str | os.PathLike, sample_rate: int = SAMPLE_RATE, min_seconds: float = 0.0
) -> np.ndarray:
    """Read a recording as mono float32 at ``sample_rate`` Hz, shape ``(samples,)``.

    Stereo is averaged to mono and other rates are resampled, with a warning saying so.
    Raises :class:`AudioError` naming the file if it cannot be read, is empty or silent, or
    is shorter than ``min_seconds``.

    Chapters 1 to 5.
    """
    import soundfile

    path = Path(path)
    try:
        audio, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except Exception as err:  # soundfile raises several types for unreadable files
        raise AudioError(f"cannot read audio file {path}: {err}") from err
    if audio.shape[1] > 1:
        warnings.warn(f"{path}: {audio.shape[1]} channels mixed down to mono", stacklevel=2)
    audio = audio.mean(axis=1)
    if rate != sample_rate:
        import librosa

        warnings.warn(f"{path}: resampled from {rate} Hz to {sample_rate} Hz", stacklevel=2)
        audio = librosa.resample(audio, orig_sr=rate, target_sr=sample_rate).astype(np.float32)
    seconds = audio.size / sample_rate
    if audio.size == 0:
        raise AudioError(f"{path} is empty (0 samples)")
    if seconds < min_seconds:
        raise AudioError(f"{path} is {seconds:.3f} s long; at least {min_seconds} s is needed")
    if not np.any(audio):
        raise AudioError(f"{path} is silent: all {audio.size} samples are zero")
    return audio


@cache
def cached_audio(path: str | os.PathLike) -> np.ndarray:
    """:func:`load_audio` once per process: the same read-only array on every call (training
    crops and evaluation embed the same files many times). Chapters 5 and 6."""
    audio = load_audio(path)
    audio.setflags(write=False)
    return audio


@cache
def cached_noise(name: str, root: str | None = None) -> np.ndarray:
    """:func:`load_noise` once per process, read-only (``root`` as a string or None).
    Chapters 5 and 6."""
    noise = load_noise(name, root)
    noise.setflags(write=False)
    return noise


def load_noise(name: str, root: str | os.PathLike | None = None) -> np.ndarray:
    """A noise recording from ``<root>/noise/<name>.wav``, mono float32 at 16 kHz.
    Chapters 5 and 6."""
    root = _root(root)
    path = root / "noise" / f"{name}.wav"
    if not path.is_file():
        raise FileNotFoundError(f"no noise {name!r} ({path}); known: {noise_names(root)}")
    if (root / "SHA256SUMS").is_file():
        verify(root)
    return load_audio(path)


def speakers(root: str | os.PathLike | None = None) -> dict[str, str]:
    """Speaker id -> sex ('F' or 'M') for the shipped speakers, from SPEAKERS.TXT.
    Chapters 1, 5 and 6."""
    table = {}
    for line in (_root(root) / "librispeech" / "SPEAKERS.TXT").read_text().splitlines():
        if line.startswith(";") or "|" not in line:
            continue
        fields = [f.strip() for f in line.split("|")]
        table[fields[0]] = fields[1]
    return table


# ------------------------------------------------------------ verification trials


class Trial(NamedTuple):
    """One verification trial: two utterances, and whether they share a speaker. Chapter 5."""

    a: Utterance
    b: Utterance
    target: bool


def trials(subset: str = "test-other", root: str | os.PathLike | None = None) -> list[Trial]:
    """Every unordered pair of distinct utterances of ``subset`` as a :class:`Trial`.

    Pairs follow :func:`utterances`' order (``a`` before ``b``). For the shipped test-other
    (10 speakers x 10 utterances) that is 100 * 99 / 2 = 4,950 trials: 10 * 45 = 450 target
    and 4,500 non-target.

    Chapter 5.
    """
    return [
        Trial(a, b, a.speaker == b.speaker)
        for a, b in itertools.combinations(utterances(subset, root), 2)
    ]
