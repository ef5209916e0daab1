"""Keeping the local stack's state in its state directory across stops, starts and kills."""
