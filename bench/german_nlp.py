"""Cost and quality of HanTa, simplemma and snowballstemmer on the headlines of the events set.

Usage: python bench/german_nlp.py [events.jsonl] [--headlines 20]
None of the three is a project dependency yet; install them into the venv first:
    .venv/bin/pip install HanTa numpy simplemma snowballstemmer
(HanTa 1.2.1 imports numpy without declaring it.) Run under `unshare -n` to check that nothing is fetched.
"""
from __future__ import annotations

import argparse
import re
import resource
import statistics
import sys
import time
from itertools import combinations
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.story_grouping import DEFAULT_SET, load  # noqa: E402
from bot.match import normalise  # noqa: E402

# Numbers and hyphenated compounds stay one token ("45-Tage-Frist", "US-Geschäft"), as headlines write them.
TOKEN = re.compile(r"\w+(?:[-.]\w+)*|[^\w\s]")
COMPOUNDS = ("Zwangsverkauf", "Stimmrechtsanteil", "Tiktok-Verkauf", "US-Geschäft", "Gemeinschaftsunternehmen",
             "45-Tage-Frist", "Übernahmegespräche", "Verkaufsgesetz", "Download-Verbot", "Fristverlängerung",
             "Handelsministerium", "Berufungsgericht", "Investorengruppe", "Rahmenabkommen", "Zollstreit")
# Headlines from the examples, always shown among the tagged headlines.
SHOWCASE = ("Oracle erhält offenbar den Zuschlag", "Bytedance entscheidet sich", "45-Tage-Frist",
            "Binnen 45 Tagen", "US-Senat billigt", "Biden unterschreibt")
# Forms of one word: a good normaliser gives each group one key.
FAMILIES = (("erhält", "erhalten", "erhielt"), ("entscheidet", "entscheiden", "entschieden"),
            ("verlängert", "verlängern", "verlängerte"), ("unterschreibt", "unterschreiben", "unterschrieben"),
            ("unterzeichnet", "unterzeichnen", "unterzeichnete"), ("billigt", "billigen", "gebilligt"),
            ("verbietet", "verbieten", "verboten"), ("übernimmt", "übernehmen", "übernommen"),
            ("verhandelt", "verhandeln", "verhandelte"), ("stoppt", "stoppen", "gestoppt"),
            ("klagt", "klagen", "geklagt"), ("zieht", "ziehen", "zog"), ("Tag", "Tage", "Tagen"),
            ("Gespräch", "Gespräche", "Gesprächen"), ("Verkauf", "Verkaufs", "Verkäufe"),
            ("Gericht", "Gerichts", "Gerichte"), ("Gesetz", "Gesetzes", "Gesetze"), ("Frist", "Fristen"),
            ("Investor", "Investoren"), ("Zoll", "Zölle", "Zöllen"), ("Käufer", "Käufers"),
            ("Verbot", "Verbots", "Verbote"), ("Anteil", "Anteile", "Anteils"), ("Monat", "Monate", "Monaten"))
# Different words that a six-letter prefix confuses.
FALSE_FRIENDS = (("Handelsministerium", "Handelsstreit"), ("Staatsfonds", "Staatschef"), ("Milliarden", "Milliardär"),
                 ("Bundesrichter", "Bundesregierung"), ("Unterschrift", "Unterstützung"), ("Präsident", "Präsidium"),
                 ("Gemeinschaftsunternehmen", "Gemeinsamkeit"))
# Proper nouns in the set's headlines (hyphenated compounds aside).
NAMES = frozenset("""Trump Tiktok Tiktoks Bytedance Microsoft Oracle Walmart Twitter Biden Bidens Mnuchin Musk
    Perplexity Xi Murdoch Lachlan Dell Michael Chew Shou Zi Mayer Kevin Larry Ellison Ellisons Nadella Satya McCourt
    Frank WeChat Tencent Texas Peking Washington China Chinas USA US Madrid Bessent Vance Pennsylvania Redmond
    Amerika Cfius Silver Lake MGX Elon Leavitt Disney Project Liberty Mar-a-Lago Google Apple Play Store AI
    Supreme Court Trumps""".split())


