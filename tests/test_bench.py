"""asp_lab.bench: the benchmark runs end to end and writes what it promises; the CUDA timing
path synchronises and resets the peak counter; the WeSpeaker reimplementation computes
WeSpeaker's formula; SpeechBrain's layer, when installed, has the shape its docs state.

Sizes are tiny, so the whole file runs in seconds; the numbers themselves are not tested
(they depend on the machine), only their presence, their signs and the ratio arithmetic.
"""

from __future__ import annotations

import json
import math

import pytest
import torch

from asp_lab import bench, cli

TINY = [(2, 8, 6)]


@pytest.fixture(scope="module")
def tiny_result() -> dict:
    return bench.run(TINY, repeats=2, warmup=1)


def test_run_has_every_layer_or_a_reason(tiny_result):
    rows = tiny_result["results"][0]["rows"]
    for name in bench.LAYERS:
        assert (name in rows) != (name in tiny_result["skipped"]), name
    for name in ("stats", "asp-scalar", "asp-scalar-gc", "asp-channel", "asp-channel-gc",
                 "asp-ecapa", "asp-ecapa-gc", "blog-asp", "wespeaker-astp",
                 "wespeaker-astp-gc"):
        assert name in rows, f"{name} was skipped: {tiny_result['skipped'].get(name)}"


def test_rows_hold_times_memory_and_ratios(tiny_result):
    rows = tiny_result["results"][0]["rows"]
    for name, row in rows.items():
        assert len(row["times_s"]) == 2
        assert row["time_q1_s"] <= row["time_median_s"] <= row["time_q3_s"]
        assert row["time_iqr_s"] == pytest.approx(row["time_q3_s"] - row["time_q1_s"])
        assert row["peak_memory_bytes"] > 0, f"{name}: no memory measured"
        assert row["time_vs_stats"] == pytest.approx(
            row["time_median_s"] / rows["stats"]["time_median_s"])
        assert row["memory_vs_stats"] == pytest.approx(
            row["peak_memory_bytes"] / rows["stats"]["peak_memory_bytes"])
        ref = row["speechbrain_reference"]
        if ref is None:
            assert row["time_vs_speechbrain"] is None
        else:
            assert ref == bench.SPEECHBRAIN_REF[bench.LAYERS[name][1]]
            assert row["time_vs_speechbrain"] == pytest.approx(
                row["time_median_s"] / rows[ref]["time_median_s"])
    assert rows["stats"]["time_vs_stats"] == 1.0
    assert rows["stats"]["time_vs_stats_paired"] == 1.0
    for name, row in rows.items():  # the paired ratio lies between the extreme round ratios
        rounds = [a / b for a, b in zip(row["times_s"], rows["stats"]["times_s"], strict=True)]
        assert min(rounds) <= row["time_vs_stats_paired"] <= max(rounds), name


def test_rows_hold_the_forward_bandwidth(tiny_result):
    B, C, T = TINY[0]
    assert tiny_result["machine"]["peak_bandwidth_bytes_per_s"] is None  # a CPU: not known
    assert tiny_result["machine"]["peak_bandwidth_source"] == "not known for cpu"
    for name, row in tiny_result["results"][0]["rows"].items():
        assert row["forward_median_s"] > 0, name
        assert row["forward_min_bytes"] == (B * C * T + B * 2 * C) * 4  # read h, write (B, 2C)
        assert row["forward_bytes_per_s"] == pytest.approx(
            row["forward_min_bytes"] / row["forward_median_s"])
        assert row["forward_fraction_of_peak"] is None


