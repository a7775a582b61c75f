"""The fault matrix and the bad-input table: each test injects one fault into real components
(or feeds one bad input) and asserts the outcome, with nothing lost and nothing doubled.

Every test here is a row of `docs/reliability.md`, which is generated from this folder
(`python -m tests.faults.reliability_table`) and kept true by `test_reliability_table.py`:
- a test named `test_fault_*` is a row of the fault table, `test_bad_input_*` a row of the
  bad-input table;
- its docstring's first line is the row's left column (the fault or the bad input), the rest of
  the docstring (after a blank line) is the expected outcome that the test asserts.
"""
