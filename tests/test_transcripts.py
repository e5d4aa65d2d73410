"""The transcriber contract: a transcriber that reads the corpus row (``uses_audio = False``, as
``gold``) is called with ``transcribe_utterance``, which the contract declares."""

from __future__ import annotations

import pytest

from fusion.cache import Cache
from fusion.components import Transcriber
from fusion.data import Utterance
from fusion.errors import PluginError
from fusion.transcripts import GoldTranscriber, transcribe_utterances


class RowReader(Transcriber):
    """Declares uses_audio = False but forgets transcribe_utterance."""

    name = "row-reader"
    uses_audio = False
    config = None


def rows() -> list[Utterance]:
    return [Utterance("a", None, label="happy", speaker="s1", transcript="hello there"),
            Utterance("b", None, label="sad", speaker="s1", transcript=None)]


def test_gold_reads_the_row_through_the_declared_method(tmp_path):
    assert "transcribe_utterance" in vars(Transcriber)  # part of the contract, not only of gold
    report = transcribe_utterances(rows(), GoldTranscriber(), Cache("transcripts", root=tmp_path))
    assert report.transcripts == {"a": "hello there"}
    assert "'b' has no gold transcript" in report.errors["b"]
    empty = transcribe_utterances(rows(), GoldTranscriber(GoldTranscriber.Config(missing="empty")),
                                  Cache("transcripts", root=tmp_path))
    assert empty.transcripts == {"a": "hello there", "b": ""}


def test_a_row_reader_without_transcribe_utterance_is_a_clear_error(tmp_path):
    with pytest.raises(PluginError, match="'row-reader' sets uses_audio = False but does not implement "
                                          "transcribe_utterance"):
        RowReader().transcribe_utterance(rows()[0])
    report = transcribe_utterances(rows(), RowReader(), Cache("transcripts", root=tmp_path))
    assert set(report.errors) == {"a", "b"} and "transcribe_utterance" in report.errors["a"]
