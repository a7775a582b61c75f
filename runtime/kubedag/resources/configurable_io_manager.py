"""`ConfigurableIOManager`: an I/O manager whose config is its pydantic fields."""

from __future__ import annotations

from kubedag.resources.io_manager import IOManager
from kubedag.resources.resource import ConfigurableResource


class ConfigurableIOManager(ConfigurableResource, IOManager):
    """Subclass it, declare config fields, implement `handle_output` and `load_input`."""
