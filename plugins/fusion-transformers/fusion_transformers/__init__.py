"""fusion_transformers plugin for fusion."""
