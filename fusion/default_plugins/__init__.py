"""Plugins that ship inside the core package; registered exactly like entry-point plugins."""
