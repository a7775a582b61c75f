"""Records: the plain data every layer above passes around and storage keeps — the `Run` and
its `RunStatus` (`run`), which status changes are allowed (`transitions`), and the event log's
entries (`events`).

They sit below storage and execution so both can use them without importing each other: storage
writes what execution emits, and neither needs the other's code to know what a run or an event is.
"""
