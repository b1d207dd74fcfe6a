"""What every command gets: the configuration (loaded on first use) and output settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import click

from netguard.errors import ConfigError

if TYPE_CHECKING:  # netguard.config is imported on first use: --version and --help need none of it
    from netguard.config import Config


@dataclass
class AppContext:
    config_path: str | None = None
    debug: bool = False
    _config: Config | None = field(default=None, init=False, repr=False)

    @property
    def config(self) -> Config:
        # Loaded lazily so that --help and --version work without a valid file.
        if self._config is None:
            from netguard.config import load_config

            self._config = load_config(self.config_path)
        return self._config

    def inventory_path(self, explicit: str | None) -> Path:
        """The inventory named on the command line, else the configured one."""
        if explicit:
            return Path(explicit)
        if self.config.inventory is None:
            raise ConfigError(
                "no inventory given: pass a FILE, or set 'inventory:' in netguard.yaml (--config / NETGUARD_CONFIG)"
            )
        return self.config.inventory


pass_app = click.make_pass_decorator(AppContext)
