"""Loading Hugging Face weights without third-party noise in fusion's output.

transformers draws a "Loading weights" bar (even into a log file) and logs load reports such as
"Some weights of ... were not initialized" at WARNING; huggingface_hub draws download bars.
:func:`quiet_hf_loading` turns both libraries' bars off and their logging down to ERROR for the
duration of one load, then restores the settings found (a caller's own choices stand). Errors are
untouched: a failed load still raises, and ERROR records still print. ``HF_HUB_DISABLE_PROGRESS_BARS=0``
(bars explicitly wanted) is respected: the bars then stay on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def quiet_hf_loading() -> Iterator[None]:
    from huggingface_hub import constants as hub_constants
    from huggingface_hub import utils as hub_utils
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_bars = hf_logging.is_progress_bar_enabled()
    hub_bars = not hub_utils.are_progress_bars_disabled()
    keep_bars = hub_constants.HF_HUB_DISABLE_PROGRESS_BARS is False  # the user asked for them
    hf_logging.set_verbosity_error()
    if not keep_bars:
        hf_logging.disable_progress_bar()  # transformers' bars and huggingface_hub's
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if not keep_bars:
            if hf_bars:
                hf_logging.enable_progress_bar()  # turns huggingface_hub's on too: set it back below
            if hub_bars:
                hub_utils.enable_progress_bars()
            elif hf_bars:
                hub_utils.disable_progress_bars()
