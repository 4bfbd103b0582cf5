"""Where German news text splits into clauses (hard punctuation, commas and "und" between statements, openers, relative clauses)."""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import replace

from bot.match import normalise

# Words that open a clause of their own, with or without a comma, when a verb follows them
# (and, for the coordinating ones, when one precedes them too).
_OPENERS = frozenset("waehrend nachdem obwohl obgleich weil stattdessen derweil unterdessen doch "
                     "whereas while after as".split())
_JOINERS = frozenset("und oder aber sondern and but".split())
_ADVERB_AFTER_VERB = frozenset("aber doch jedoch".split())
# A clause opening with one of these prepositions has a phrase before its verb that is background
# ("Nach der Absage an Microsoft verhandelt Walmart"): that phrase is a clause of its own.
_BACKGROUND = frozenset("nach trotz wegen angesichts".split())
# Where clauses end whatever follows: semicolons, colons (headline "Trump: …"), question marks
# ("Wer kauft Tiktok? …"), spaced dashes.
_HARD = re.compile(r"\s*[;:?!]\s+|\s+-+\s+|\s*\u2014\s*")
# A relative pronoun after a comma opens a verb-final clause inside another one.
# (also after a preposition: "Microsoft, mit dem sich der Handelskonzern zusammengetan hatte, geht leer aus")
RELATIVE = re.compile(r"(?:(?:mit|an|bei|von|fuer|ueber|zu|gegen|um|durch|auf|aus|nach|unter)\s+(?=de[mnr]|denen|dessen|deren))?"
                      r"(?:der|die|das|dem|den|denen|deren|dessen|welche[mnrs]?|who|which)\s")
# A relative clause whose pronoun is its subject or object speaks of the name before it ("Oracle, das
# geboten hatte", "Investoren, deren Einstieg Trump billigte"), not one about another party ("…, dessen Partner …").
OF_ANTECEDENT = re.compile(r"(?:der|die|das|dem|den|denen|welche[mnrs]?|who|which)\s|(?:deren|dessen)\s+(?!(?:[a-z-]+\s+)?"
                           r"[a-z-]*(?:partner|chef|gruender|konkurrent|rivale|mutter|tochter|eigentuemer|aktionaer))")
_COMMA = re.compile(r",(?!\d)\s*")  # not the decimal comma of "12,5 Prozent"
# Parts of speech that make a headline fragment a statement of its own ("Oracle vorn, …",
# "… Murdoch-Anteil noch offen"), besides a verb or a status cue.
_PREDICATE = ("ADJ(D)", "ADV")


