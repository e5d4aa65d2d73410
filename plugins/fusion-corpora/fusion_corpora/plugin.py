"""Hook implementations of this plugin: the corpus recipes, registered lazily by "module:function"."""

from __future__ import annotations

from pathlib import Path

from fusion import hookimpl


def _demo_dir() -> Path:
    """The bundled demo corpus (no --data-dir needed)."""
    return Path(__file__).parent / "demo" / "data"


@hookimpl
def register_datasets(register):
    register("ravdess", "fusion_corpora.ravdess:prepare_ravdess", protocol="speaker",
             description="RAVDESS speech: Actor_XX/03-01-EE-II-SS-RR-AA.wav|.flac, 8 emotions, 24 actors")
    register("cremad", "fusion_corpora.cremad:prepare_cremad", aliases=("crema-d", "crema_d"),
             protocol="speaker",
             description="CREMA-D: AudioWAV/1001_DFA_ANG_XX.wav, 6 emotions, 91 actors, 12 sentences")
    register("tess", "fusion_corpora.tess:prepare_tess", protocol="speaker",
             description="TESS: OAF_/YAF_<emotion>/ folders, 7 emotions, 2 speakers, 'Say the word X'")
    register("emodb", "fusion_corpora.emodb:prepare_emodb", aliases=("emo-db", "emo_db"),
             protocol="speaker",
             description="Berlin EmoDB: wav/03a01Fa.wav, 7 emotions, 10 speakers, German sentences")
    register("iemocap", "fusion_corpora.iemocap:prepare_iemocap", protocol="session",
             description="IEMOCAP: Session1..5 EmoEvaluation + transcriptions; labels='4class' (default) or 'all'")
    register("meld", "fusion_corpora.meld:prepare_meld", protocol="predefined", metric="weighted_f1",
             description="MELD: {train,dev,test}_sent_emo.csv (text; clips used when present), 7 emotions")
    register("dailydialog", "fusion_corpora.dailydialog:prepare_dailydialog", aliases=("daily-dialog",),
             protocol="predefined",
             description="DailyDialog: dialogues_{train,validation,test}.txt + dialogues_emotion_*.txt (text), 7 labels")
    register("goemotions", "fusion_corpora.goemotions:prepare_goemotions", protocol="predefined", metric="macro_f1",
             description="GoEmotions (Ekman): {train,dev,test}.tsv + labels.txt (text, single-label rows), 7 labels")
    register("isear", "fusion_corpora.isear:prepare_isear", protocol="predefined",
             description="ISEAR: isear.csv (text, pipe-separated), 7 emotions, seeded 80/10/10 respondent split")
    register("manifest", "fusion_corpora.manifest:prepare_manifest", protocol="speaker",
             description="your own CSV/JSONL: path,label[,speaker][,transcript][,split][,session][,id]")
    register("demo", "fusion_corpora.demo.recipe:prepare_demo", protocol="speaker", default_dir=_demo_dir,
             description="tiny bundled demo corpus (no download)")
    register("multi", "fusion_corpora.multi:prepare_multi", protocol="speaker", data_dir_optional=True,
             maps_labels=True,
             description="several corpora as one: parts=['ravdess=DIR', 'demo'] (or --dataset A --data-dir DIR "
                         "--dataset B); ids and speakers namespaced by corpus, labels mapped to canonical names")
