"""The part coordinators and launchers share: the instance builds them from its configuration,
then attaches itself, so they can reach run storage and each other.

This is the reference's `ConfigurableClass` + `register_instance`, without the class hierarchy:
a plugin written for either (`{module, class, config}` in the instance configuration) gets its
`config` as constructor keyword arguments and the instance afterwards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from kubedag.instance.instance import Instance


class InstancePlugin:
    """Something the instance builds from its `config_key` part and then attaches itself to."""

    config_key: ClassVar[str] = "a plugin part"
    _instance: Instance | None = None

    def register_instance(self, instance: Instance) -> None:
        self._instance = instance

    @property
    def instance(self) -> Instance:
        if self._instance is None:
            raise RuntimeError(
                f"{type(self).__name__} is not attached to an instance; build it through the "
                f"instance configuration ({self.config_key}: ...) or call "
                "register_instance(instance)."
            )
        return self._instance
