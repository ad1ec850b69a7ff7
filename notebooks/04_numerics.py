# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Numerics: computing sigma without losing it
#
# Attentive statistics pooling returns a weighted mean $\mu$ and a weighted standard
# deviation $\sigma$ of the frames {cite:p}`okabe2018attentive`. The mean is easy. The
# standard deviation is where floating point bites: the post this book starts from computes
# it with a formula that cancels catastrophically, and clamps the result so that training
# does not produce NaN. This chapter measures what that costs, in float32, float16 and
# bfloat16. You will learn:
#
# 1. why one-pass $\sqrt{E[x^2]-\mu^2}$ loses $\sigma$ when the mean is large against the
#    spread, and why two-pass $\sqrt{E[(x-\mu)^2]}$ does not;
# 2. whether real log-mel frames live in that regime (in float32, no; in half precision,
#    yes);
# 3. why the variance needs a floor before the square root, and what the floor costs;
# 4. what a row made only of padding, or a weak padding mask, does to the weights;
# 5. how the post's block and `asp_lab`'s pooling compare on the same inputs.
#
# Everything here runs on a CPU in a few seconds.
#
# *Data: the speech in section 3 is from LibriSpeech {cite:p}`panayotov2015librispeech`
# (test-other, CC BY 4.0). The book's Speech Commands noise recordings
# {cite:p}`warden2018speechcommands` are not used in this chapter.*

# %% tags=["remove-cell"]
# Setup for Google Colab: a shallow clone of the repository (the code and data/), asp_lab
# installed from it, and its data/ used by the loader. Anywhere else this cell does nothing.
# `--no-deps` keeps the packages Colab ships (torch, numpy, ipywidgets, ...) as they are:
# only a dependency that Colab lacks is installed.
import os
import subprocess
import sys

ASP_LAB_REPO = "https://github.com/asp-lab/asp_lab"  # repository.url in _config.yml
if "google.colab" in sys.modules:
    import importlib.metadata
    import re
    import tomllib

    if not os.path.isdir("asp_lab_repo"):
        subprocess.run(["git", "clone", "--depth", "1", ASP_LAB_REPO, "asp_lab_repo"], check=True)
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--no-deps", "./asp_lab_repo"], check=True)
    with open("asp_lab_repo/pyproject.toml", "rb") as f:
        needs = tomllib.load(f)["project"]["dependencies"]
    missing = []
    for need in needs:
        try:
            importlib.metadata.version(re.match(r"[\w.-]+", need).group())
        except importlib.metadata.PackageNotFoundError:
            missing.append(need)
    if missing:
        subprocess.run([*pip, *missing], check=True)
    os.environ["ASP_LAB_DATA"] = os.path.abspath("asp_lab_repo/data")
    import torch

    print("GPU:", torch.cuda.get_device_name(0) if torch.cuda.is_available()
          else "none (Runtime > Change runtime type > GPU to get one)")

# %%
import copy
import inspect

import matplotlib.pyplot as plt
import numpy as np
import torch

from asp_lab import blog, data, features, pooling, viz

glue = viz.glue  # stores the values the text quotes (nothing outside the book)
show_table = viz.show_table  # an HTML table for Jupyter, Colab and the book
torch.manual_seed(0)

# %% [markdown]
# Three formats, each with its *unit roundoff* $u$, the largest relative error of rounding
# one real number to it:

# %%
DTYPES = {"float32": torch.float32, "float16": torch.float16,
          "bfloat16": torch.bfloat16}
# unit roundoff u = eps / 2: the largest relative error of rounding one number
UNIT_ROUNDOFF = {name: torch.finfo(dt).eps / 2 for name, dt in DTYPES.items()}
for name, u in UNIT_ROUNDOFF.items():
    largest = torch.finfo(DTYPES[name]).max
    print(f"{name:9s} unit roundoff u = {u:.3e}, largest value {largest:.4g}")

# %% tags=["remove-cell"]
# Okabe-Ito colours (colour-blind safe)
COLORS = {"one-pass": "#E69F00", "two-pass": "#0072B2", "asp_lab": "#CC79A7"}
DTYPE_COLORS = {"float32": "#0072B2", "float16": "#E69F00", "bfloat16": "#CC79A7"}

# %% [markdown]
# ## 1. The problem
#
# Here is the line of the post's block (kept as written in `asp_lab/blog.py`) that computes
# the standard deviation:

# %%
source = inspect.getsource(blog.ASP.forward)
post_line = next(ln.strip() for ln in source.splitlines() if "w_std" in ln)
print(post_line)
POST_CLAMP = 1e-5  # the clamp in that line

# %% tags=["remove-cell"]
assert f"{POST_CLAMP:g}" in post_line or "1e-5" in post_line, post_line
glue("post_clamp", POST_CLAMP)
glue("post_sigma_floor", POST_CLAMP**0.5)

# %% [markdown]
# It is the textbook identity $\sigma^2 = E[x^2] - \mu^2$ with weights $\alpha_t$:
#
# $$
# \mu = \sum_t \alpha_t x_t, \qquad
# \sigma_{\text{one-pass}} = \sqrt{\textstyle\sum_t \alpha_t x_t^2 - \mu^2},
# $$
#
# and the variance is clamped at {glue:text}`post_clamp:.0e` before the square root, so
# the smallest standard deviation it can return is {glue:text}`post_sigma_floor:.5f`.
# The identity is exact in real numbers. In floating point, each of $\sum_t \alpha_t x_t^2$
# and $\mu^2$ comes back with a relative rounding error of order $u$, the unit roundoff of
# the format. When the mean $m$ is large against the spread $s$, both are close to $m^2$,
# so each carries an absolute error of order $u\,m^2$, while their difference, the variance,
# is only $s^2$:
#
# $$
# \frac{|\hat\sigma^2_{\text{one-pass}} - \sigma^2|}{\sigma^2} \approx u\left(\frac{m}{s}\right)^2
# \qquad\text{against}\qquad
# \frac{|\hat\sigma^2_{\text{two-pass}} - \sigma^2|}{\sigma^2} \approx u .
# $$
#
# This is *catastrophic cancellation* {cite:p}`chan1983variance`: the subtraction itself is
# exact, it only exposes the rounding errors that the two big terms already carried. The
# two-pass form $\sigma = \sqrt{\sum_t \alpha_t (x_t - \mu)^2}$ first computes $\mu$, then
# squares the deviations $x_t - \mu$, which are of size $s$ and carry errors of order
# $u\,s$. `asp_lab.pooling.weighted_moments` is the two-pass form; after its input checks
# it reads:

# %%
print(viz.source_from(pooling.weighted_moments, "acc = "))

# %% [markdown]
# One channel shows the effect: {glue:text}`demo_T` frames with mean {glue:text}`demo_m`
# and standard deviation about 1 (standard normal noise), in float32, uniform weights.

# %%
T, m = 300, 1000.0
x32 = (m + torch.randn(T, dtype=torch.float64)).float()
w32 = torch.full((T,), 1.0 / T)
mu32 = (w32 * x32).sum()
ex2 = (w32 * x32**2).sum()
sigma_one = (ex2 - mu32**2).clamp(min=POST_CLAMP).sqrt().item()
sigma_two = (w32 * (x32 - mu32) ** 2).sum().clamp(min=POST_CLAMP).sqrt().item()
sigma_ref = x32.double().std(unbiased=False).item()  # float64, same numbers
print(f"E[x^2] = {ex2.item():.1f}, mu^2 = {(mu32**2).item():.1f}")
print(f"one-pass {sigma_one:.6f}, two-pass {sigma_two:.6f}, "
      f"float64 {sigma_ref:.6f}")