def test_peak_bandwidth_from_properties_or_the_data_sheet():
    from types import SimpleNamespace

    cuda = torch.device("cuda")
    props = SimpleNamespace(name="NVIDIA H100 80GB HBM3", memory_clock_rate=2_619_000,
                            memory_bus_width=5120)  # kHz, bits
    peak, source = bench.peak_bandwidth(cuda, props)
    assert peak == pytest.approx(2 * 2.619e9 * 5120 / 8) and "properties" in source
    peak, source = bench.peak_bandwidth(cuda, SimpleNamespace(name="NVIDIA H100 PCIe"))
    assert peak == 2.0e12 and "H100 PCIe" in source  # not the SXM figure of plain "H100"
    assert bench.peak_bandwidth(cuda, SimpleNamespace(name="Mystery GPU"))[0] is None
    assert bench.peak_bandwidth(torch.device("cpu"))[0] is None


def test_autocast_errors_are_reported_per_layer_and_format(tiny_result):
    errors = tiny_result["autocast_errors"]
    assert set(errors) == set(tiny_result["results"][0]["rows"])
    for name, by_dtype in errors.items():
        assert set(by_dtype) == {"bfloat16", "float16"}, name
        for by_offset in by_dtype.values():
            assert set(by_offset) == {f"offset {m:g}" for m in bench.AUTOCAST_OFFSETS}
            assert all(e["finite"] and e["mu"] >= 0 and e["sigma"] >= 0
                       for e in by_offset.values()), name
    # statistics pooling has no matrix product for autocast to lower: it is exact
    assert all(e["mu"] == e["sigma"] == 0 for by_offset in errors["stats"].values()
               for e in by_offset.values())


def test_one_pass_variance_loses_the_spread_under_bfloat16():
    """The post's block (E[x^2] - mu^2) against asp_lab's two-pass moments, frames with a mean
    of 10 standard deviations, bfloat16 autocast: chapter 4's finding, through the bench."""
    errors = bench.autocast_errors(["asp-channel", "blog-asp"], size=(8, 64, 50))
    sigma = {n: errors[n]["bfloat16"]["offset 10"]["sigma"] for n in errors}
    assert sigma["blog-asp"] > 3 * sigma["asp-channel"], sigma


def test_json_is_valid_and_self_describing(tiny_result):
    text = json.dumps(tiny_result)
    back = json.loads(text)
    assert back["schema"] == bench.SCHEMA
    for key in ("date", "cpu", "torch", "torch_threads", "device"):
        assert back["machine"][key], key
    assert back["settings"]["sizes"] == [list(s) for s in TINY]
    assert "profiler" in back["method"]["memory"]
    assert {t["target"] for t in back["targets"]} == {t[0] for t in bench.TARGETS}
    # TINY is not the headline size: the targets say "not measured", not a made-up number
    assert all(t["ratio"] is None and t["met"] is None for t in back["targets"])


def test_targets_are_computed_at_the_headline_size():
    def row(t, m):
        return {"time_median_s": t, "peak_memory_bytes": m}

    result = {"results": [{"B": 32, "C": 1536, "T": 300, "rows": {
        "stats": row(1.0, 100), "asp-scalar": row(1.5, 120),
        "asp-ecapa-gc": row(2.0, 300), "speechbrain-asp-gc": row(4.0, 400)}}]}
    got = {t["layer"] + "/" + t["quantity"]: t for t in bench.targets(result)}
    assert got["asp-ecapa-gc/time"]["ratio"] == 0.5 and got["asp-ecapa-gc/time"]["met"]
    assert got["asp-ecapa-gc/memory"]["ratio"] == 0.75
    assert got["asp-ecapa-gc/memory"]["met"] is False
    assert got["asp-scalar/time"]["ratio"] == 1.5 and got["asp-scalar/time"]["met"]


def test_cli_writes_json_and_plot(tmp_path, capsys):
    out, png = tmp_path / "r.json", tmp_path / "r.png"
    code = cli.main(["bench", "--sizes", "2,8,6", "--repeats", "1", "--warmup", "0",
                     "--layers", "stats", "asp-scalar", "--no-memory",
                     "--out", str(out), "--plot", str(png)])
    assert code == 0
    result = json.loads(out.read_text())
    assert list(result["results"][0]["rows"]) == ["stats", "asp-scalar"]
    assert result["results"][0]["rows"]["stats"]["peak_memory_bytes"] is None
    assert png.stat().st_size > 1000 and png.read_bytes()[:4] == b"\x89PNG"
    assert "asp-scalar" in capsys.readouterr().out


