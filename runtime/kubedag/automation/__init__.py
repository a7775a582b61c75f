"""Automation: when runs should happen (cron ticks, schedules, sensors, backfills' pure logic).

Everything here is plain functions over plain data; the daemon and the operator call them.
"""
