"""asp_lab.data: checksums, listing, and loading audio with errors that name the file."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile

from asp_lab import data

ROOT = data.default_root()
SUBSET = "librispeech/test-other/1688"


def test_verify_passes_on_the_shipped_data_and_checks_every_file():
    listed = [line.split(maxsplit=1)[1].removeprefix("./")
              for line in (ROOT / "SHA256SUMS").read_text().splitlines() if line.strip()]
    assert data.verify() == data.verify(ROOT) == len(listed)
    on_disk = {p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*") if p.is_file()}
    unchecked = on_disk - set(listed) - {"SHA256SUMS", "README.md"}
    assert not unchecked, f"files in data/ that SHA256SUMS does not list: {sorted(unchecked)}"


def test_utterances_and_noises():
    utts = data.utterances("test-other")
    assert len(utts) == 100
    speakers = {u.speaker for u in utts}
    assert len(speakers) == 10
    assert all(sum(u.speaker == s for u in utts) == 10 for s in speakers)
    assert all(u.path.is_file() and u.path.parent.name == u.speaker for u in utts)
    assert all(u.name.startswith(f"{u.speaker}-") for u in utts)
    train = data.utterances("train-clean-100")
    assert len(train) == len({u.speaker for u in train}) == 251
    assert not speakers & {u.speaker for u in train}
    assert data.noise_names() == ["doing_the_dishes", "pink_noise", "running_tap", "white_noise"]
    with pytest.raises(FileNotFoundError, match="dev-clean"):
        data.utterances("dev-clean")


@pytest.fixture
def small_root(tmp_path: Path) -> tuple[Path, list[str]]:
    """A copy of three test-other files with their own SHA256SUMS (three lines)."""
    lines = [
        line for line in (ROOT / "SHA256SUMS").read_text().splitlines() if SUBSET in line
    ][:3]
    names = []
    for line in lines:
        name = line.split(maxsplit=1)[1].strip()
        names.append(name)
        dest = tmp_path / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, dest)  # copyfile: the copy is writable
    (tmp_path / "SHA256SUMS").write_text("\n".join(lines) + "\n")
    return tmp_path, names


def test_verify_counts_a_small_copy(small_root):
    root, names = small_root
    assert data.verify(root) == len(names) == 3
    assert len(data.utterances("test-other", root)) == 3


def test_one_altered_byte_raises_checksum_error_naming_the_file(small_root):
    root, names = small_root
    target = root / names[1]
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    target.write_bytes(bytes(raw))
    file_name = Path(names[1]).name
    with pytest.raises(data.ChecksumError, match=re.escape(file_name)):
        data.verify(root)
    with pytest.raises(data.ChecksumError, match=re.escape(file_name)):
        data.utterances("test-other", root)  # the loader verifies before listing


def test_missing_listed_file_raises_checksum_error_naming_it(small_root):
    root, names = small_root
    (root / names[2]).unlink()
    with pytest.raises(data.ChecksumError, match=re.escape(Path(names[2]).name) + ".*missing"):
        data.verify(root)


def test_load_audio_returns_mono_float32_at_16k():
    utt = data.utterances("test-other")[0]
    audio = data.load_audio(utt.path)
    info = soundfile.info(str(utt.path))
    assert info.samplerate == data.SAMPLE_RATE == 16_000
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert audio.size == info.frames
    assert np.isfinite(audio).all() and np.abs(audio).max() <= 1.0 and np.any(audio)
    noise = data.load_noise("white_noise")
    assert noise.dtype == np.float32 and noise.ndim == 1 and noise.size >= 60 * 16_000


def test_stereo_44k_is_mixed_down_and_resampled_with_warnings(tmp_path):
    rate, seconds = 44_100, 0.5
    t = np.arange(int(rate * seconds)) / rate
    left = 0.5 * np.sin(2 * np.pi * 440 * t)
    stereo = np.stack([left, 0.5 * left], axis=1).astype(np.float32)  # mono mix: 0.75 * left
    path = tmp_path / "stereo.wav"
    soundfile.write(path, stereo, rate)
    with pytest.warns(UserWarning) as record:
        audio = data.load_audio(path)
    messages = " | ".join(str(w.message) for w in record)
    assert "mono" in messages and "44100" in messages and "16000" in messages
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(audio.size - int(16_000 * seconds)) <= 1
    rms = float(np.sqrt(np.mean(audio[800:-800] ** 2)))  # away from the resampler's edges
    assert rms == pytest.approx(0.75 * 0.5 / np.sqrt(2), rel=0.02)
    # still 440 Hz after resampling
    spectrum = np.abs(np.fft.rfft(audio))
    assert np.fft.rfftfreq(audio.size, 1 / 16_000)[spectrum.argmax()] == pytest.approx(440, abs=3)


def _write(path: Path, samples: np.ndarray, rate: int = 16_000) -> Path:
    soundfile.write(path, samples.astype(np.float32), rate)
    return path


@pytest.mark.parametrize(
    "kind,match",
    [
        ("empty", r"is empty"),
        ("silent", r"is silent"),
        ("short", r"0\.500 s long; at least 1\.0 s"),
        ("garbage", r"cannot read"),
    ],
)
def test_bad_audio_raises_audio_error_naming_the_file(tmp_path, kind, match):
    kwargs = {}
    path = tmp_path / ("clip.flac" if kind == "garbage" else "clip.wav")
    if kind == "empty":
        _write(path, np.zeros(0))
    elif kind == "silent":
        _write(path, np.zeros(16_000))
    elif kind == "short":
        _write(path, 0.1 * np.ones(8_000))
        kwargs = {"min_seconds": 1.0}
        assert data.load_audio(path).size == 8_000  # fine without the minimum
    else:
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    both = f"(?s)(?=.*{re.escape(str(path))})(?=.*{match})"  # names the file and the problem
    with pytest.raises(data.AudioError, match=both):
        data.load_audio(path, **kwargs)
    assert issubclass(data.AudioError, ValueError)


def test_verify_notices_a_file_altered_after_a_first_check(tmp_path):
    """The result is remembered per folder, but not past a change to a file."""
    import hashlib

    root = tmp_path / "d"
    root.mkdir()
    f = root / "a.bin"
    f.write_bytes(b"speech")
    (root / "SHA256SUMS").write_text(f"{hashlib.sha256(b'speech').hexdigest()}  ./a.bin\n")
    assert data.verify(root) == 1
    f.write_bytes(b"speecH")
    with pytest.raises(data.ChecksumError, match="a.bin"):
        data.verify(root)