def test_bad_arguments_raise_value_error():
    with pytest.raises(ValueError, match="unknown layer"):
        bench.run(TINY, layers=["nope"])
    with pytest.raises(ValueError, match="dtype"):
        bench.run(TINY, dtype="float8")
    with pytest.raises(ValueError, match=r"\(B, C, T\)"):
        bench.run([(2, 0, 6)])


# ------------------------------------------------------------------- the CUDA code path


class FakeCuda:
    """Records the torch.cuda calls the benchmark makes, and plays a memory counter."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.allocated = 1000  # bytes held before the step (input, parameters)
        self.peak = 1000

    def synchronize(self, device=None) -> None:
        self.calls.append("synchronize")

    def reset_peak_memory_stats(self, device=None) -> None:
        self.calls.append("reset")
        self.peak = self.allocated

    def memory_allocated(self, device=None) -> int:
        self.calls.append("allocated")
        return self.allocated

    def max_memory_allocated(self, device=None) -> int:
        self.calls.append("max")
        return self.peak


@pytest.fixture
def fake_cuda(monkeypatch) -> FakeCuda:
    fake = FakeCuda()
    for name in ("synchronize", "reset_peak_memory_stats", "memory_allocated",
                 "max_memory_allocated"):
        monkeypatch.setattr(torch.cuda, name, getattr(fake, name))
    return fake


def test_cuda_timing_synchronises_around_every_step(fake_cuda):
    def step():
        fake_cuda.calls.append("step")

    times = bench.time_steps({"a": step, "b": step}, torch.device("cuda"), repeats=3, warmup=1)
    assert len(times["a"]) == len(times["b"]) == 3
    # every step sits between two synchronisations: the clock waits for the kernels
    assert fake_cuda.calls == ["synchronize", "step", "synchronize"] * (2 * 4)


def test_cuda_peak_memory_resets_the_counter_and_subtracts_what_was_there(fake_cuda):
    def step():
        fake_cuda.calls.append("step")
        fake_cuda.peak = fake_cuda.allocated + 5000  # the step's temporaries
        fake_cuda.allocated += 300  # what it leaves behind (gradients)

    assert bench.peak_memory(step, torch.device("cuda")) == 5000
    calls = fake_cuda.calls
    assert calls.index("reset") < calls.index("allocated") < calls.index("step")
    assert calls.index("step") < calls.index("max")
    assert calls[calls.index("step") + 1] == "synchronize"  # read the peak after the kernels


def test_peak_memory_runs_setup_before_measuring(fake_cuda):
    def setup():
        fake_cuda.calls.append("setup")
        fake_cuda.allocated -= 300  # drops the previous step's gradients

    bench.peak_memory(lambda: fake_cuda.calls.append("step"), torch.device("cuda"), setup=setup)
    assert fake_cuda.calls[0] == "setup"
    assert fake_cuda.calls.index("allocated") > 0


def test_cpu_peak_memory_is_the_same_every_time():
    """Measured twice after an unmeasured step, a layer's peak is the same: gradients left by
    an earlier step are dropped before the measurement, not inside it."""
    torch.manual_seed(0)
    layer = bench.LAYERS["asp-channel-gc"][0](16, 8)
    h = torch.randn(4, 16, 30, requires_grad=True)
    step, clear = bench._step(layer, h), bench._clear_grads(layer, h)
    step()  # gradients allocated outside the profiler
    cpu = torch.device("cpu")
    first = bench.peak_memory(step, cpu, setup=clear)
    assert first == bench.peak_memory(step, cpu, setup=clear)
    grads = h.numel() * 4 + sum(p.numel() * 4 for p in layer.parameters())
    assert first >= grads  # the step's own gradients count


def test_cpu_peak_memory_sees_a_known_allocation():
    n = 1_000_000

    def step():
        x = torch.ones(n)  # 4 MB, freed at the end of the step
        del x

    peak = bench.peak_memory(step, torch.device("cpu"))
    assert 4 * n <= peak < 4 * n + 100_000


def test_resolve_device():
    assert bench.resolve_device("cpu") == torch.device("cpu")
    auto = bench.resolve_device("auto")
    assert auto.type in ("cuda", "mps", "cpu")
    if not torch.cuda.is_available():
        assert auto.type != "cuda"
        with pytest.raises(ValueError, match="cuda"):
            bench.resolve_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_real_cuda_run():
    result = bench.run([(2, 16, 10)], device="cuda", repeats=2, warmup=1,
                       layers=["stats", "asp-channel-gc"])
    rows = result["results"][0]["rows"]
    assert rows["asp-channel-gc"]["peak_memory_bytes"] > 0
    assert "max_memory_allocated" in result["method"]["memory"]
    assert result["machine"]["gpu"]
    peak = result["machine"]["peak_bandwidth_bytes_per_s"]
    for row in rows.values():  # no layer moves its input faster than the memory can
        assert peak is None or 0 < row["forward_fraction_of_peak"] < 1
    assert all(e["finite"] for by_dtype in result["autocast_errors"].values()
               for by_offset in by_dtype.values() for e in by_offset.values())


# --------------------------------------------------------------------- the other layers


def astp_direct(x: torch.Tensor, W1, b1, W2, b2, gc: bool) -> torch.Tensor:
    """WeSpeaker's ASTP written out with explicit sums over frames, in float64."""
    B, C, T = x.shape
    x = x.double()
    out = []
    for i in range(B):
        xi = x[i]  # (C, T)
        if gc:
            m = xi.sum(dim=1) / T
            s = torch.sqrt(((xi - m[:, None]) ** 2).sum(dim=1) / (T - 1) + 1e-7)  # unbiased
            xin = torch.cat([xi, m[:, None].expand(C, T), s[:, None].expand(C, T)], dim=0)
        else:
            xin = xi
        scores = W2 @ torch.tanh(W1 @ xin + b1[:, None]) + b2[:, None]  # (C, T)
        a = torch.exp(scores) / torch.exp(scores).sum(dim=1, keepdim=True)
        mean = (a * xi).sum(dim=1)
        var = (a * xi * xi).sum(dim=1) - mean * mean  # E[x^2] - mu^2, one pass
        out.append(torch.cat([mean, torch.sqrt(var.clamp(min=1e-7))]))
    return torch.stack(out)


