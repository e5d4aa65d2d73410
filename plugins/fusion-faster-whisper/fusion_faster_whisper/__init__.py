"""fusion_faster_whisper plugin for fusion."""
