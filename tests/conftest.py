"""Fixtures shared by the whole suite: real servers the test session starts itself."""

pytest_plugins = ["tests.fixtures.postgres", "tests.fixtures.s3", "tests.fixtures.kubernetes"]
