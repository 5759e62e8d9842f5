"""nakama-py: a Python game backend that speaks Nakama's wire protocol."""

__version__ = "0.1.0"
