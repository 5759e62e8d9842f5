"""Scheduled work: leaderboard resets, the external scheduler command. (Single-leader jobs: cluster/.)"""
