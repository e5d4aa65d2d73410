"""Core CLI command modules (registered by fusion.default_plugins.commands)."""
