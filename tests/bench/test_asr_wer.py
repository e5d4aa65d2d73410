"""bench/asr/wer.py: the faster-whisper rows it builds and the table it writes (no model is run)."""

from __future__ import annotations

from bench.asr.wer import faster_whisper_setup, markdown_table, word_error_rate


def test_tiny_en_row_is_the_default_config_and_base_rows_name_model_and_language():
    assert faster_whisper_setup("tiny.en", 1, 2) == ("faster-whisper tiny.en beam 1", "faster-whisper",
                                                     {"beam_size": 1, "cpu_threads": 2})
    label, _, config = faster_whisper_setup("base", 5, 1)
    assert label == "faster-whisper base (language detected) beam 5" and config["model"] == "base"
    assert "language" not in config
    label, _, config = faster_whisper_setup("base:en", 1, 1)
    assert label == "faster-whisper base, language en beam 1" and config["language"] == "en"


def test_table_names_the_corpus_and_warns_of_a_loaded_machine():
    run = {"transcriber": "t", "wer": word_error_rate([("dogs are here", "dogs are there")]),
           "clips_per_s": 2.5, "second_pass_from_cache": 3, "clips": 3}
    idle = markdown_table({"clips": 3, "threads": 1, "cpu_count": 2, "load_average": 0.1, "runs": [run]})
    assert idle.startswith("3 clips of RAVDESS, gold statements as reference, 1 thread(s).\n")
    assert "| t | 33.3% | 2.50 | 3/3 |" in idle
    busy = markdown_table({"dataset": "demo", "clips": 3, "threads": 1, "cpu_count": 2, "load_average": 1.7,
                           "runs": [run]})
    assert busy.startswith("3 clips of the demo corpus") and "load average 1.7 on 2 cores" in busy
