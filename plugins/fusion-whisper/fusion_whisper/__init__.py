"""fusion_whisper plugin for fusion."""
