"""Loading Hugging Face weights prints no third-party bars or load reports; settings are restored after."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

from tests.plugins.transformers.encoder_helpers import require_bundled_minilm

transformers = pytest.importorskip("transformers")

from fusion_transformers.quiet_loading import quiet_hf_loading  # noqa: E402


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.NOTSET)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def transformers_records():
    handler = _Records()
    root = logging.getLogger("transformers")
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


def test_warnings_and_bars_are_off_inside_and_restored_after(transformers_records):
    from huggingface_hub import utils as hub_utils
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_info()  # a caller's own setting, restored after the load
    try:
        hf_logging.enable_progress_bar()
        logger = hf_logging.get_logger("transformers.modeling_utils")
        with quiet_hf_loading():
            assert not hf_logging.is_progress_bar_enabled() and hub_utils.are_progress_bars_disabled()
            logger.warning("Some weights of BertModel were not initialized")
            logger.info("loading file vocab.txt")
            logger.error("a real failure")  # errors still reach the handlers
        assert transformers_records.messages == ["a real failure"]
        assert hf_logging.get_verbosity() == logging.INFO
        assert hf_logging.is_progress_bar_enabled() and not hub_utils.are_progress_bars_disabled()
        logger.warning("after the load")
        assert transformers_records.messages[-1] == "after the load"
    finally:
        hf_logging.set_verbosity_warning()


def test_a_failing_load_still_raises_and_restores(transformers_records):
    from transformers.utils import logging as hf_logging

    before = (hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled())
    with pytest.raises(OSError, match="no such model"):
        with quiet_hf_loading():
            raise OSError("no such model")
    assert (hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()) == before


def test_bars_disabled_by_the_caller_stay_disabled():
    from huggingface_hub import utils as hub_utils
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    try:
        with quiet_hf_loading():
            pass
        assert not hf_logging.is_progress_bar_enabled() and hub_utils.are_progress_bars_disabled()
    finally:
        hf_logging.enable_progress_bar()


@pytest.mark.real
def test_loading_the_minilm_encoder_prints_nothing_on_stderr():
    """In a fresh process, as `fusion train` loads it: no "Loading weights" bar, no carriage return."""
    require_bundled_minilm()
    code = ("import fusion\n"
            "enc = fusion.get_text_encoder('minilm').build({})\n"
            "print(enc.featurize('hello there').shape[-1])\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_HUB_DISABLE", "TRANSFORMERS_VERBOSITY"))}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "384"
    assert "Loading" not in result.stderr and "\r" not in result.stderr and "it/s" not in result.stderr, \
        result.stderr
    assert result.stderr.strip() == ""
