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
