"""The local stack's billing meters: what AWS would bill for every operation served here, counted
as AWS counts it (each service's `metering.py` says how), kept across restarts."""
