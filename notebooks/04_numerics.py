# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04_numerics

# %%
import asp_lab
print(asp_lab.__version__)
