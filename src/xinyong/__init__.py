"""xinyong (信用): a public credit information platform on law, in the open, with redress."""

__version__ = "0.1.0"
