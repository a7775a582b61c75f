"""Automation: when runs should happen (schedules, sensors, backfills' pure logic; the cron
arithmetic they use is `kubedag.clock`).

Everything here is plain functions over plain data; the daemon and the operator call them.
"""