@pytest.mark.parametrize("gc", [False, True], ids=["plain", "global-context"])
def test_wespeaker_astp_is_its_formula(gc):
    torch.manual_seed(0)
    B, C, T, A = 2, 5, 7, 4
    layer = bench.WeSpeakerASTP(C, A, global_context_att=gc).double()
    x = torch.randn(B, C, T, dtype=torch.float64) * 2 + 1
    W1, b1 = layer.linear1.weight[:, :, 0], layer.linear1.bias
    W2, b2 = layer.linear2.weight[:, :, 0], layer.linear2.bias
    with torch.no_grad():
        got = layer(x)
        want = astp_direct(x, W1, b1, W2, b2, gc)
    assert got.shape == (B, 2 * C)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


def test_wespeaker_astp_one_pass_variance_is_clamped():
    """A constant channel: E[x^2] - mu^2 is 0 or a rounding error, and the clamp gives
    sqrt(1e-7), as in WeSpeaker."""
    layer = bench.WeSpeakerASTP(3, 4)
    x = torch.full((1, 3, 8), 3.0)
    sigma = layer(x)[0, 3:]
    assert torch.all(sigma >= math.sqrt(1e-7) * (1 - 1e-6))
    assert torch.all(sigma < 1e-3)


speechbrain_asp, SPEECHBRAIN_MISSING = bench.load_speechbrain_asp()
needs_speechbrain = pytest.mark.skipif(
    speechbrain_asp is None, reason=f"SpeechBrain not installed: {SPEECHBRAIN_MISSING}")


