"""Two other real German takeovers, configured by names only: Dealticker against a naive keyword rule."""
from __future__ import annotations

from bench.other_deals import measure
from tests.conftest import ROOT

# Issue 9 asks for a margin of at least 0.05 F1 over the naive rule, target ∧ (acquirer ∨ "Übernahme"),
# with nothing configured but the names. Each set's later items were written after the vocabulary rules
# and never tuned on; on them recall is the weak part (an acquirer only described: "die Italiener").
MARGIN = 0.05


def test_names_and_the_shipped_vocabulary_beat_the_naive_rule(tmp_path):
    results = measure(ROOT / "config" / "dealticker.toml", tmp_path)
    for label, r in results.items():
        d, n = r["dealticker"], r["naive"]
        print(f"{label}: Dealticker P {d.precision:.3f} R {d.recall:.3f} F1 {d.f1:.3f}; "
              f"naive P {n.precision:.3f} R {n.recall:.3f} F1 {n.f1:.3f}; margin {d.f1 - n.f1:+.3f}")
    for label, r in results.items():
        d, n = r["dealticker"], r["naive"]
        assert d.f1 >= n.f1 + MARGIN, (label, d, n, [(k, i["id"], i["title"]) for k, i, _ in r["errors"]])
        assert d.precision >= 0.75, (label, d)  # the acquirer's and the target's other news stay out
