"""fusion_acoustic plugin for fusion."""
