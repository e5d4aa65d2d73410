"""Text-only recipes (DailyDialog, GoEmotions, ISEAR): fake files with the real formats and quirks,
the real files in ../shared, and the label maps of fusion.labels against every recipe's labels."""

from collections import Counter

import pytest

from fusion.errors import DatasetError
from fusion.labels import RECIPE_LABEL_MAPS, label_map_for, select_labels
from fusion.plugins import get_component
from fusion.recipes import dataset_protocol, prepare_dataset
from fusion_corpora import cremad, dailydialog, emodb, goemotions, iemocap, isear, meld, ravdess, tess
from fusion_corpora.dailydialog import prepare_dailydialog
from fusion_corpora.demo import grammar
from fusion_corpora.goemotions import prepare_goemotions
from fusion_corpora.isear import prepare_isear, split_respondents
from tests.conftest import require_shared


# ----------------------------------------------------------------------------- label maps vs recipes

@pytest.mark.parametrize("recipe, emitted", [
    ("ravdess", set(ravdess.EMOTIONS.values())),
    ("cremad", set(cremad.EMOTIONS.values())),
    ("tess", set(tess.EMOTIONS.values())),
    ("emodb", set(emodb.EMOTIONS.values())),
    ("iemocap", set(iemocap.ALL_LABELS.values()) | set(iemocap.FOUR_CLASS.values())),
    ("demo", set(grammar.EMOTIONS)),
    ("meld", set(meld.LABELS)),
    ("dailydialog", set(dailydialog.LABELS.values())),
    ("goemotions", set(goemotions.EKMAN_LABELS)),
    ("isear", set(isear.LABELS)),
])
def test_every_label_a_recipe_emits_has_a_canonical_name(recipe, emitted):
    assert set(RECIPE_LABEL_MAPS[recipe]) == emitted


@pytest.mark.parametrize("name, protocol", [("dailydialog", "predefined"), ("daily-dialog", "predefined"),
                                            ("goemotions", "predefined"), ("isear", "predefined")])
def test_registered_lazily(name, protocol):
    component = get_component("dataset", name)
    assert component.plugin == "corpora" and component.description and "default_dir" not in component.meta
    assert callable(component.load())
    assert dataset_protocol(name) == protocol


# ----------------------------------------------------------------------------- DailyDialog

def write_dailydialog(root, split, dialogues, labels):
    root.mkdir(parents=True, exist_ok=True)
    (root / f"dialogues_{split}.txt").write_text("".join(d + "\n" for d in dialogues), encoding="utf-8")
    (root / f"dialogues_emotion_{split}.txt").write_text("".join(l + "\n" for l in labels), encoding="utf-8")


@pytest.fixture
def fake_dailydialog(tmp_path):
    root = tmp_path / "dailydialog"
    write_dailydialog(root, "train", [
        "Say , Jim , how about a beer ? __eou__ You know that is tempting . __eou__ Great ! __eou__",
        "One . __eou__ Two . __eou__ Three , no label . __eou__",                      # 3 utterances, 2 labels
        "Odd label __eou__   __eou__ Fine __eou__",                                    # unknown id, empty turn
    ], ["0 0 4 ", "1 2", "9 3 5"])
    write_dailydialog(root / "validation", "validation", ["Hello ? __eou__ Hi ! __eou__"], ["0 6"])
    return root


def test_dailydialog_utterances(fake_dailydialog):
    corpus = prepare_dailydialog(fake_dailydialog)
    by_id = {u.id: u for u in corpus}
    assert sorted(by_id) == ["dev_dia0_utt0", "dev_dia0_utt1", "train_dia0_utt0", "train_dia0_utt1",
                             "train_dia0_utt2", "train_dia1_utt0", "train_dia1_utt1", "train_dia2_utt2"]
    first = by_id["train_dia0_utt0"]
    assert (first.transcript, first.label, first.speaker, first.split, first.audio) == (
        "Say , Jim , how about a beer ?", "no emotion", "train_dia0", "train", None)
    assert first.extra == {"dialogue": "train_dia0", "utterance": 0, "context": []}
    third = by_id["train_dia0_utt2"]
    assert third.label == "happiness" and third.extra["context"] == [
        {"speaker": "A", "text": "Say , Jim , how about a beer ?"}, {"speaker": "B", "text": "You know that is tempting ."}]
    assert [by_id["train_dia1_utt0"].label, by_id["train_dia1_utt1"].label] == ["anger", "disgust"]
    assert by_id["train_dia2_utt2"].label == "sadness"
    dev = by_id["dev_dia0_utt1"]
    assert (dev.split, dev.label, dev.speaker) == ("dev", "surprise", "dev_dia0")  # validation/ folder layout


