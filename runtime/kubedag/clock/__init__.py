"""Clock: pure time logic — cron expressions, time zones and tick arithmetic (`cron`).

It sits below definitions so that partitions and schedules can compute their ticks without
reaching up into automation; nothing here reads a clock of its own or does I/O.
"""
