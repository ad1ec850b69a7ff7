"""What ran a benchmark (chapter 7): the CPU, torch, threads, the GPU and its peak memory
bandwidth, the load on the machine when the run began, the repository's commit."""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import platform
from pathlib import Path

import torch

from .. import provenance

#: Peak memory bandwidth (bytes/s) from the vendors' data sheets, for GPUs whose properties
#: do not report their memory clock and bus width. Matched against the device name.
DATASHEET_BANDWIDTH = {
    "H200": 4.8e12, "H100 NVL": 3.9e12, "H100 PCIe": 2.0e12, "H100": 3.35e12,
    "A100-SXM4-80GB": 2.039e12, "A100 80GB PCIe": 1.935e12, "A100": 1.555e12,
    "L40S": 864e9, "L4": 300e9, "A10G": 600e9, "A10": 600e9, "T4": 320e9, "V100": 900e9,
    "RTX 4090": 1008e9, "RTX 3090": 936e9,
}


def peak_bandwidth(device: torch.device, props=None) -> tuple[float | None, str]:
    """(peak memory bandwidth in bytes/s or None, where the figure comes from). Chapter 7.

    CUDA only: from the memory clock and bus width when the device properties report them
    (double data rate: 2 x clock x width), else from :data:`DATASHEET_BANDWIDTH` by name.
    """
    if device.type != "cuda":
        return None, f"not known for {device.type}"
    props = torch.cuda.get_device_properties(device) if props is None else props
    clock_khz = getattr(props, "memory_clock_rate", None)
    bus_bits = getattr(props, "memory_bus_width", None)
    if clock_khz and bus_bits:
        return 2 * clock_khz * 1e3 * bus_bits / 8, "device properties: 2 x memory clock x bus width"
    for key, value in DATASHEET_BANDWIDTH.items():  # the longest names come first
        if key in props.name:
            return value, f"data sheet value for {key}"
    return None, f"unknown for {props.name}: not in asp_lab.bench.DATASHEET_BANDWIDTH"


def machine_info(device: torch.device) -> dict:
    """What ran the benchmark: CPU model, torch version, threads, date, GPU if any, load.

    Chapter 7 (printed above the recorded run)."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    info = {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": str(device),
    }
    with contextlib.suppress(OSError, AttributeError):
        info["load_average_1min"] = os.getloadavg()[0]
    info.update(provenance.git_state())
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(gpu=props.name, gpu_memory_bytes=props.total_memory,
                    cuda=torch.version.cuda)
    return info