# %% tags=["remove-cell"]
glue("demo_T", T)
glue("demo_m", int(m))
glue("demo_one", sigma_one)
glue("demo_two", sigma_two)
glue("demo_ref", sigma_ref)
glue("demo_ex2", ex2.item())
glue("demo_ulp", torch.finfo(torch.float32).eps * ex2.item())
glue("demo_one_err", 100 * abs(sigma_one - sigma_ref) / sigma_ref)
glue("demo_two_err", 100 * abs(sigma_two - sigma_ref) / sigma_ref)

# %% [markdown]
# The true standard deviation of these numbers is {glue:text}`demo_ref:.6f`. The one-pass
# result is {glue:text}`demo_one:.6f`, an error of {glue:text}`demo_one_err:.1f`%; the
# two-pass result is {glue:text}`demo_two:.6f` ({glue:text}`demo_two_err:.1e`% off). Both
# square terms are about {glue:text}`demo_ex2:.4g`, where neighbouring float32 numbers are
# {glue:text}`demo_ulp:.3g` apart, while the variance they are supposed to leave behind is
# about 1.
#
# ## 2. One-pass and two-pass in three precisions
#
# Each channel holds $x_t = m + s z_t$ with $z_t$ standard normal and
# $s = 1$; the ratio $m/s$ runs over a log grid. Two kinds of weights: uniform ($1/T$,
# statistics pooling) and a softmax of random scores (like attention). Each method runs
# entirely in the given dtype, with the post's clamp:

# %%
def one_pass(x: torch.Tensor, w: torch.Tensor, clamp: float = POST_CLAMP):
    """sqrt(sum w x^2 - mu^2), every step in x's dtype.
    x, w: (C, T) -> sigma and the variance before the clamp, (C,) each."""
    mu = (w * x).sum(dim=-1)
    var = (w * (x * x)).sum(dim=-1) - mu * mu
    return var.clamp(min=clamp).sqrt(), var


def two_pass(x: torch.Tensor, w: torch.Tensor, clamp: float = POST_CLAMP):
    """sqrt(sum w (x - mu)^2), every step in x's dtype.
    x, w: (C, T) -> sigma and the variance before the clamp, (C,) each."""
    mu = (w * x).sum(dim=-1)
    d = x - mu[:, None]
    var = (w * (d * d)).sum(dim=-1)
    return var.clamp(min=clamp).sqrt(), var

# %% [markdown]
# A third method, **asp_lab**, is `pooling.weighted_moments` on the same half-precision
# frames and weights: it upcasts to float32, sums there and casts the results back, the
# design this chapter argues for. The reference is the float64 two-pass value on the
# original frames. A fourth curve, *stored inputs*, is the exact standard deviation of the
# frames after rounding them to the format: the best any method can do once the data are
# stored that way. (The sweep's code is in the notebook.)

# %% tags=["remove-cell"]
C, T = 64, 300
ratios = np.logspace(0, 4, 33)  # m/s from 1 to 10^4, eight points per decade
z = torch.randn(C, T, dtype=torch.float64)
scores = 2.0 * torch.randn(C, T, dtype=torch.float64)
weightings = {
    "uniform weights": torch.full((C, T), 1.0 / T, dtype=torch.float64),
    "softmax weights": torch.softmax(scores, dim=-1),
}
METHODS = ("one-pass", "two-pass", "asp_lab")
glue("sweep_C", C)
glue("sweep_T", T)

# sigma[(weighting, dtype, method)], stored[(weighting, dtype)], var_one[...]:
# (len(ratios), C) arrays; truth[weighting] is the float64 reference
sigma, stored, var_one, truth = {}, {}, {}, {}
for wname, w in weightings.items():
    truth[wname] = np.stack([two_pass(r + z, w, clamp=0)[0] for r in ratios])
    for dname, dt in DTYPES.items():
        wd = w.to(dt)
        w_renorm = wd.double() / wd.double().sum(dim=-1, keepdim=True)
        rows = {key: [] for key in (*METHODS, "stored", "var_one")}
        for r in ratios:
            xd = (r + z).to(dt)
            s1, v1 = one_pass(xd, wd)
            _, s3 = pooling.weighted_moments(xd[None], wd[None])
            rows["one-pass"].append(s1)
            rows["var_one"].append(v1)
            rows["two-pass"].append(two_pass(xd, wd)[0])
            rows["asp_lab"].append(s3[0])
            rows["stored"].append(two_pass(xd.double(), w_renorm, clamp=0)[0])
        as_np = {k: torch.stack(v).double().numpy() for k, v in rows.items()}
        for key in METHODS:
            sigma[wname, dname, key] = as_np[key]
        stored[wname, dname] = as_np["stored"]
        var_one[wname, dname] = as_np["var_one"]