def test_dailydialog_reports_mismatches_instead_of_crashing(fake_dailydialog):
    skipped = prepare_dailydialog(fake_dailydialog).skipped
    assert [(path.rsplit("/", 1)[-1], reason) for path, reason in skipped] == [
        ("dialogues_train.txt:2", "dialogue has 3 utterances but 2 labels; labels taken as aligned from the "
                                  "first turn, utterance 3 skipped"),
        ("dialogues_train.txt:3 turn 1", "unknown label id '9'; valid: 0 no emotion, 1 anger, 2 disgust, 3 fear, "
                                         "4 happiness, 5 sadness, 6 surprise"),
        ("dialogues_train.txt:3 turn 2", "empty utterance"),
    ]


def test_dailydialog_more_labels_than_utterances_and_missing_lines(tmp_path):
    write_dailydialog(tmp_path, "train", ["A . __eou__", "B . __eou__ C . __eou__"], ["0 4 4 5", "1 1", "2"])
    write_dailydialog(tmp_path, "validation", ["D . __eou__", "E . __eou__"], ["4"])
    corpus = prepare_dailydialog(tmp_path, context=0)
    assert sorted(u.id for u in corpus) == ["dev_dia0_utt0", "train_dia0_utt0", "train_dia1_utt0", "train_dia1_utt1"]
    assert all("context" not in u.extra for u in corpus)
    reasons = sorted(r for _, r in corpus.skipped)
    assert reasons == ["dialogue has 1 utterances but 4 labels; labels taken as aligned from the first turn, "
                       "labels 2..4 skipped",
                       "dialogue has no label line in dialogues_emotion_validation.txt",
                       "label line has no dialogue line in dialogues_train.txt"]


def test_dailydialog_layout_errors(tmp_path):
    write_dailydialog(tmp_path, "train", ["A . __eou__"], ["0"])
    with pytest.raises(DatasetError, match="missing dialogues_validation.txt"):
        prepare_dailydialog(tmp_path)
    (tmp_path / "dialogues_validation.txt").write_text("B . __eou__\n")
    with pytest.raises(DatasetError, match="has no label file dialogues_emotion_validation.txt"):
        prepare_dailydialog(tmp_path)
    with pytest.raises(DatasetError, match="context must be an integer >= 0"):
        prepare_dailydialog(tmp_path, context=-1)


# ----------------------------------------------------------------------------- GoEmotions

@pytest.fixture
def fake_goemotions(tmp_path):
    root = tmp_path / "goemotions"
    root.mkdir()
    (root / "labels.txt").write_text("anger\ndisgust\nfear\njoy\nneutral\nsadness\nsurprise")  # no final newline
    (root / "train.tsv").write_text(
        "My favourite food is anything I didn't have to cook myself.\t4\teebbqej\n"
        "WHY THE FUCK IS [NAME] ISOING\t0\teezlygj\n"
        "Wow, that is great!\t3,6\tmulti1\n"           # multi-label: skipped
        "So glad\t3,3\trepeat1\n"                      # one label given twice: kept
        "broken line without tabs\n"
        "\t5\tempty1\n"
        "Unknown id\t7\tbad1\n", encoding="utf-8")
    (root / "dev.tsv").write_text("I miss him\t5\tdev1\n", encoding="utf-8")
    return root


