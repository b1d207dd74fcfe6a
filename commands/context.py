"""What every command gets: the configuration (loaded on first use) and output settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click

from netguard.config import Config, load_config
from netguard.errors import ConfigError


@dataclass
class AppContext:
    config_path: str | None = None
    debug: bool = False
    _config: Config | None = field(default=None, init=False, repr=False)

    @property
    def config(self) -> Config:
        # Loaded lazily so that --help and --version work without a valid file.
        if self._config is None:
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
