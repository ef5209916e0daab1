"""What several Dagster domains share, below all of them: SQL text helpers, automation
conditions, metadata previews. Imports point down: defs -> lib -> pure domain."""
