"""fusion_corpora plugin for fusion."""