def rel_err(estimate: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Elementwise relative error; inf and NaN estimates stay non-finite."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.abs(estimate - reference) / reference


def median_err(e: np.ndarray) -> np.ndarray:
    """Median over channels of (ratios, C) errors; NaN where any is not finite."""
    out = np.median(np.where(np.isfinite(e), e, 0.0), axis=1)
    out[~np.isfinite(e).all(axis=1)] = np.nan
    return out


# %% tags=["remove-input"] mystnb={"image": {"alt": "Log-log panels of the relative error of sigma against the mean/spread ratio m/s, per dtype and weighting, one curve per formula, with a dashed (m/s)^2 reference line."}}
fig, axes = plt.subplots(2, 3, figsize=(10, 6.8), sharex=True, sharey=True)
markers = {"one-pass": "o", "two-pass": "s", "asp_lab": "^"}
for row, wname in enumerate(weightings):
    for col, dname in enumerate(DTYPES):
        ax, u = axes[row, col], UNIT_ROUNDOFF[dname]
        for key in METHODS:
            e = median_err(rel_err(sigma[wname, dname, key], truth[wname]))
            ax.loglog(ratios, e, marker=markers[key], ms=3, lw=1.3,
                      color=COLORS[key], label=key)
        e = median_err(rel_err(stored[wname, dname], truth[wname]))
        ax.loglog(ratios, e, color="black", lw=1, ls=":", label="stored inputs")
        ax.loglog(ratios, u * ratios**2, color=COLORS["one-pass"], lw=0.8, ls="--",
                  alpha=0.8, label=r"$u\,(m/s)^2$")
        ax.axhline(u, color="grey", lw=1, ls="-.", label="unit roundoff $u$")
        bad = ~np.isfinite(sigma[wname, dname, "one-pass"]).all(axis=1)
        if bad.any():
            ax.axvspan(ratios[bad.argmax()], ratios[-1], color="grey", alpha=0.15,
                       lw=0, label="one-pass not finite")
        ax.set_ylim(1e-9, 1e2)
        ax.set_title(f"{dname}, {wname}", fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
        if row == 1:
            ax.set_xlabel("mean / spread  m/s")
        if col == 0:
            ax.set_ylabel("relative error of sigma\n(median over channels)")
handles, labels = axes[0, 1].get_legend_handles_labels()
fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=9, frameon=False)
fig.suptitle("Relative error of the weighted standard deviation, "
             "against the float64 value")
fig.tight_layout(rect=(0, 0.08, 1, 1))
plt.show()

# %% [markdown]
# *Figure 1. One-pass loses $\sigma$ as $(m/s)^2$; two-pass in float32 sums only loses what
# storing the frames already lost.* Relative error of $\sigma$ (median over
# {glue:text}`sweep_C` channels of {glue:text}`sweep_T` frames) in float32 (left), float16
# (middle) and bfloat16 (right), for uniform (top) and softmax weights (bottom). The
# one-pass error (orange) follows the dashed $u\,(m/s)^2$ line until the variance goes
# negative and is clamped, where the error saturates at 1. The `asp_lab` errors (pink)
# follow the dotted line, the error of the stored frames, or sit near $u$. The two-pass
# errors (blue) do the same in float32, and rise above it in places in half precision,
# where $\mu$ and the sums are rounded to the format too. In the grey band, float16's $x^2$
# overflows.

# %% tags=["remove-cell"]
def crossing(rs: np.ndarray, e: np.ndarray, level: float) -> float:
    """First ratio where e(rs) rises above level (log-log interpolated)."""
    i = int(np.nonzero(np.nan_to_num(e, nan=np.inf) > level)[0][0])
    if i == 0:
        return float(rs[0])
    x0, x1 = np.log(rs[i - 1]), np.log(rs[i])
    y0, y1 = np.log(e[i - 1]), np.log(e[i])
    return float(np.exp(x0 + (np.log(level) - y0) * (x1 - x0) / (y1 - y0)))


u32 = UNIT_ROUNDOFF["float32"]
for wname, tag in (("uniform weights", "uniform"), ("softmax weights", "softmax")):
    for dname in DTYPES:
        e = median_err(rel_err(sigma[wname, dname, "one-pass"], truth[wname]))
        glue(f"cross_{dname}_{tag}", crossing(ratios, e, 0.01))
glue("cross_f32_predicted", (0.01 / u32) ** 0.5)
for dname, u in UNIT_ROUNDOFF.items():
    glue(f"u_{dname}", u)


def worst(dname: str, key: str, reference=None) -> float:
    """Largest relative error of a method over ratios, channels, weightings;
    against the true sigma, or against reference[weighting, dtype]."""
    errs = []
    for w in weightings:
        ref = truth[w] if reference is None else reference[w, dname]
        errs.append(np.max(rel_err(sigma[w, dname, key], ref)))
    return max(errs)


glue("max_two_f32", worst("float32", "two-pass"))
glue("max_store_f32", max(np.max(rel_err(stored[w, "float32"], truth[w]))
                          for w in weightings))
glue("excess_two_f32", worst("float32", "two-pass", stored))
glue("excess_asp_f32", worst("float32", "asp_lab", stored))

i100 = int(np.argmin(abs(ratios - 100)))
i1000 = int(np.argmin(abs(ratios - 1000)))
excess_low = [rel_err(sigma[w, "float32", "two-pass"], stored[w, "float32"])
              [: i1000 + 1].max() for w in weightings]
glue("excess_two_f32_low", max(excess_low))
unif = "uniform weights"
glue("two_f16_100", np.median(rel_err(sigma[unif, "float16", "two-pass"],
                                      truth[unif])[i100]))
store_err = {d: rel_err(stored[unif, d], truth[unif]) for d in DTYPES}
glue("store_f16_1000", np.median(store_err["float16"][i1000]))
glue("store_bf16_100", np.median(store_err["bfloat16"][i100]))
glue("asp_f16_1000", np.median(rel_err(sigma[unif, "float16", "asp_lab"],
                                       stored[unif, "float16"])[i1000]))
glue("asp_bf16_100", np.median(rel_err(sigma[unif, "bfloat16", "asp_lab"],
                                       stored[unif, "bfloat16"])[i100]))
for dname in ("float16", "bfloat16"):
    dev = max((w.to(DTYPES[dname]).double().sum(dim=-1) - 1).abs().max().item()
              for w in weightings.values())
    glue(f"wsum_dev_{dname}", dev)

# %% [markdown]
# In numbers:
#
# - **float32, one-pass.** The median error passes 1% at $m/s \approx$
#   {glue:text}`cross_float32_uniform:.0f` (uniform weights) and
#   {glue:text}`cross_float32_softmax:.0f` (softmax weights); $u\,(m/s)^2 = 1\%$ predicts
#   {glue:text}`cross_f32_predicted:.0f`.
# - **float32, two-pass.** At most {glue:text}`max_two_f32:.1e` off, nearly all of it from
#   storing the frames in float32 (the stored frames alone are up to
#   {glue:text}`max_store_f32:.1e` off); against the stored frames, at most
#   {glue:text}`excess_two_f32_low:.1e` up to $m/s = 1000$, a few times
#   $u =$ {glue:text}`u_float32:.1e`.
# - **Half precision, one-pass.** With uniform weights the 1% mark comes at
#   $m/s \approx$ {glue:text}`cross_float16_uniform:.1f` in float16 and
#   {glue:text}`cross_bfloat16_uniform:.2f` in bfloat16 ($u$ = {glue:text}`u_float16:.1e`
#   and {glue:text}`u_bfloat16:.1e`).
# - **Half precision, two-pass.** Far better (float16, $m/s = 100$:
#   {glue:text}`two_f16_100:.1e`), but storing is already lossy: at $m/s = 1000$ the
#   float16 frames have a standard deviation {glue:text}`store_f16_1000:.1%` off the truth,
#   at $m/s = 100$ the bfloat16 frames {glue:text}`store_bf16_100:.1%`. A frame rounded to a
#   spacing of about $u\,m$ keeps nothing of $s$ once $u\,m$ approaches $s$.
#
# `asp_lab` takes one more step to stay on the stored frames' curve in half precision: it
# divides the weights by their sum, in float32, before the moments ("Going further" at the
# end of the chapter says why).

# %% tags=["remove-cell"]
def moments_without_renormalisation(x: torch.Tensor, w: torch.Tensor):
    """WITHOUT RENORMALISATION: float32 two-pass on half-precision frames x and weights w,
    w used as rounded (it sums to 1 + delta). x, w: (C, T) -> mu, sigma: (C,) float32."""
    x, w = x.float(), w.float()
    mu = (w * x).sum(dim=-1)
    return mu, (w * (x - mu[:, None]) ** 2).sum(dim=-1).sqrt()


for dname, r in (("float16", 1000), ("bfloat16", 100)):
    i, dt = int(np.argmin(abs(ratios - r))), DTYPES[dname]
    xd, wd = (ratios[i] + z).to(dt), weightings[unif].to(dt)  # the sweep's inputs
    delta = wd.double().sum(dim=-1)[0].item() - 1  # the same in every channel
    _, s_raw = moments_without_renormalisation(xd, wd)
    s_stored = stored[unif, dname][i]  # exact sigma of the stored frames
    mu_stored = xd.double().mean(dim=-1).numpy()
    model = np.sqrt((1 + delta) * (s_stored**2 + (delta * mu_stored) ** 2))
    errs = {
        "raw": np.median(rel_err(s_raw.double().numpy(), s_stored)),
        "raw_pred": np.median(rel_err(model, s_stored)),
        # rounding the exact value to the format, as asp_lab casts sigma back
        "round": np.median(rel_err(torch.from_numpy(s_stored).to(dt).double().numpy(),
                                   s_stored)),
    }
    tag = f"{'f16' if dname == 'float16' else 'bf16'}_{r}"
    glue(f"delta_{tag}", delta)
    for key in ("raw", "raw_pred", "round"):  # asp_lab's is glued above as asp_{tag}
        glue(f"{key}_{tag}", errs[key])

# %% [markdown]
# The clamp hides the failures: a negative one-pass variance raises no error, it becomes
# $\sigma = \sqrt{10^{-5}}$. Figure 2 counts how often that happens.

# %% tags=["remove-input"] mystnb={"image": {"alt": "Fraction of channels at the post's clamp and fraction that overflow against the mean/spread ratio m/s on a log axis, per dtype."}}
fp16_max = torch.finfo(torch.float16).max
glue("fp16_max", fp16_max)
glue("fp16_sqrt_max", fp16_max**0.5)
overflow = (~np.isfinite(sigma[unif, "float16", "one-pass"])).all(axis=1)
glue("fp16_overflow_ratio", ratios[overflow.argmax()])  # every channel not finite


def fraction(flags: dict, dname: str) -> np.ndarray:
    """Fraction of channels flagged at each ratio, both weightings pooled."""
    return np.mean([flags[w, dname].mean(axis=1) for w in weightings], axis=0)


is_clamped = {k: v <= POST_CLAMP for k, v in var_one.items()}
not_finite = {(w, d): ~np.isfinite(sigma[w, d, "one-pass"]) for w, d in var_one}

fig, ax = plt.subplots(figsize=(9, 3.5))
for dname in DTYPES:
    ax.semilogx(ratios, fraction(is_clamped, dname), color=DTYPE_COLORS[dname],
                marker="o", ms=3, label=f"{dname}: variance clamped")
    if fraction(not_finite, dname).any():
        ax.semilogx(ratios, fraction(not_finite, dname), color=DTYPE_COLORS[dname],
                    ls="--", marker="x", ms=4, label=f"{dname}: not finite")
ax.set_xlabel("mean / spread  m/s")
ax.set_ylabel("fraction of channels")
ax.set_ylim(-0.03, 1.03)
ax.set_title("One-pass variance: channels at the post's clamp, and overflow")
ax.grid(True, alpha=0.3)
ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
fig.tight_layout()
plt.show()

for dname in DTYPES:
    for i in (i100, i1000, len(ratios) - 1):
        glue(f"clamp_{dname}_{round(ratios[i])}", fraction(is_clamped, dname)[i])

# %% [markdown]
# *Figure 2. Past the 1% mark, the clamp silently replaces the one-pass $\sigma$ in more
# and more channels.* Fraction of channels (both weightings pooled) whose one-pass variance
# came out at or below the post's clamp (solid), although the true $\sigma$ is about 1, and,
# dashed, whose result is not finite.
#
# In float32 the clamp catches {glue:text}`clamp_float32_10000:.0%` of the channels at
# $m/s = 10^4$ and {glue:text}`clamp_float32_1000:.0%` at $m/s = 1000$; in bfloat16
# already {glue:text}`clamp_bfloat16_100:.0%` at $m/s = 100$. The clamped fraction in
# float16 drops only because those channels overflow instead: its largest finite value is
# {glue:text}`fp16_max:.0f`, so $x^2$ is infinite once $|x| >$
# {glue:text}`fp16_sqrt_max:.1f`, and from $m/s \approx$
# {glue:text}`fp16_overflow_ratio:.0f` on the one-pass result is `inf - inf = nan` in every
# channel. The two-pass form squares only the deviations and never overflows here.
#
# ## 3. Are real features in that regime?
#
# The pooling layer of a trained network sees learned feature maps; the closest real input
# we have before chapter 5 trains anything is log-mel frames. We take the first utterance
# of each of the {glue:text}`n_utts` test-other speakers and compute, for each mel band,
# $|\mu|/\sigma$ over the frames.

# %% tags=["remove-cell"]
first_utterance = {}
for utt in data.utterances("test-other"):
    first_utterance.setdefault(utt.speaker, utt)
mels = [features.log_mel(data.load_audio(u.path)) for u in first_utterance.values()]
band_mean = np.concatenate([m.mean(axis=1) for m in mels])
band_std = np.concatenate([m.std(axis=1) for m in mels])
band_ratio = np.abs(band_mean) / band_std
glue("n_utts", len(mels))
glue("n_bands", mels[0].shape[0])
glue("mel_ratio_median", np.median(band_ratio))
glue("mel_ratio_max", band_ratio.max())
glue("mel_mean_lo", np.percentile(band_mean, 5))
glue("mel_mean_hi", np.percentile(band_mean, 95))
glue("mel_std_median", np.median(band_std))

# %% tags=["remove-input"] mystnb={"image": {"alt": "Histogram of the ratio |mean| / standard deviation of log-mel bands over time: number of bands against the ratio."}}
fig, ax = plt.subplots(figsize=(9, 3.5))
ax.hist(band_ratio, bins=30, color=DTYPE_COLORS["float32"], alpha=0.85)
ax.axvline(np.median(band_ratio), color="black", ls="--", lw=1, label="median")
ax.set_xlabel("|mean| / standard deviation of a mel band over time (dimensionless)")
ax.set_ylabel("number of bands")
ax.set_title(f"Mean/spread ratio of log-mel bands "
             f"({len(mels)} utterances x {mels[0].shape[0]} bands)")
ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# *Figure 3. Log-mel bands sit at the far left of Figure 1: their mean is only a few times
# their spread.* Ratio $|\mu|/\sigma$ of each natural-log mel band over the frames of an
# utterance, for {glue:text}`n_utts` utterances of {glue:text}`n_bands` bands.
#
# The band means lie between {glue:text}`mel_mean_lo:.1f` and {glue:text}`mel_mean_hi:.1f`
# (5th to 95th percentile), the median spread is {glue:text}`mel_std_median:.1f`, so the
# ratio has a median of {glue:text}`mel_ratio_median:.1f` and a maximum of
# {glue:text}`mel_ratio_max:.1f`. On exactly these frames (uniform weights, the worst band
# of all utterances, against float64 on the same stored numbers):

# %% tags=["remove-input"]
mel_errors = {}
for dname, dt in DTYPES.items():
    errs = {"one": 0.0, "two": 0.0}
    for f in mels:
        x = torch.from_numpy(f).to(dt)  # (bands, T)
        w = torch.full_like(x, 1.0 / x.shape[1])
        ref = two_pass(x.double(), w.double(), clamp=0)[0]
        for key, fn in (("one", one_pass), ("two", two_pass)):
            e = ((fn(x, w)[0].double() - ref).abs() / ref).max().item()
            errs[key] = max(errs[key], e)
    mel_errors[dname] = errs
    glue(f"mel_one_{dname}", errs["one"])
    glue(f"mel_two_{dname}", errs["two"])
show_table(["dtype", "one-pass, worst band", "two-pass, worst band"],
           [[d, f"{e['one']:.1e}", f"{e['two']:.1e}"]
            for d, e in mel_errors.items()])

# %% tags=["remove-cell"]
# One random Conv1d + ReLU layer on the same frames: how the input's offset carries through.
torch.manual_seed(0)
layer = torch.nn.Sequential(
    torch.nn.Conv1d(mels[0].shape[0], 256, kernel_size=5), torch.nn.ReLU()
)
relu_ratio = {}
with torch.no_grad():
    for label, centre in (("raw log-mel", False), ("mean-normalised", True)):
        found = []
        for f in mels:
            h = torch.from_numpy(f)[None]
            if centre:
                h = h - h.mean(dim=-1, keepdim=True)
            y = layer(h)[0].double()
            sd = y.std(dim=-1, unbiased=False)
            found.append((y.mean(dim=-1)[sd > 0] / sd[sd > 0]).numpy())
        relu_ratio[label] = np.concatenate(found)
glue("relu_raw_max", relu_ratio["raw log-mel"].max())
glue("relu_cmn_max", relu_ratio["mean-normalised"].max())

# %% [markdown]
# In float32 the one-pass formula is off by at most {glue:text}`mel_one_float32:.1e` on
# these frames: harmless. In half precision it is {glue:text}`mel_one_float16:.1%` off in
# float16 and {glue:text}`mel_one_bfloat16:.0%` in bfloat16, against
# {glue:text}`mel_two_float16:.2%` and {glue:text}`mel_two_bfloat16:.2%` for two-pass.
# Deeper features can have other ratios; one random `Conv1d` + ReLU layer on these frames
# gives at most {glue:text}`relu_raw_max:.1f` (still small). But un-normalised features,
# features with a big offset and nearly constant channels are the regime of Figure 1, and a
# pooling layer cannot know that it will never be fed them. Two-pass costs one more pass
# over the frames and removes the question.
#
# ## 4. The floor and the square root's gradient
#
# The standard deviation's derivative with respect to the variance is
#
# $$
# \frac{\partial \sigma}{\partial \sigma^2} = \frac{1}{2\sigma},
# $$
#
# which is infinite where $\sigma = 0$, that is, for a constant channel (a dead ReLU unit,
# a band of digital silence, a padded stretch). Backpropagation multiplies this infinity by
# $\partial \sigma^2 / \partial x_t = 2\alpha_t (x_t - \mu) = 0$, and $\infty \cdot 0$ is
# NaN. This is PyTorch issue #4320 ("torch.std NaN gradient"). A channel that is exactly
# constant shows it:

# %%
T_const = 64  # a power of two: mu is exactly 3.0 and the variance exactly 0
h = torch.full((1, 2, T_const), 3.0, requires_grad=True)
alpha = torch.full((1, T_const), 1.0 / T_const)
mu = (alpha[:, None, :] * h).sum(dim=-1)
var = (alpha[:, None, :] * (h - mu[..., None]) ** 2).sum(dim=-1)
var.sqrt().sum().backward()
print("variance:", var.detach().flatten().tolist())
print("sqrt(var) by hand: gradient", h.grad[0, 0, :3].tolist(), "...")

# %% [markdown]
# And the same channel through `torch.std` and through `asp_lab`:

# %%
h_std = h.detach().clone().requires_grad_(True)
h_std.std(dim=-1, unbiased=False).sum().backward()
print("torch.std: gradient", h_std.grad[0, 0, :3].tolist(), "...")

h_lab = h.detach().clone().requires_grad_(True)
mu_lab, sigma_lab = pooling.weighted_moments(h_lab, alpha)
sigma_lab.sum().backward()
print("asp_lab:   gradient", h_lab.grad[0, 0, :3].tolist(), "...",
      f"sigma {sigma_lab[0, 0].item():.1e}")

# %% tags=["remove-cell"]
assert torch.isnan(h.grad).all()
assert torch.isfinite(h_lab.grad).all()
glue("lab_grad_max", h_lab.grad.abs().max().item())
glue("lab_sigma_const", sigma_lab[0, 0].item())
glue("var_floor", pooling.VAR_FLOOR)
glue("lab_grad_bound", 1 / (2 * pooling.VAR_FLOOR**0.5))

# %% [markdown]
# The hand-written `var.sqrt()` gives a NaN gradient for every frame, and one NaN in one
# gradient turns every weight of the network into NaN at the next optimiser step.
# `torch.std` returns a zero gradient there, but pooling layers write the weighted variance
# by hand, as above.
#
# `asp_lab` floors the variance at `VAR_FLOOR` = {glue:text}`var_floor:.0e` before the
# square root, with the sums in float32, where that number is representable. The constant
# channel gets $\sigma$ = {glue:text}`lab_sigma_const:.1e` and a gradient of exactly
# {glue:text}`lab_grad_max:.1f` (`clamp` passes no gradient below its floor), and above the
# floor $\partial\sigma/\partial\sigma^2$ is at most $1/(2\sqrt{\text{floor}})$ =
# {glue:text}`lab_grad_bound:.0e`.
#
# Every implementation in the field has such a floor; they differ in its size and in where
# it is applied. Read from their sources (SpeechBrain's `ECAPA_TDNN.py`, NeMo's
# `tdnn_attention.py`, WeSpeaker's `pooling_layers.py`, Kaldi's
# `nnet-general-component.cc`):

# %% tags=["remove-input"]
field = [
    ("the post (asp_lab/blog.py)", "one-pass", POST_CLAMP),
    ("WeSpeaker ASTP", "one-pass", 1e-7),
    ("Kaldi StatisticsPoolingComponent (default)", "one-pass", 1e-10),
    ("NeMo get_statistics_with_mask", "two-pass", 1e-10),
    ("SpeechBrain _compute_statistics", "two-pass", 1e-12),
    ("asp_lab VAR_FLOOR (float32 sums)", "two-pass", pooling.VAR_FLOOR),
]
show_table(
    ["implementation", "variance", "floor", "smallest sigma = sqrt(floor)",
     "floor stored in float16"],
    [[name, form, f"{floor:.0e}", f"{floor**0.5:.2e}",
      f"{torch.tensor(floor, dtype=torch.float16).item():.3g}"]
     for name, form, floor in field],
)

# %% [markdown]
# A floor of $10^{-10}$ or $10^{-12}$ rounds to zero in float16 (last column), so pooling
# run in float16 has no floor at all and gets the NaN gradient back: one more reason to
# accumulate the moments in float32.
#
# A floor is not free either: any true $\sigma$ below $\sqrt{\text{floor}}$ is reported as
# $\sqrt{\text{floor}}$. Figure 4 feeds channels of mean zero and a known spread to
# `asp_lab` and to the post's formula.

# %% tags=["remove-input"] mystnb={"image": {"alt": "Reported sigma against true standard deviation on log-log axes: the post's code (circles) and asp_lab (triangles) against the dotted diagonal; small spreads are reported as sqrt(floor)."}}
true_sigma = np.logspace(-9, 0, 37)
zn = torch.randn(T, dtype=torch.float64)
zn = (zn - zn.mean()) / zn.std(unbiased=False)  # mean 0, spread exactly 1
frames = torch.from_numpy(true_sigma)[:, None] * zn[None, :]  # (channels, T)
w_unif = torch.full((1, T), 1.0 / T)
_, sigma_lab = pooling.weighted_moments(frames.float()[None], w_unif)
sigma_post, _ = one_pass(frames.float(), w_unif.expand(len(true_sigma), T))
reported_lab = sigma_lab[0].double().numpy()
reported_post = sigma_post.double().numpy()

fig, ax = plt.subplots(figsize=(9, 3.5))
ax.loglog(true_sigma, true_sigma, color="grey", lw=1, ls=":",
          label="reported = true")
ax.loglog(true_sigma, reported_post, color=COLORS["one-pass"], marker="o", ms=3,
          label="the post: clamp 1e-5 on the variance")
ax.loglog(true_sigma, reported_lab, color=COLORS["asp_lab"], marker="^", ms=3,
          label="asp_lab: VAR_FLOOR on the variance")
ax.set_xlabel("true standard deviation of the channel (feature units)")
ax.set_ylabel("reported sigma (feature units)")
ax.set_title("What the floor costs: small spreads are reported as sqrt(floor)")
ax.grid(True, alpha=0.3)
ax.legend(fontsize=9)
fig.tight_layout()
plt.show()
i_milli = int(np.argmin(abs(true_sigma - 1e-3)))
glue("lab_min_sigma", reported_lab.min())
glue("post_min_sigma", reported_post.min())
glue("post_sigma_milli", reported_post[i_milli])
glue("post_factor_milli", reported_post[i_milli] / true_sigma[i_milli])

# %% [markdown]
# *Figure 4. The post's floor sits within reach of real spreads; `asp_lab`'s is far below
# them.* Reported against true standard deviation for channels of mean zero (no
# cancellation, only the floor): below $\sqrt{\text{floor}}$ each line goes flat.
#
# `asp_lab` never reports less than {glue:text}`lab_min_sigma:.1e`, the post never less
# than {glue:text}`post_min_sigma:.2e`: a channel whose real spread is $10^{-3}$ comes back
# as {glue:text}`post_sigma_milli:.2e`, {glue:text}`post_factor_milli:.1f` times too large.
#
# ## 5. Rows with no valid frame
#
# Attention must give padding no weight: the scores of padded frames are set to $-\infty$
# before the softmax. If a row has *no* valid frame, every score is $-\infty$, and the softmax is
# $e^{-\infty} / \sum e^{-\infty} = 0/0$:

# %%
all_padding = torch.full((4,), float("-inf"))
print("softmax of an all -inf row:", torch.softmax(all_padding, dim=0).tolist())

# %% [markdown]
# NaN, silently, and then NaN everywhere downstream. `asp_lab` refuses such a row up front
# and names it:

# %%
asp = pooling.AttentiveStatisticsPooling(8, attention_channels=16)
h = torch.randn(2, 8, 50)
try:
    asp(h, lengths=torch.tensor([50, 0]))
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# The opposite mistake is a mask that is too weak. s3prl issue #579 reports that its
# `AttentivePoolingModule` adds the boolean mask itself to the scores, $+1$ on valid frames
# and $+0$ on padding, instead of $-\infty$ on padding: padding keeps a factor $e^{-1}$ of
# the weight it would have without a mask. How much weight is that? Scores are standard
# normal on valid frames and 0 on padding (a linear layer on zero-padded frames with zero
# bias), in a batch padded to {glue:text}`T_pad` frames:

# %% tags=["remove-input"]
T_pad = 300
glue("T_pad", T_pad)
e = torch.randn(T_pad, generator=torch.Generator().manual_seed(1))
pad_mass, table = {}, []
for n_valid in (75, 150, 225):
    valid = torch.arange(T_pad) < n_valid
    e_row = torch.where(valid, e, torch.zeros(()))
    masks = {
        "none": torch.zeros(T_pad),
        "+1/0": valid.float(),  # s3prl #579
        "-inf": torch.where(valid, 0.0, float("-inf")),
    }
    for name, mask in masks.items():
        weights = torch.softmax(e_row + mask, dim=0)
        pad_mass[n_valid, name] = weights[~valid].sum().item()
    table.append([f"{n_valid} of {T_pad}"]
                 + [f"{pad_mass[n_valid, k]:.1%}" for k in masks])
show_table(["valid frames", "no mask", "+1/0 mask (s3prl #579)", "-inf mask"],
           table)
glue("pad_s3prl_75", pad_mass[75, "+1/0"])
glue("pad_none_75", pad_mass[75, "none"])

# %% [markdown]
# *Table: attention mass that lands on padded frames.* With a quarter of the row valid,
# the +1/0 mask still leaves {glue:text}`pad_s3prl_75:.0%` of the weight on padding (no
# mask: {glue:text}`pad_none_75:.0%`); the $-\infty$ mask leaves exactly none.
# `asp_lab.pooling.attention_weights` masks with $-\infty$ and refuses empty rows: padding
# changes nothing, and nothing becomes NaN.
#
# ## 6. The post's block, measured
#
# The post's `ASP` block against `AttentiveStatisticsPooling(mode="channel")`
# {cite:p}`desplanques2020ecapa`, which computes the same function, with the post's weights
# copied in (its first `Conv1d` is $W, b$, its second $v, k$).

# %%
torch.manual_seed(0)
B, C, T = 4, 32, 300
post = blog.ASP(C).eval()
ours = pooling.AttentiveStatisticsPooling(C, 128, mode="channel")  # A = 128
with torch.no_grad():
    ours.W.copy_(post.attention[0].weight[:, :, 0])
    ours.b.copy_(post.attention[0].bias)
    ours.v.copy_(post.attention[2].weight[:, :, 0])
    ours.k.copy_(post.attention[2].bias)
z = torch.randn(B, C, T)
with torch.no_grad():
    agree = (post(z) - ours(z)).abs().max().item()
print(f"largest difference between the two blocks at m/s = 1: {agree:.2e}")

# %% tags=["remove-cell"]
glue("blocks_agree", agree)

# %% [markdown]
# They agree to {glue:text}`blocks_agree:.0e` on zero-mean inputs. Now the inputs get a
# growing mean, $x = m + z$, in float32. The reference is `asp_lab`'s block in float64 on
# the same float32 inputs.

# %% tags=["remove-input"] mystnb={"image": {"alt": "Two panels in float32 against the mean/spread ratio m/s: the median relative error of sigma for the post's one-pass formula and asp_lab's, and the fraction of channels clamped."}}
block_ratios = np.logspace(0, 4, 17)
ours64 = copy.deepcopy(ours).double()
post_err, ours_err, post_clamped = [], [], []
with torch.no_grad():
    for r in block_ratios:
        x = r + z
        ref = ours64(x.double())[:, C:]
        s_post, s_ours = post(x)[:, C:].double(), ours(x)[:, C:].double()
        post_err.append(((s_post - ref).abs() / ref).flatten().numpy())
        ours_err.append(((s_ours - ref).abs() / ref).flatten().numpy())
        at_clamp = s_post <= POST_CLAMP**0.5 * (1 + 1e-6)
        post_clamped.append(at_clamp.double().mean().item())
post_err, ours_err = np.array(post_err), np.array(ours_err)
post_clamped = np.array(post_clamped)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
ax1.loglog(block_ratios, np.median(post_err, axis=1), color=COLORS["one-pass"],
           marker="o", ms=3.5, label="the post's ASP (one-pass)")
ax1.loglog(block_ratios, np.median(ours_err, axis=1), color=COLORS["asp_lab"],
           marker="^", ms=3.5, label="asp_lab (two-pass)")
ax1.loglog(block_ratios, u32 * block_ratios**2, color=COLORS["one-pass"], lw=0.8,
           ls="--", alpha=0.8, label=r"$u\,(m/s)^2$")
ax1.axhline(u32, color="grey", lw=1, ls="-.", label="float32 unit roundoff")
ax1.set_xlabel("mean / spread  m/s")
ax1.set_ylabel("relative error of sigma\n(median over channels)")
ax1.set_title("Error of sigma, float32")
ax1.grid(True, alpha=0.3)
ax1.legend(fontsize=8)
ax2.semilogx(block_ratios, post_clamped, color=COLORS["one-pass"], marker="o",
             ms=3.5)
ax2.set_xlabel("mean / spread  m/s")
ax2.set_ylabel("fraction of sigma values")
ax2.set_ylim(-0.03, 1.03)
ax2.set_title("The post's sigma stuck at sqrt(1e-5)")
ax2.grid(True, alpha=0.3)
fig.tight_layout()
plt.show()

j100 = int(np.argmin(abs(block_ratios - 100)))
j1000 = int(np.argmin(abs(block_ratios - 1000)))
glue("post_err_100", np.median(post_err[j100]))
glue("post_err_1000", np.median(post_err[j1000]))
glue("post_cross", crossing(block_ratios, np.median(post_err, axis=1), 0.01))
glue("ours_err_max", ours_err.max())
glue("post_clamped_max", post_clamped[-1])
glue("post_clamp_first", block_ratios[np.nonzero(post_clamped > 0)[0][0]])

# %% [markdown]
# *Figure 5. The post's block loses $\sigma$ as the sweep predicted, then clamps it;
# `asp_lab`'s stays accurate.* Left: relative error of $\sigma$ from the post's block
# (orange) and from `asp_lab` (pink) with the same weights, on inputs of growing mean.
# Right: the fraction of the post's standard deviations that the clamp replaced by
# $\sqrt{10^{-5}}$.
#
# The post's error is {glue:text}`post_err_100:.1e` at $m/s = 100$ and
# {glue:text}`post_err_1000:.1%` at $m/s = 1000$; it passes 1% at $m/s \approx$
# {glue:text}`post_cross:.0f`. From $m/s \approx$ {glue:text}`post_clamp_first:.0f` the
# clamp starts replacing values, and at $m/s = 10^4$ it has replaced
# {glue:text}`post_clamped_max:.0%` of them. `asp_lab`'s error is at most
# {glue:text}`ours_err_max:.1e` anywhere; it grows slowly with $m/s$ because the scores
# $W h_t$ are computed from frames of size $m$, and the weights carry their rounding into
# $\sigma$.
#
# The same blocks converted to float16 and bfloat16 with `.to(dtype)`, on inputs rounded to
# that dtype (reference: the converted block in float64 on the same rounded inputs):

# %% tags=["remove-input"]
half, table = {}, []
with torch.no_grad():
    for dname in ("float16", "bfloat16"):
        dt = DTYPES[dname]
        post_d, ours_d = copy.deepcopy(post).to(dt), copy.deepcopy(ours).to(dt)
        ref_block = copy.deepcopy(ours_d).double()
        for r in (1, 10, 100, 1000):
            x = (r + z).to(dt)
            ref = ref_block(x.double())[:, C:]
            row = [dname, r]
            for who, block in (("post", post_d), ("asp_lab", ours_d)):
                s = block(x)[:, C:].double()
                ok = torch.isfinite(s)
                finite = ok.double().mean().item()
                err = ((s - ref).abs() / ref)[ok]
                med = err.median().item() if ok.any() else None
                half[dname, r, who] = (finite, med)
                row += [f"{finite:.0%}", "-" if med is None else f"{med:.1e}"]
            table.append(row)
show_table(["dtype", "m/s", "the post: finite", "the post: median error",
            "asp_lab: finite", "asp_lab: median error"], table)
glue("half_post_f16_1000_finite", half["float16", 1000, "post"][0])
glue("half_post_f16_10", half["float16", 10, "post"][1])
glue("half_post_bf16_10", half["bfloat16", 10, "post"][1])
glue("half_ours_f16_100", half["float16", 100, "asp_lab"][1])
glue("half_ours_bf16_100", half["bfloat16", 100, "asp_lab"][1])
glue("half_ours_bf16_1000", half["bfloat16", 1000, "asp_lab"][1])

# %% [markdown]
# *Table: the two blocks in half precision (finite: fraction of $\sigma$ values that are
# finite; error: median relative error of the finite ones).*
#
# In float16 the post's block returns {glue:text}`half_post_f16_1000_finite:.0%` finite
# values at $m/s = 1000$: $x^2$ overflowed. Where it is finite its error is already
# {glue:text}`half_post_f16_10:.1%` (float16) and {glue:text}`half_post_bf16_10:.0%`
# (bfloat16) at $m/s = 10$. `asp_lab` stays near the unit roundoff of the format up to
# $m/s = 100$ ({glue:text}`half_ours_f16_100:.1e` and {glue:text}`half_ours_bf16_100:.1e`);
# at $m/s = 1000$ in bfloat16 it is {glue:text}`half_ours_bf16_1000:.1%` off, because its
# attention scores are computed in bfloat16 ("Going further" below).

# %% tags=["remove-cell"]
# Where the bfloat16 block's error comes from (quoted in "Going further").
def sigma_change(frames: torch.Tensor, a: torch.Tensor, a_ref: torch.Tensor) -> float:
    """Median relative change of the exact (float64) sigma when weights a replace a_ref."""
    s, s_ref = (pooling.weighted_moments(frames.double(), w)[1] for w in (a, a_ref))
    return ((s - s_ref).abs() / s_ref).median().item()


dt = torch.bfloat16
ours_bf = copy.deepcopy(ours).to(dt)  # the table's bfloat16 block
ours_bf_f32, ours_bf_f64 = copy.deepcopy(ours_bf).float(), copy.deepcopy(ours_bf).double()
diag = {}
with torch.no_grad():
    for r in (100, 1000):
        x = (r + z).to(dt)  # the table's inputs: the stored frames
        ref = ours_bf_f64(x.double())[:, C:]
        s_f32 = ours_bf_f32(x.float())[:, C:].double()  # same numbers, float32 arithmetic
        e_bf = pooling.attention_scores(x, ours_bf.W, ours_bf.b, ours_bf.v, ours_bf.k)
        e_64 = pooling.attention_scores(x.double(), ours_bf_f64.W, ours_bf_f64.b,
                                        ours_bf_f64.v, ours_bf_f64.k)
        a_bf, a_64 = torch.softmax(e_bf.double(), dim=-1), torch.softmax(e_64, dim=-1)
        rows = x.double().reshape(-1, x.shape[-1])  # one row of frames per channel
        most_common = rows.mode(dim=-1).values[:, None]
        diag[r] = d = {
            "block": half["bfloat16", r, "asp_lab"][1],
            "f32": ((s_f32 - ref).abs() / ref).median().item(),
            "score_err": (e_bf.double() - e_64).abs().median().item(),
            "score_spread": e_64.std(dim=-1).median().item(),  # over time, per channel
            "weight_err": ((a_bf - a_64).abs() / a_64).median().item(),
            "sigma_stored": sigma_change(x, a_bf, a_64),  # exact moments, bfloat16 weights
            "sigma_unrounded": sigma_change(r + z, a_bf, a_64),  # same weights, r + z
            "spacing": torch.finfo(dt).eps * 2.0 ** np.floor(np.log2(r)),
            "distinct": np.mean([len(torch.unique(row)) for row in rows]),
            "off_common": (rows != most_common).double().mean().item(),
        }
        for key, value in d.items():
            glue(f"diag_{key}_{r}", value)
        glue(f"diag_one_in_{r}", 1 / d["off_common"])

# %% [markdown]
# ## What to remember
#
# - **Two-pass.** Compute $\sigma^2 = \sum_t \alpha_t (h_t - \mu)^2$ after $\mu$, never
#   $\sum_t \alpha_t h_t^2 - \mu^2$: the one-pass error grows like $u\,(m/s)^2$, and the
#   post's clamp hides the failures (Figures 1, 2 and 5).
# - **Accumulate in float32**, and divide the weights by their sum there: half-precision
#   sums cancel, overflow and lose small floors.
# - **Floor the variance before the square root**, far below any real spread (`asp_lab`:
#   `VAR_FLOOR`, in float32), so that a constant channel gets a finite gradient instead of
#   NaN.
# - **Mask padding with $-\infty$ and refuse empty rows.** A weaker mask leaves weight on
#   padding; an all-padding row makes the softmax 0/0.
# - **In half precision, large offsets hurt the scores too:** compute the attention scores
#   in float32, or normalise what reaches the pooling layer.
#
# ## Going further
#
# ````{admonition} Half-precision weights that do not sum to one
# :class: dropdown
# Weights rounded to float16 or bfloat16 no longer sum to one (here they miss it by up to
# {glue:text}`wsum_dev_float16:.1e` and {glue:text}`wsum_dev_bfloat16:.1e`). Weights that
# sum to $1 + \delta$ give $\hat\mu = (1 + \delta)\,\mu$ and
# $\hat\sigma^2 = (1 + \delta)\,(\sigma^2 + \delta^2 \mu^2)$, which adds about $(\delta m)^2$
# to the variance. Used as they are, with float32 two-pass sums, uniform weights put
# $\sigma$ {glue:text}`raw_f16_1000:.1%` off in float16 at $m/s = 1000$
# ($\delta$ = {glue:text}`delta_f16_1000:.1e`) and {glue:text}`raw_bf16_100:.1%` off in
# bfloat16 at $m/s = 100$ ($\delta$ = {glue:text}`delta_bf16_100:.1e`); the formula
# predicts {glue:text}`raw_pred_f16_1000:.1%` and {glue:text}`raw_pred_bf16_100:.1%`.
# `asp_lab`, which divides by the sum, is {glue:text}`asp_f16_1000:.1e` and
# {glue:text}`asp_bf16_100:.1e` off: what rounding the exact value to the format costs
# ({glue:text}`round_f16_1000:.1e` and {glue:text}`round_bf16_100:.1e`), since it casts
# $\sigma$ back to the input's dtype.
# ````
#
# ````{admonition} Where the bfloat16 block's error comes from
# :class: dropdown
# Run in float32 on the same bfloat16 parameters and frames, the block at $m/s = 1000$ is
# only {glue:text}`diag_f32_1000:.1e` off, so the loss is in bfloat16 arithmetic, and the
# only part of the block that still computes in bfloat16 is the scores: $W h_t + b$ from
# frames near 1000, each rounded to eight significant bits. Their median error is
# {glue:text}`diag_score_err_1000:.2f` (at $m/s = 100$:
# {glue:text}`diag_score_err_100:.3f`), more than the spread of the true scores over time
# ({glue:text}`diag_score_spread_1000:.2f`). The weights are then a median
# {glue:text}`diag_weight_err_1000:.0%` off, and exact moments with those weights put
# $\sigma$ {glue:text}`diag_sigma_stored_1000:.1%` off: nearly all of the block's error.
# The stored frames make it worse: near 1000, bfloat16 numbers are
# {glue:text}`diag_spacing_1000:.0f` apart against a spread of 1, a channel keeps
# {glue:text}`diag_distinct_1000:.1f` distinct values, and only about one frame in
# {glue:text}`diag_one_in_1000:.0f` differs from the most common one, so the weight errors
# do not average out. No variance formula can repair wrong weights; scores computed in
# float32, or normalised features, can.
# ````
#
# ## Exercises

# %% tags=["remove-cell"]
# Values quoted in the exercise solutions.
gen = torch.Generator().manual_seed(3)
m_ex = 100.0
glue("ex_m", int(m_ex))
x_ex = m_ex + torch.randn(64, 300, dtype=torch.float64, generator=gen)
w_ex = torch.full_like(x_ex, 1.0 / x_ex.shape[1])


def shifted_one_pass(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    d = x - x[:, :1]  # K = the first frame of each channel
    mu_d = (w * d).sum(dim=-1)
    return ((w * d * d).sum(dim=-1) - mu_d * mu_d).clamp(min=POST_CLAMP).sqrt()


for dname in ("float32", "float16"):
    xd, wd = x_ex.to(DTYPES[dname]), w_ex.to(DTYPES[dname])
    ref_ex = two_pass(xd.double(), wd.double(), clamp=0)[0]
    for tag, s in (("plain", one_pass(xd, wd)[0]),
                   ("shift", shifted_one_pass(xd, wd))):
        glue(f"ex_{tag}_{dname}", ((s.double() - ref_ex).abs() / ref_ex).median())

for dname in ("float16", "bfloat16"):
    glue(f"ex_pred_{dname}", (0.01 / UNIT_ROUNDOFF[dname]) ** 0.5)

torch.manual_seed(0)
post1 = blog.ASP(1)
x_cl = (1e4 + torch.randn(1, 1, 300)).requires_grad_(True)
sigma_cl = post1(x_cl)[0, 1]  # the post's sigma of this one channel, in float32
sigma_cl.backward()
glue("ex_clamp_sigma", sigma_cl.item())
glue("ex_clamp_grad", x_cl.grad.abs().max().item())

# %% [markdown]
# **Exercise 1 (an assumed mean).** The one-pass formula is exact for any shift:
# $\sigma^2 = E[(x-K)^2] - (E[x-K])^2$ for every constant $K$. Implement it with $K$ equal
# to the first frame of each channel, and compare its error with the plain one-pass
# formula on frames with $m/s$ = {glue:text}`ex_m` in float32 and float16. Why does it
# help, and why is it still not as safe as two-pass?
#
# ````{admonition} Solution
# :class: dropdown
# ```python
# def shifted_one_pass(x, w):
#     d = x - x[:, :1]                      # K = first frame
#     mu_d = (w * d).sum(dim=-1)
#     return ((w * d * d).sum(dim=-1) - mu_d * mu_d).clamp(min=1e-5).sqrt()
# ```
# The error model becomes $u\,(|\mu - K|/s)^2$ instead of $u\,(m/s)^2$: the first frame is
# within a few $s$ of the mean, so the cancellation is gone. Median errors against float64
# on the same stored numbers, plain against shifted: float32
# {glue:text}`ex_plain_float32:.1e` against {glue:text}`ex_shift_float32:.1e`; float16
# {glue:text}`ex_plain_float16:.1e` against {glue:text}`ex_shift_float16:.1e`. It is not
# as safe because it depends on luck: an outlying first frame (a click, a padded zero)
# puts $K$ far from $\mu$ again.
# ````
#
# **Exercise 2 (predict the 1% mark).** Use the error model $u\,(m/s)^2$ to predict the
# ratio $m/s$ at which the one-pass error reaches 1% in float16 and in bfloat16, and compare
# with the crossings read from the sweep of section 2.
#
# ```{admonition} Solution
# :class: dropdown
# $u\,(m/s)^2 = 0.01$ gives $m/s = \sqrt{0.01/u}$: {glue:text}`ex_pred_float16:.1f` for
# float16 and {glue:text}`ex_pred_bfloat16:.2f` for bfloat16. The sweep (uniform weights)
# crosses 1% at {glue:text}`cross_float16_uniform:.1f` and
# {glue:text}`cross_bfloat16_uniform:.2f`. The model is an order-of-magnitude estimate:
# the rounding errors of the two terms partly cancel or add, and in half precision the
# rounding of the frames themselves adds its own share.
# ```
#
# **Exercise 3 (the clamp stops learning).** Feed the post's block a single channel with
# $m/s = 10^4$ in float32, so that its variance is clamped, and backpropagate from that
# channel's $\sigma$. What is the gradient with respect to the frames, and what does it
# mean for training? Does `asp_lab`'s floor do the same?
#
# ````{admonition} Solution
# :class: dropdown
# ```python
# post1 = blog.ASP(1)
# x = (1e4 + torch.randn(1, 1, 300)).requires_grad_(True)
# sigma = post1(x)[0, 1]          # output is [mu, sigma]
# sigma.backward()
# sigma.item(), x.grad.abs().max()
# ```
# Here $\sigma$ comes back as {glue:text}`ex_clamp_sigma:.2e` and the largest gradient is
# {glue:text}`ex_clamp_grad:.1f`: `clamp` passes no gradient below its floor, so a clamped
# channel tells the network nothing about its spread, and it stays clamped while looking
# like a valid value. `asp_lab`'s floor behaves the same way below `VAR_FLOOR`, but with
# two-pass sums a real spread never lands there; only a truly constant channel does, and
# for it no gradient is the right answer.
# ````
