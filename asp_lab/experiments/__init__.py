"""Experiments built on the library: chapter 6's attention under noise."""
