"""report.md lists only the components the run's modes used."""

from __future__ import annotations

import pytest

from fusion.report import COMPONENT_ROLES, component_lines, used_roles, write_report

LABELS = ["angry", "happy"]


def _mode_entry(ua: float) -> dict:
    metric = {"mean": ua, "std": 0.0, "per_fold": [ua]}
    return {"ua": metric, "wa": metric, "macro_f1": metric, "weighted_f1": metric, "n": 4,
            "confusion": [[2, 0], [0, 2]], "confusion_fraction": [[1.0, 0.0], [0.0, 1.0]],
            "per_class_recall": {"angry": 1.0, "happy": 1.0},
            "curves": [{"seed": 0, "fold": 0, "curve": [{"epoch": 1, "train_loss": 0.5, "val_ua": ua}]}]}


def _results(modes: list[str], components: dict | None) -> dict:
    results = {
        "dataset": "synthetic", "protocol": "speaker", "labels": LABELS, "comparisons": {},
        "modes": {m: _mode_entry(0.75) for m in modes}, "folds": [{"fold": 0, "test": ["s1"]}],
        "config": {"modes": modes, "seeds": [0], "acoustic_encoder": "whisper", "acoustic_config": {"layer": 4},
                   "transcriber": "faster-whisper", "transcriber_config": {}, "text_encoder": "minilm",
                   "text_config": {}, "head": "cross-attention", "head_config": {"n_layers": 2},
                   "unimodal_config": {}},
        "versions": {"fusion": "0.1.0"}, "wall_time_s": 1.0,
    }
    if components is not None:
        results["components"] = components
    return results


def _component(name: str, distribution: str) -> dict:
    return {"name": name, "plugin": distribution.removeprefix("fusion-"), "distribution": distribution,
            "version": "0.1.0"}


AUDIO_RUN = {"dataset": _component("synthetic", "fusion-corpora"),
             "acoustic_encoder": _component("whisper-encoder", "fusion-whisper"),
             "unimodal_head": _component("unimodal", "fusion-ser")}


def test_an_audio_ablation_report_names_no_transcriber_or_text_encoder(tmp_path):
    path = write_report(_results(["audio"], AUDIO_RUN), tmp_path)
    section = path.read_text().split("## Components")[1].split("##")[0]
    assert "- acoustic encoder: `whisper-encoder` {'layer': 4} (fusion-whisper 0.1.0)" in section
    assert "- unimodal head: `unimodal` (fusion-ser 0.1.0)" in section
    for unused in ("transcriber", "text encoder", "fusion head", "faster-whisper", "minilm"):
        assert unused not in section, section


def test_a_fused_run_lists_every_component_it_used():
    components = {**AUDIO_RUN, "transcriber": _component("faster-whisper", "fusion-faster-whisper"),
                  "text_encoder": _component("minilm", "fusion-transformers"),
                  "head": _component("cross-attention", "fusion-ser")}
    components.pop("unimodal_head")
    lines = component_lines(_results(["fused"], components))
    assert [line.split(":")[0] for line in lines] == ["- acoustic encoder", "- transcriber", "- text encoder",
                                                      "- fusion head"]
    assert lines[3] == "- fusion head: `cross-attention` {'n_layers': 2} (fusion-ser 0.1.0)"


@pytest.mark.parametrize("modes, roles", [
    (["audio"], ["acoustic_encoder", "unimodal_head"]),
    (["text"], ["transcriber", "text_encoder", "unimodal_head"]),
    (["fused"], ["acoustic_encoder", "transcriber", "text_encoder", "head"]),
    (["audio", "text", "fused"], ["acoustic_encoder", "transcriber", "text_encoder", "head", "unimodal_head"]),
])
def test_results_without_a_components_dict_derive_the_roles_from_the_modes(modes, roles):
    results = _results(modes, None)
    assert used_roles(results) == roles
    lines = component_lines(results)
    assert [line.split(":")[0] for line in lines] == [f"- {COMPONENT_ROLES[role][0]}" for role in roles]
    if "acoustic_encoder" in roles:  # the configured name and options, no version (none recorded)
        assert lines[0] == "- acoustic encoder: `whisper` {'layer': 4}"
    if "unimodal_head" in roles:
        assert lines[-1] == "- unimodal head: `unimodal`"


def test_an_audio_ablation_writes_a_report_without_text_components(fake_plugins, synthetic_corpus, tmp_path):
    from tests.reliability.entry_points import FAKES, invoke

    result = invoke("ablate", "--dataset", "synthetic", "--data-dir", synthetic_corpus, *FAKES, "--modes", "audio",
                    "--folds", "2", "--seeds", "0", "--jobs", "1", "--out", tmp_path / "run", "--quiet")
    assert result.exit_code == 0, result.output
    section = (tmp_path / "run" / "report.md").read_text().split("## Components")[1].split("##")[0]
    assert "- acoustic encoder: `fake-frames`" in section and "- unimodal head: `unimodal`" in section
    assert "fake-bag" not in section and "gold" not in section and "concat" not in section, section