@needs_speechbrain
@pytest.mark.parametrize("gc", [False, True], ids=["plain", "global-context"])
def test_speechbrain_asp_has_the_documented_shape(gc):
    B, C, T = 3, 16, 20
    layer = speechbrain_asp(C, attention_channels=8, global_context=gc)
    out = layer(torch.randn(B, C, T), torch.tensor([1.0, 0.5, 0.75]))
    assert out.shape == (B, 2 * C, 1)  # its docstring: (N, 2C, 1)


@needs_speechbrain
def test_speechbrain_rows_exist(tiny_result):
    rows = tiny_result["results"][0]["rows"]
    assert "speechbrain-asp" in rows and "speechbrain-asp-gc" in rows
    assert rows["asp-channel-gc"]["speechbrain_reference"] == "speechbrain-asp-gc"
    assert rows["asp-channel-gc"]["time_vs_speechbrain"] > 0
    assert rows["asp-ecapa"]["speechbrain_reference"] == "speechbrain-asp"
    assert rows["asp-ecapa-gc"]["speechbrain_reference"] == "speechbrain-asp-gc"


@needs_speechbrain
def test_asp_ecapa_rows_compute_speechbrains_function():
    """The layers the SpeechBrain targets compare are the same function: built by the bench
    from one seed, with SpeechBrain's weights copied in, they agree (eval mode; the copy and
    the other modes are tests/test_pooling_speechbrain.py's)."""
    from test_pooling_speechbrain import C, T, layers

    for gc in (False, True):
        sb, copied = layers(gc, torch.float64)
        ours = bench.LAYERS["asp-ecapa-gc" if gc else "asp-ecapa"][0](C, sb.conv.conv.in_channels)
        assert repr(ours) == repr(copied)
        ours = ours.double().eval()
        ours.load_state_dict(copied.state_dict())
        h = torch.randn(2, C, T, dtype=torch.float64)  # T = 16: see the test's module
        with torch.no_grad():
            torch.testing.assert_close(ours(h), sb.eval()(h).squeeze(-1), rtol=1e-12, atol=1e-12)


def test_speechbrain_import_leaves_sys_modules_scannable():
    """Reading __file__ of every loaded module must not import anything (hypothesis does it)."""
    import sys

    bench.load_speechbrain_asp()
    for name, module in list(sys.modules.items()):
        getattr(module, "__file__", None), name  # raises if a lazy placeholder is left


def test_speechbrain_import_leaves_no_torchaudio_stub():
    import sys

    bench.load_speechbrain_asp()
    stub = sys.modules.get("torchaudio")
    assert stub is None or "asp_lab_stub" not in getattr(stub, "__version__", "")


def test_missing_speechbrain_is_skipped_with_a_reason(monkeypatch):
    # the layers' builders look SpeechBrain up in asp_lab.bench.layers
    monkeypatch.setattr(bench.layers, "load_speechbrain_asp",
                        lambda: (None, "SpeechBrain is not importable (test)"))
    result = bench.run(TINY, repeats=1, warmup=0, memory=False,
                       layers=["stats", "asp-channel-gc", "speechbrain-asp-gc"])
    assert "not importable" in result["skipped"]["speechbrain-asp-gc"]
    rows = result["results"][0]["rows"]
    assert rows["asp-channel-gc"]["time_vs_speechbrain"] is None
    assert rows["asp-channel-gc"]["speechbrain_reference"] is None


def test_recorded_results_are_found_from_any_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the repository: found beside the package
    found = bench.recorded("cpu-*.json")
    assert found and all(p.name.startswith("cpu-") for p in found)
    assert found == sorted(found)
    assert bench.recorded("history/models-*.json")
    assert bench.recorded("no-such-*.json") == []
