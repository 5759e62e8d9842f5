"""Scheduled work: leaderboard resets, single-leader background jobs, the external scheduler command."""
