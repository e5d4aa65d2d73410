"""The local web demo (``fusion serve MODEL_DIR``): upload or record audio, see the emotion.

:mod:`.demo` turns uploaded bytes into a prediction document (no HTTP), :mod:`.server` is the
standard-library HTTP server with the JSON API, ``static/`` holds the page (HTML, JS, CSS; no CDN).
"""

from .demo import Demo, Reply
from .server import DemoServer

__all__ = ["Demo", "DemoServer", "Reply"]
