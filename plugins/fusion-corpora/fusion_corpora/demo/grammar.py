"""The text channel of the demo corpus: a small seeded template grammar.

A sentence either *expresses* an emotion through its wording (emotion keywords such as
"furious" or "miss") or is *plain*: a neutral or ambiguous statement whose words say
nothing about the speaker's state. Slot fillers (people, events, objects, days) are shared
by every frame and drawn independently of the label, so only the keywords carry the
emotion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .draw import Draw

EMOTIONS = ("neutral", "happy", "sad", "angry")

# shared slot fillers: drawn uniformly for every label, so they carry no label information
SLOTS: dict[str, tuple[str, ...]] = {
    "person": ("my brother", "my sister", "the manager", "our neighbour", "the teacher",
               "Sam", "the doctor", "my cousin", "the landlord", "my uncle"),
    "event": ("meeting", "party", "interview", "trip", "game", "concert", "exam", "wedding",
              "review", "flight", "dinner", "lesson"),
    "object": ("car", "phone", "letter", "garden", "painting", "bicycle", "jacket", "laptop",
               "package", "kitchen", "camera", "piano"),
    "day": ("today", "this morning", "last night", "on Friday", "tonight", "on Monday",
            "this week", "yesterday"),
    "place": ("the station", "the office", "the market", "the airport", "the library", "the park"),
    "weekday": ("Monday", "Tuesday", "Thursday", "Friday", "Sunday"),
}

# emotion keywords: the only words that reveal the label
KEYWORDS: dict[str, tuple[str, ...]] = {
    "h_adj": ("happy", "glad", "delighted", "thrilled", "excited"),
    "h_good": ("wonderful", "great", "fantastic", "lovely", "amazing"),
    "h_love": ("love", "adore", "really like"),
    "s_adj": ("sad", "lonely", "miserable", "unhappy", "hopeless", "depressed"),
    "s_miss": ("miss", "really miss"),
    "a_adj": ("angry", "furious", "mad", "annoyed", "outraged"),
    "a_bad": ("ridiculous", "outrageous", "unacceptable", "disgraceful"),
    "a_hate": ("hate", "can't stand"),
}

# neutral or ambiguous statements: used for neutral clips and for clips whose emotion is
# carried by the voice alone
PLAIN_FRAMES: tuple[str, ...] = (
    "The {object} is at {place}.",
    "{person} called about the {event} {day}.",
    "We moved the {event} to {weekday}.",
    "I put the {object} next to the door.",
    "{person} will bring the {object} {day}.",
    "Did {person} see the {object}?",
    "So the {event} happened {day}.",
    "I read the note about the {event}.",
    "Well, {person} has the {object} now.",
    "I can't believe the {event} is {day}.",
    "Oh, {person} told me about the {event}.",
    "Really, {person} kept the {object}?",
)

# frames whose wording expresses one emotion; {h_adj} etc. are keyword slots
EMOTION_FRAMES: dict[str, tuple[str, ...]] = {
    "happy": (
        "I am so {h_adj} about the {event}!",
        "What {h_good} news about the {event}!",
        "I {h_love} the {object} {person} gave me.",
        "The {event} was {h_good}, I am {h_adj}.",
        "Thank you, this {object} is {h_good}!",
        "I am {h_adj}, {person} liked the {object}.",
    ),
    "sad": (
        "I feel so {s_adj} about the {event}.",
        "I {s_miss} {person} so much.",
        "{person} is gone and I keep crying.",
        "The {event} was cancelled, I feel {s_adj}.",
        "It breaks my heart, the {object} is lost.",
        "I am {s_adj}, nobody came to the {event}.",
    ),
    "angry": (
        "I am so {a_adj} about the {event}!",
        "How dare {person} take my {object}!",
        "I {a_hate} this {object}, it is {a_bad}!",
        "Stop it, I am sick of the {event}!",
        "This {event} is {a_bad}, I am {a_adj}!",
        "I am {a_adj}, {person} broke my {object}!",
    ),
}

# fixed cue words inside frames (besides keyword slots), reported as keywords too
FRAME_CUES: dict[str, tuple[str, ...]] = {
    "happy": ("thank you",),
    "sad": ("crying", "breaks my heart", "nobody came", "cancelled"),
    "angry": ("how dare", "sick of", "broke"),
}

_SLOT = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Sentence:
    text: str                   # what the voice says (the gold transcript)
    frame: str                  # the template it came from
    keywords: tuple[str, ...]   # emotion words in the text; empty for a plain sentence


def plain_sentence(draw: Draw) -> Sentence:
    """A neutral or ambiguous statement (no emotion keyword)."""
    return _fill(draw.pick(PLAIN_FRAMES), draw, ())


def emotional_sentence(emotion: str, draw: Draw) -> Sentence:
    """A sentence whose wording expresses ``emotion`` (not "neutral")."""
    if emotion not in EMOTION_FRAMES:
        raise ValueError(f"demo grammar: no emotional wording for {emotion!r}; "
                         f"valid choices: {', '.join(EMOTION_FRAMES)}")
    frame = draw.pick(EMOTION_FRAMES[emotion])
    cues = tuple(c for c in FRAME_CUES[emotion] if c in frame.lower())
    return _fill(frame, draw, cues)


def _fill(frame: str, draw: Draw, cues: tuple[str, ...]) -> Sentence:
    keywords = list(cues)

    def value(match: re.Match) -> str:
        slot = match.group(1)
        if slot in KEYWORDS:
            word = draw.pick(KEYWORDS[slot])
            keywords.append(word)
            return word
        return draw.pick(SLOTS[slot])

    text = _SLOT.sub(value, frame)
    return Sentence(text[0].upper() + text[1:], frame, tuple(keywords))
