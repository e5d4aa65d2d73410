"""Speaker normalisation inside a run: the training clips' moments, every clip standardised by its speaker's.

A view of the run's :class:`~fusion.experiment.Inputs` whose acoustic features (and augmented copies)
are standardised speaker by speaker (:mod:`fusion.speaker_norm`). The global moments come from the
run's training clips only; each speaker's moments from all of that speaker's clips in the corpus,
labels unused (held-out speakers are normalised by their own unlabelled clips, as at scoring time).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from ..experiment import Inputs
from ..model import EmotionModel
from ..speaker_norm import global_moments, group_of, normalizable, normalize_by_group, standardize


def speaker_normalized(inputs: Inputs, train_idx: Sequence[int], model: EmotionModel) -> Inputs:
    """``inputs`` with its acoustic features standardised per speaker; sets ``model.speaker_prior`` to
    the training clips' moments. Unchanged when the model does not normalise speakers or its features
    are not real-valued frames."""
    if not model.normalizes_speakers or not inputs.audio:
        return inputs
    if not normalizable(next(iter(inputs.audio.values()))):
        model.config = dataclasses.replace(model.config, speaker_norm={})  # token ids: nothing to standardise
        return inputs
    model.speaker_prior = global_moments(inputs.audio[inputs.utterances[n].id] for n in train_idx)
    groups = {u.id: group_of(u.speaker) for u in inputs.utterances if u.id in inputs.audio}
    audio, stats = normalize_by_group({k: inputs.audio[k] for k in groups}, groups, model.speaker_prior,
                                      float(model.config.speaker_norm["shrink"]))
    augmented = [{uid: standardize(x, stats[groups[uid]]) for uid, x in copies.items()} for copies in inputs.augmented]
    return dataclasses.replace(inputs, audio=audio, augmented=augmented)


def scored_with_speaker_norm(inputs: Inputs, model: EmotionModel, log: Callable[[str], None]) -> Inputs:
    """``inputs`` to score with a trained model: each speaker's clips standardised by their own moments
    shrunk towards the model's training moments (unchanged when the model does not normalise speakers)."""
    if not model.normalizes_speakers:
        return inputs
    groups = {u.id: group_of(u.speaker) for u in inputs.utterances}
    log(f"speaker normalisation: {len(set(groups.values()))} speaker(s) standardised by their own clips")
    return dataclasses.replace(inputs, audio=model.normalize_speakers({k: inputs.audio[k] for k in groups}, groups))
