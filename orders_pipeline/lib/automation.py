"""When assets refresh on their own: after their inputs changed, once every input exists, never
while one of them (or the asset itself) is being written."""

from __future__ import annotations

import dagster as dg

# A table is refreshed after an input was updated, never before all of its inputs exist (a first
# `make run` would otherwise fail on a missing table), and not while anything feeding it runs.
AFTER_INPUTS_UPDATE = (
    dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_missing()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("after its inputs update")


def on_cron_after_inputs_update(cron: str) -> dg.AutomationCondition:
    """At most once per `cron` tick: when a tick and an update of an input both happened since
    the asset was last requested (so a quiet pipeline draws nothing)."""
    return (
        dg.AutomationCondition.cron_tick_passed(cron, cron_timezone="UTC").since_last_handled()
        & dg.AutomationCondition.any_deps_updated().since_last_handled()
        & ~dg.AutomationCondition.any_deps_missing()
        & ~dg.AutomationCondition.in_progress()
    ).with_label(f"every {cron} after its inputs update")
