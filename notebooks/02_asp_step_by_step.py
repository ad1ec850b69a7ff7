# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02_asp_step_by_step

# %%
import asp_lab
print(asp_lab.__version__)