def rss_mb() -> float:
    """Resident memory now (Linux), so a library's share is the difference before and after loading it."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() / 2**20


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def hanta_head(tagger, word: str) -> str:
    """Base form of a compound's last part ("Zwangsverkäufe" -> "verkauf"). Hyphens are split here
    because HanTa leaves "Tiktok-Verkauf" whole when it does not know the first part."""
    stem, morphemes, _ = tagger.analyze(word.split("-")[-1], taglevel=3)
    nouns = [n for n, (_, tag) in enumerate(morphemes) if tag.startswith("NN")]
    if not nouns:
        return stem.lower()
    prefix = "".join(m for m, _ in morphemes[:nouns[-1]])  # stem is the lemma, so cut by length
    return stem[len(prefix):].lower()


def key_makers(tagger, simplemma, stemmer) -> dict:
    return {
        "6-letter prefix (today)": lambda w: normalise(w)[:6],
        "snowball": lambda w: stemmer.stemWord(w.lower()),
        "simplemma": lambda w: simplemma.lemmatize(w, lang="de").lower(),
        "simplemma greedy": lambda w: simplemma.lemmatize(w, lang="de", greedy=True).lower(),
        "HanTa lemma": lambda w: tagger.analyze(w)[0].lower(),
        "HanTa compound head": lambda w: hanta_head(tagger, w),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("events", nargs="?", default=str(DEFAULT_SET))
    parser.add_argument("--headlines", type=int, default=20)
    args = parser.parse_args()
    items = load(Path(args.events))
    titles = [[t for t in TOKEN.findall(i["title"])] for i in items]
    tokens = sum(len(t) for t in titles)

    # simplemma first, so that each library's memory is measured on its own.
    import simplemma
    import snowballstemmer
    base = rss_mb()
    _, t_first = timed(simplemma.lemmatize, "Gesprächen", "de")
    simple_mb = rss_mb() - base

    base = rss_mb()
    _, t_import = timed(__import__, "HanTa.HanoverTagger")
    from HanTa import HanoverTagger as ht
    tagger, t_load = timed(ht.HanoverTagger, "morphmodel_ger.pgz")
    hanta_mb = rss_mb() - base
    reloads = [timed(ht.HanoverTagger, "morphmodel_ger.pgz")[1] for _ in range(2)]
    print(f"HanTa: import (numpy included) {t_import:.2f} s, model load {t_load:.2f} s "
          f"(reloads {', '.join(f'{t:.2f}' for t in reloads)} s), RSS +{hanta_mb:.0f} MB with one model")
    teasers = [TOKEN.findall(i["teaser"]) for i in items if i["teaser"]]
    for label, sents in (("headlines", titles), ("teasers", teasers)):
        n = sum(len(t) for t in sents)
        for level in (1, 3):
            runs = [timed(lambda: [tagger.tag_sent(t, taglevel=level) for t in sents])[1] for _ in range(3)]
            print(f"HanTa tag_sent taglevel={level} on {len(sents)} {label} ({n} tokens): "
                  f"{1000 * statistics.median(runs) / n:.2f} ms/token, "
                  f"{1000 * statistics.median(runs) / len(sents):.1f} ms per {label[:-1]} (median of 3)")
    unique = {w for t in titles + teasers for w in t if w[0].isalpha()}
    _, t_words = timed(lambda: [tagger.analyze(w, taglevel=3) for w in unique])
    print(f"HanTa analyze(taglevel=3) once per distinct word: {len(unique)} words, "
          f"{1000 * t_words / len(unique):.2f} ms/word (what a per-word cache pays once)")
    tagged = [tagger.tag_sent(t, taglevel=1) for t in titles]
    names = [(w, tag) for sent in tagged for w, _, tag in sent if w in NAMES]
    missed = sorted({f"{w}/{tag}" for w, tag in names if tag != "NE"})
    extra = sorted({w for sent in tagged for w, _, tag in sent if tag == "NE" and w not in NAMES})
    print(f"HanTa NE on proper nouns: {sum(tag == 'NE' for _, tag in names)} of {len(names)} tagged NE; "
          f"not NE: {', '.join(missed)}")
    print(f"HanTa NE on other words: {', '.join(extra) or 'none'}")

    words = [w for t in titles for w in t if w[0].isalpha()]
    _, t_simple = timed(lambda: [simplemma.lemmatize(w, lang="de") for w in words])
    stemmer = snowballstemmer.stemmer("german")
    _, t_snow = timed(lambda: [stemmer.stemWord(w.lower()) for w in words])
    print(f"simplemma: first call (loads German data) {t_first:.2f} s, RSS +{simple_mb:.0f} MB, then "
          f"{1000 * t_simple / len(words):.3f} ms/word; snowball: {1000 * t_snow / len(words):.3f} ms/word")

    print("\nCompounds (HanTa analyze taglevel=3 | simplemma | simplemma greedy | snowball):")
    for w in COMPOUNDS:
        stem, morphemes, pos = tagger.analyze(w, taglevel=3)
        parts = "|".join(f"{m}({t})" if t in ("FUGE", "HYPHEN") or not t.startswith("NN") else m
                         for m, t in morphemes)
        print(f"  {w:26} {parts:44} {pos:7} | {simplemma.lemmatize(w, lang='de'):25} | "
              f"{simplemma.lemmatize(w, lang='de', greedy=True):25} | {stemmer.stemWord(w.lower())}")

    print("\nWord forms mapped to one key (pairs agreeing) and false friends merged:")
    pairs = [p for fam in FAMILIES for p in combinations(fam, 2)]
    for name, key in key_makers(tagger, simplemma, stemmer).items():
        agree = sum(key(a) == key(b) for a, b in pairs)
        merged = [f"{a}/{b}" for a, b in FALSE_FRIENDS if key(a) == key(b)]
        split = sorted({f"{fam[0]}" for fam in FAMILIES if len({key(w) for w in fam}) > 1})
        print(f"  {name:24} {agree:3} of {len(pairs)} pairs; false friends merged {len(merged)} of "
              f"{len(FALSE_FRIENDS)} {merged or ''}; families split: {', '.join(split) or 'none'}")

    print(f"\n{args.headlines} headlines through HanTa tag_sent (word/lemma/tag):")
    shown = [n for n, i in enumerate(items) if any(s in i["title"] for s in SHOWCASE)]
    step = max(1, len(items) // args.headlines)
    shown += [n for n in range(0, len(items), step) if n not in shown][:args.headlines - len(shown)]
    for sent in (tagged[n] for n in sorted(shown)):
        print("  " + "  ".join(f"{w}/{lemma}/{tag}" if lemma != w else f"{w}/{tag}" for w, lemma, tag in sent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