def test_goemotions_single_label_rows(fake_goemotions):
    corpus = prepare_goemotions(fake_goemotions)
    by_id = {u.id: u for u in corpus}
    assert sorted(by_id) == ["dev_dev1", "train_eebbqej", "train_eezlygj", "train_repeat1"]
    first = by_id["train_eebbqej"]
    assert (first.label, first.speaker, first.split, first.audio) == ("neutral", "eebbqej", "train", None)
    assert first.transcript == "My favourite food is anything I didn't have to cook myself."
    assert by_id["train_eezlygj"].label == "anger" and by_id["train_repeat1"].label == "joy"
    assert by_id["dev_dev1"].split == "dev" and by_id["dev_dev1"].label == "sadness"
    reasons = [(p.rsplit(":", 1)[-1], r) for p, r in corpus.skipped]
    assert reasons == [
        ("3", "multi-label comment (joy, surprise); only single-label comments are kept"),
        ("5", "line has 1 tab-separated fields; expected 3 (text, label ids, comment id)"),
        ("6", "empty text"),
        ("7", "label id(s) '7' not in labels.txt (0..6: anger, disgust, fear, joy, neutral, sadness, surprise)"),
    ]


def test_goemotions_without_labels_txt_uses_the_ekman_order(fake_goemotions):
    (fake_goemotions / "labels.txt").unlink()
    assert {u.id: u.label for u in prepare_goemotions(fake_goemotions)}["train_eebbqej"] == "neutral"
    (fake_goemotions / "dev.tsv").unlink()
    with pytest.raises(DatasetError, match="missing dev.tsv"):
        prepare_goemotions(fake_goemotions)


# ----------------------------------------------------------------------------- ISEAR

ISEAR_HEADER = ("ID|CITY|COUN|SUBJ|SEX|AGE|RELI|PRAC|FOCC|MOCC|FIEL|EMOT|WHEN|LONG|INTS|ERGO|TROPHO|TEMPER|EXPRES|"
                "MOVE|EXP1|EXP2|EXP10|PARAL|CON|EXPC|PLEA|PLAN|FAIR|CAUS|COPING|MORL|SELF|RELA|VERBAL|NEUTRO|"
                "Field1|Field3|Field2|MYKEY|SIT|STATE|")


def isear_row(respondent, label, key, text, state="1"):
    return f"{respondent}|" + "1|" * 35 + f"{label}|3|2|{key}|{text}|{state}|"


@pytest.fixture
def fake_isear(tmp_path):
    root = tmp_path / "isear"
    root.mkdir()
    rows = [
        isear_row(11001, "joy", "0110011", "During the period of falling in love, á each time that we met."),
        isear_row(11001, "fear", "0110012", 'When I saw \\the living planet\\" and á|saw the destruction."'),
        isear_row(11002, "guilt", "0110021", "I lied á|to my á|mother.", state='1"'),
        "11002|1|1|joy|truncated row",                                           # too few fields
        isear_row(11003, "boredom", "0110031", "Not an ISEAR emotion."),
        isear_row(11003, "shame", "0110032", "   "),                               # empty text
        isear_row(11003, "anger", "0110012", "A repeated key."),
        isear_row(11004, "sadness", "0110041", "When my grandmother died."),
    ]
    (root / "isear.csv").write_text(ISEAR_HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return root


def test_isear_rows_with_pipes_in_the_text_are_recovered(fake_isear):
    corpus = prepare_isear(fake_isear)
    by_id = {u.id: u for u in corpus}
    assert sorted(by_id) == ["isear_0110011", "isear_0110012", "isear_0110021", "isear_0110041"]
    assert by_id["isear_0110012"].transcript == 'When I saw \\the living planet\\" and á|saw the destruction."'
    assert by_id["isear_0110021"].transcript == "I lied á|to my á|mother."
    first = by_id["isear_0110011"]
    assert (first.label, first.speaker, first.audio) == ("joy", "11001", None)
    assert first.transcript == "During the period of falling in love, á each time that we met."  # kept as written
    assert by_id["isear_0110021"].label == "guilt"
    assert {u.split for u in corpus} <= {"train", "dev", "test"}


def test_isear_reports_what_it_skips(fake_isear):
    reasons = [(p.rsplit(":", 1)[-1], r) for p, r in prepare_isear(fake_isear).skipped]
    assert reasons == [
        ("5", "row has 5 '|'-separated fields, the header 43"),
        ("6", "unknown emotion 'boredom' in Field1; valid: joy, fear, anger, sadness, disgust, shame, guilt"),
        ("7", "empty SIT (situation text)"),
        ("8", f"duplicate utterance id 'isear_0110012' (first seen in {fake_isear / 'isear.csv'}:3)"),
    ]


def test_isear_split_is_seeded_and_by_respondent():
    respondents = [str(n) for n in range(100)]
    splits = split_respondents(respondents, seed=0)
    assert Counter(splits.values()) == {"train": 80, "dev": 10, "test": 10}
    assert splits == split_respondents(list(reversed(respondents)), seed=0)   # input order does not matter
    assert splits != split_respondents(respondents, seed=1)
    assert Counter(split_respondents(respondents[:7], seed=0).values()) == {"train": 6, "dev": 1}


def test_isear_one_respondent_one_split_and_layout_errors(fake_isear, tmp_path):
    corpus = prepare_isear(fake_isear / "isear.csv", seed=3)                     # the file itself works too
    assert len({u.split for u in corpus if u.speaker == "11001"}) == 1
    with pytest.raises(DatasetError, match="seed must be an integer"):
        prepare_isear(fake_isear, seed="0")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="does not look like isear; expected isear.csv"):
        prepare_isear(tmp_path / "empty")
    with pytest.raises(DatasetError, match="does not exist"):
        prepare_isear(tmp_path / "gone")
    (tmp_path / "bad.csv").write_text("a|b|c|\n1|2|3|\n")
    with pytest.raises(DatasetError, match="has no column\\(s\\) ID, Field1, MYKEY, SIT"):
        prepare_isear(tmp_path / "bad.csv")