def split(norm: str, tokens: list, cue_starts: list[int]) -> list[tuple[int, int]]:
    """Clause boundaries: hard punctuation always; a comma or "und" where a statement stands on both
    sides (so "Oracle, Silver Lake und MGX bekommen …" stays one clause); an opener word ("während")
    before a verb; a background phrase ("Nach der Absage an X") before its clause's first verb."""
    cuts = {m.start(): m.end() for m in _HARD.finditer(norm)}
    soft = {m.start(): m.end() for m in _COMMA.finditer(norm)}
    joiners = set()
    previous = ""
    for pos, t in tokens:
        word = normalise(t.text)
        # "Der Konzern habe aber rasch abgewinkt": after the finite verb "aber"/"doch" is an adverb.
        adverb = word in _ADVERB_AFTER_VERB and previous.endswith("(FIN)")
        previous = t.pos
        if pos > 0 and (word in _OPENERS or word in _JOINERS) and pos not in soft and not adverb:
            soft[pos] = pos
            joiners.update([pos] if word in _JOINERS else [])
    # News text has no imperatives: a word tagged so is a name ("Triller und Centricus bieten").
    verbs = [pos for pos, t in tokens if t.pos.startswith("V") and t.pos != "VV(IMP)"]
    full_verbs = [pos for pos, t in tokens if t.pos.startswith("VV") and t.pos != "VV(IMP)"]
    finite = [pos for pos, t in tokens if t.pos.startswith("V") and t.pos.endswith("(FIN)")]
    predicates = sorted(verbs + [pos for pos, t in tokens if t.pos.startswith(_PREDICATE)] + cue_starts)
    # Commas right after a predicate word ("Oracle vorn, …"): the left side states something.
    closing = {pos + len(normalise(t.text)) for pos, t in tokens if t.pos.startswith(_PREDICATE)}
    # Each candidate is judged within the stretch between the hard cuts and commas around it.
    commas = {p: e for p, e in soft.items() if p != e}
    majors = sorted({0, len(norm)} | set(cuts) | set(cuts.values()) | set(commas) | set(commas.values()))
    last = 0  # where the clause before a candidate starts: the last cut or kept candidate
    for b in sorted(soft):
        after = soft[b]
        left = max(last, max((e for c, e in cuts.items() if c < b), default=0))
        comma = b != after
        right = majors[bisect_right(majors, after)] if after < len(norm) else len(norm)
        if comma and not any(after <= v < right for v in predicates):
            # A list of subjects reaches its verb: "Oracle gewinnt, Microsoft, Walmart und McCourt
            # verlieren" cuts after "gewinnt"; "Oracle erhält 12,5 Prozent, Walmart 7,5 Prozent" does not.
            end = min((c for c in cuts if c >= after), default=len(norm))
            verb = min((v for v in predicates if after <= v < end), default=end)
            if any(after <= j < verb for j in joiners):
                right = end
        # A comma needs a statement on both sides; a joiner ("und") a lexical verb on both sides
        # ("… keine Antwort zu ihrem Vorschlag mit Oracle und Walmart erhalten" is one clause: its
        # auxiliary waits for the participle); an opener word a verb after it.
        if comma:
            keep = any(left <= v < b for v in predicates) and any(after <= v < right for v in predicates)
            # "Eine Vereinbarung mit Oracle, Blackstone und a16z liegt auf Eis": a list of names goes on
            # after the comma where the left side has a cue but no verb.
            end = min((c for c in cuts if c >= after), default=len(norm))
            first = min((v for v in verbs if after <= v < end), default=None)
            if keep and first is not None and not any(left <= v < b for v in verbs) and (b not in closing) and any(
                    after <= j < first for j in joiners):
                keep = False
            if not keep and RELATIVE.match(norm, after) and any(after <= v < right for v in verbs):
                keep = True  # ", die noch Angebote abgegeben hatten,": a relative clause (bot/clauses.py embeds it)
        elif b in joiners:
            # Two finite verbs make two clauses too: "X wird Anteilseigner und soll den Handel übernehmen".
            keep = (any(left <= v < b for v in full_verbs) and any(after <= v < right for v in verbs)) or (
                any(left <= v < b for v in finite) and any(after <= v < right for v in finite))
        else:
            keep = any(after <= v < right for v in verbs)
        if not keep:
            del soft[b]
        else:
            last = after
    spans, start = [], 0
    for b in sorted(set(cuts) | set(soft)):
        spans.append((start, b))
        start = cuts.get(b, soft.get(b))
    spans.append((start, len(norm)))
    out = []
    for s, e in spans:
        first = next((t for pos, t in tokens if s <= pos < e), None)
        verb = next((v for v in verbs if s < v < e), None)
        if first is not None and normalise(first.text) in _BACKGROUND and verb is not None:
            out += [(s, verb), (verb, e)]
        elif e > s:
            out.append((s, e))
    return out

def embed_relatives(clauses: list, norm: str) -> list:
    """A relative clause between commas sits inside its main clause: "Für Applovin und Employer.com, die
    noch Angebote abgegeben hatten, ist das Rennen gelaufen" and "Die Verhandlungen mit Microsoft, das mit
    Walmart bietet, und mit Oracle laufen weiter" each state one status, for the names on both sides; the
    relative clause keeps its own (background) status for the names inside it."""
    out = list(clauses)
    for i in range(1, len(out) - 1):
        before, relative, after = out[i - 1], out[i], out[i + 1]
        if not (RELATIVE.match(relative.text) and norm[before.end:relative.start].strip() == ","
                and norm[relative.end:after.start].strip() == "," and not before.verbs
                and not before.negated):
            continue
        # Each part keeps its own span and text; the status (cues and what qualifies them) is shared.
        out[i - 1] = replace(after, start=before.start, end=before.end, text=before.text, cues=before.cues + after.cues)
        out[i + 1] = replace(after, cues=before.cues + after.cues)
    return out


def offsets(text: str) -> list[int]:
    """Offset in normalise(text) of each offset in text (folding "ü" to "ue" moves what follows)."""
    if len(normalise(text)) == len(text) and text.isascii():
        return list(range(len(text) + 1))
    width = {ch: len(normalise(ch)) for ch in set(text)}
    out = [0]
    for ch in text:
        out.append(out[-1] + width[ch])
    return out
