"""A trained model's outputs on a corpus it was not trained on: what evaluation and calibration score.

:func:`model_outputs` featurizes the utterances exactly as the model was trained (its encoders,
its transcriber unless another is named: ``"gold"`` reads the corpus' transcripts), runs the model
and returns the class probabilities and, for a fused model whose head declares ``has_branches``,
each modality branch's probabilities.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..data import Utterance
from ..errors import ConfigError, DatasetError
from ..experiment import ExperimentConfig, prepare_inputs
from ..model import EmotionModel, ModelConfig
from ..labels import restrict_probs, restriction_note
from ..recipes import Corpus, corpus_names, prepare_dataset
from ..training.metrics import classification_metrics
from ..training.trainer import predict_with_branches
from .branches import branch_comparison
from .per_corpus import per_corpus_scores
from .speakers import scored_with_speaker_norm


def experiment_for(model_config: ModelConfig, dataset: str, data_dir, transcriber: str | None = None,
                   transcriber_config: dict | None = None) -> ExperimentConfig:
    """The ExperimentConfig that featurizes data exactly as the model was trained; ``transcriber``
    (a name, or ``"gold"`` for the corpus' transcripts) replaces the model's own speech-to-text."""
    mc = model_config
    kwargs = dict(dataset=dataset, data_dir=None if data_dir is None else str(data_dir), modes=(mc.mode,))
    if mc.uses_audio:
        kwargs.update(acoustic_encoder=mc.acoustic_encoder, acoustic_config=dict(mc.acoustic_config))
    if mc.uses_text:
        name = transcriber or mc.transcriber or "gold"
        if transcriber_config is None:  # the model's options only go with the model's transcriber
            transcriber_config = dict(mc.transcriber_config) if name == mc.transcriber else {}
        kwargs.update(text_encoder=mc.text_encoder, text_config=dict(mc.text_config),
                      transcriber=name, transcriber_config=dict(transcriber_config))
    return ExperimentConfig(**kwargs)


def evaluation_corpus(dataset: str, data_dir=None, split: str | None = None,
                      options: dict | None = None) -> tuple[Corpus, Corpus]:
    """``(everything the recipe read, the utterances of split)`` (both the same without ``split``);
    ``options``: the recipe's options (``multi``: its ``parts``). DatasetError naming the available
    splits when ``split`` has none."""
    corpus = prepare_dataset(dataset, data_dir, **(options or {}))
    if not split:
        return corpus, corpus
    chosen = [u for u in corpus if u.split == split]
    if not chosen:
        available = sorted({str(u.split) for u in corpus})
        raise DatasetError(f"dataset {dataset!r} has no split {split!r} in {data_dir}; "
                           f"available: {', '.join(available)}")
    return corpus, Corpus(chosen, corpus.skipped)


def has_branches(model: EmotionModel) -> bool:
    """Whether the model reports per-modality branches: a fused model whose head declares them."""
    return model.config.mode == "fused" and bool(getattr(model.head, "has_branches", False))


@dataclass
class ModelOutputs:
    """A model's outputs on the utterances it could score (``excluded``: the others, with reasons)."""

    utterances: list[Utterance]
    probs: np.ndarray                                                   # [N, C], columns = model labels
    branches: dict[str, np.ndarray] = field(default_factory=dict)      # "audio"/"text" -> [N, C]
    excluded: dict[str, str] = field(default_factory=dict)
    transcriber: str | None = None                                     # what made the transcripts read


def model_outputs(model: EmotionModel, utterances: Sequence[Utterance], dataset: str, data_dir=None,
                  transcriber: str | None = None, transcriber_config: dict | None = None, progress=None,
                  log: Callable[[str], None] = print, reported: Iterable[str] = ()) -> ModelOutputs:
    """Featurize ``utterances`` as the model was trained and run it. A Corpus' ``skipped`` files are
    carried into ``excluded``; a warning counts every excluded utterance but those in ``reported``
    (left out earlier and said so, e.g. by ``--labels``). ``transcriber`` on an audio-only model is a
    ConfigError (it would be ignored)."""
    if transcriber is not None and not model.config.uses_text:
        raise ConfigError(f"transcriber {transcriber!r}: the model is {model.config.mode}-only and reads no "
                          "transcripts; leave --transcriber out")
    cfg = experiment_for(model.config, dataset, data_dir, transcriber, transcriber_config)
    inputs = prepare_inputs(cfg, utterances, None, progress=progress, log=log)
    reported = {str(k) for k in reported}  # left out before, and said so: not news
    failed = {k: v for k, v in inputs.excluded.items() if k not in reported}
    if failed:
        log(f"warning: {len(failed)} utterance(s) could not be scored: "
            + "; ".join(f"{k}: {v}" for k, v in list(failed.items())[:5]))
    if not inputs.utterances:
        raise DatasetError("no utterance could be scored")
    inputs = scored_with_speaker_norm(inputs, model, log)  # each speaker by their own clips (fusion.speaker_norm)
    items = inputs.items(range(len(inputs.utterances)), model.config.mode)
    probs, branches = predict_with_branches(model, items)                              # [N, C], {name: [N, C]}
    if not has_branches(model):
        branches = {}
    return ModelOutputs(inputs.utterances, probs, branches, dict(inputs.excluded),
                        cfg.transcriber if model.config.uses_text else None)


def scored_metrics(utterances: Sequence[Utterance], probs: np.ndarray, branches: dict[str, np.ndarray],
                   model_labels: Sequence[str], scored: Sequence[str], log: Callable[[str], None] = print) -> dict:
    """Metrics of probabilities ``[N, C]`` (columns ``model_labels``; ``branches`` likewise) over the
    ``scored`` labels: the decision restricted to them when they are not the model's labels in its order
    (:func:`fusion.labels.restrict_probs`, logged), ``restricted_to`` when they are a subset, ``branches``
    and ``fused_vs_best_branch`` when there are branches, ``per_corpus`` on a multi-corpus dataset."""
    scored = list(scored)
    if scored != list(model_labels):
        note = restriction_note(model_labels, scored)
        if note:
            log(note)
        probs = restrict_probs(probs, model_labels, scored)                                  # [N, K]
        branches = {name: restrict_probs(p, model_labels, scored) for name, p in branches.items()}
    y = [scored.index(u.label) for u in utterances]
    m = classification_metrics(y, probs.argmax(1), scored)
    if set(scored) != set(model_labels):
        m["restricted_to"] = scored
    if branches:
        m.update(branch_comparison(y, {**branches, "fused": probs}, scored))
    corpus_of = corpus_names(utterances)
    if corpus_of:
        m["per_corpus"] = per_corpus_scores(corpus_of, [u.id for u in utterances], y, probs.argmax(1), scored)
    return m