# ----------------------------------------------------------------------------- real files in ../shared

def _policy_counts(corpus, recipe):
    kept, excluded = select_labels(corpus, keep=None, label_map=label_map_for(recipe))
    assert len(kept) + len(excluded) == len(corpus) and not excluded   # every label has a canonical name
    return Counter(u.label for u in kept if u.split == "train")


@pytest.mark.real
def test_real_dailydialog_counts():
    corpus = prepare_dataset("dailydialog", require_shared("data", "text-emotion", "dailydialog"))
    assert Counter(u.split for u in corpus) == {"train": 87170, "dev": 8069, "test": 7740}
    assert Counter(u.label for u in corpus if u.split == "train") == {
        "no emotion": 72143, "happiness": 11182, "surprise": 1600, "sadness": 969, "anger": 827, "disgust": 303,
        "fear": 146}
    assert len(corpus.skipped) == 1 and "12 utterances but 11 labels" in corpus.skipped[0][1]
    assert corpus.skipped[0][0].endswith("dialogues_train.txt:7852")
    first = {u.id: u for u in corpus}["train_dia0_utt0"]
    assert first.transcript.startswith("Say , Jim , how about going for a few beers after dinner ?")
    assert _policy_counts(corpus, "dailydialog")["neutral"] == 72143


@pytest.mark.real
def test_real_goemotions_counts():
    root = require_shared("data", "text-emotion", "goemotions")
    corpus = prepare_dataset("goemotions", root)
    multi = Counter(p.rsplit("/", 1)[-1].split(".")[0] for p, r in corpus.skipped if r.startswith("multi-label"))
    assert len(multi) == 3 and len(corpus.skipped) == sum(multi.values())           # nothing else skipped
    lines = {"train": 43410, "dev": 5426, "test": 5427}                             # comments in the README
    splits = Counter(u.split for u in corpus)
    assert {s: splits[s] + multi[s] for s in lines} == lines
    assert _policy_counts(corpus, "goemotions")["happy"] == Counter(u.label for u in corpus
                                                                    if u.split == "train")["joy"]


@pytest.mark.real
def test_real_isear_counts():
    corpus = prepare_dataset("isear", require_shared("data", "text-emotion", "isear"))
    assert len(corpus) == 7666 and corpus.skipped == []                            # 7,666 situations
    assert set(Counter(u.label for u in corpus)) == set(isear.LABELS)
    piped = [u for u in corpus if "|" in u.transcript]                              # a naive split breaks these
    assert 150 <= len(piped) <= 170
    speakers = {u.speaker for u in corpus}
    assert all(len({u.split for u in corpus if u.speaker == s}) == 1 for s in list(speakers)[:50])
    share = Counter(u.split for u in corpus)
    assert 0.75 < share["train"] / len(corpus) < 0.85 and share["dev"] > 600 and share["test"] > 600
    assert _policy_counts(corpus, "isear")["shame"] > 0
