"""Counting a labelled set's answers and printing the tables of bench/match_eval.py."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

INTENT_NAMES = ("policy", "appeal", "progress", "other")
HEADLINE = ("intent", "hit@1", "hit@3", "all@3", "no-fit", "lead unit", "category", "triage")
PER_STYLE = ("intent", "hit@3", "all@3", "lead unit")
THRESHOLDS = (0.0, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass(frozen=True)
class Guess:
    """What a system says about one message."""

    intent: str
    policies: tuple[str, ...]
    lead_unit: str | None
    category: str | None
    confidence: float = 1.0
    unit_confidence: float = 1.0
    triage: bool = False


def all_at_3(wanted: set[str], found: tuple[str, ...]) -> bool:
    """Every wanted policy in the top 3, or (more than 3 wanted) the top 3 all wanted."""
    top = set(found[:3])
    return wanted <= top if len(wanted) <= 3 else len(top) == 3 and top <= wanted


@dataclass
class Tally:
    """Counts overall and per style, confusion matrices, confidences, and one line per error."""

    counts: Counter[str] = field(default_factory=Counter)
    styles: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    intents: Counter[tuple[str, str]] = field(default_factory=Counter)
    units: Counter[tuple[str, str]] = field(default_factory=Counter)
    confidence: list[tuple[float, bool]] = field(default_factory=list)
    unit_confidence: list[tuple[float, bool]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def _count(self, style: str, name: str, ok: bool) -> None:
        self.counts[name + ".n"] += 1
        self.counts[name] += ok
        self.styles[style][name + ".n"] += 1
        self.styles[style][name] += ok

    def add(self, message: dict[str, Any], guess: Guess) -> None:
        """Count one labelled message and what the system said about it."""
        style = message.get("style") or "plain"
        want = message["intent"]
        intent_ok = guess.intent == want
        self._count(style, "intent", intent_ok)
        self.intents[(want, guess.intent)] += 1
        self.confidence.append((guess.confidence, intent_ok))
        wrong = [] if intent_ok else [f"intent {guess.intent}"]
        if want == "policy" and message.get("policies"):
            wanted = set(message["policies"])
            self._count(style, "hit@1", bool(guess.policies[:1]) and guess.policies[0] in wanted)
            hit3 = bool(wanted & set(guess.policies[:3]))
            self._count(style, "hit@3", hit3)
            self._count(style, "all@3", all_at_3(wanted, guess.policies))
            if not hit3:
                wrong.append(f"policies {list(guess.policies[:3])} want {sorted(wanted)}")
        elif want == "policy":
            said = guess.intent == "policy" and not guess.policies
            self._count(style, "no-fit", said)
            if not said:
                wrong.append(f"offered {list(guess.policies[:3])} where nothing fits")
        elif want == "appeal":
            lead_ok = guess.lead_unit == message["lead_unit"]
            self._count(style, "lead unit", lead_ok)
            self._count(style, "category", guess.category == message["category"])
            self._count(style, "triage", guess.triage)
            self.units[(message["lead_unit"], guess.lead_unit or "-")] += 1
            if intent_ok:
                self.unit_confidence.append((guess.unit_confidence, lead_ok))
            if not lead_ok:
                labelled = f"{message['lead_unit']} ({message['category']})"
                wrong.append(f"unit {guess.lead_unit} ({guess.category}) want {labelled}")
        if wrong:
            self.errors.append(f"{want:8} [{style}] {message['text'][:80]}  ->  " + "; ".join(wrong))

    def rate(self, name: str, counts: Counter[str] | None = None) -> float | None:
        """A figure as a share, or None when nothing was counted."""
        source = self.counts if counts is None else counts
        total = source[name + ".n"]
        return source[name] / total if total else None


def curve(points: list[tuple[float, bool]]) -> list[tuple[float, float, float | None]]:
    """(threshold, share answered, accuracy of those answered) for each threshold."""
    found = []
    for threshold in THRESHOLDS:
        kept = [ok for confidence, ok in points if confidence >= threshold]
        share = len(kept) / len(points) if points else 0.0
        found.append((threshold, share, sum(kept) / len(kept) if kept else None))
    return found


def _cell(value: float | None) -> str:
    return "    -" if value is None else f"{value:5.3f}"


def _headline(results: dict[str, dict[str, Tally]]) -> dict[str, Any]:
    columns = [(variant, split) for variant, splits in results.items() for split in splits]
    print("\n" + f"{'':12}" + "".join(f"{variant + ' ' + split:>18}" for variant, split in columns))
    figures: dict[str, Any] = {}
    for name in HEADLINE:
        values = [results[variant][split].rate(name) for variant, split in columns]
        print(f"{name:12}" + "".join(f"{_cell(value):>18}" for value in values))
        for (variant, split), value in zip(columns, values, strict=True):
            figures.setdefault(variant, {}).setdefault(split, {})[name] = value
    for name in ("hit@3.n", "no-fit.n", "lead unit.n"):
        sizes = [results[variant][split].counts[name] for variant, split in columns]
        print(f"{'n ' + name[:-2]:12}" + "".join(f"{size:>18}" for size in sizes))
    return figures


def _styles(name: str, splits: dict[str, Tally]) -> None:
    print(f"\n{name}: per style " + " | ".join(PER_STYLE))
    for split, tally in splits.items():
        for style in sorted(tally.styles):
            counts = tally.styles[style]
            cells = " ".join(_cell(tally.rate(figure, counts)) for figure in PER_STYLE)
            print(f"  {split:8} {style:12} n={counts['intent.n']:<4} {cells}")


def _confusion(title: str, pairs: Counter[tuple[str, str]], labels: list[str]) -> None:
    print(f"  {title} (rows: labelled, columns: answered)")
    print("  " + " " * 14 + "".join(f"{label[:6]:>8}" for label in labels))
    for row in labels:
        if any(pairs[(row, column)] for column in labels):
            print(f"  {row[:12]:14}" + "".join(f"{pairs[(row, column)]:>8}" for column in labels))


def print_report(results: dict[str, dict[str, Tally]]) -> dict[str, Any]:
    """Print every table; return the headline figures."""
    figures = _headline(results)
    best = results.get("hybrid") or next(iter(results.values()))
    _styles("hybrid" if "hybrid" in results else "first variant", best)
    for split, tally in best.items():
        print(f"\nconfusion ({split})")
        _confusion("intent", tally.intents, list(INTENT_NAMES))
        units = sorted({unit for pair in tally.units for unit in pair})
        _confusion("lead unit", tally.units, units)
        print(f"  coverage vs accuracy ({split}): threshold, share answered, accuracy")
        for label, points in (("intent", tally.confidence), ("unit", tally.unit_confidence)):
            cells = "  ".join(f"{t:.1f}:{share:.2f}/{_cell(accuracy)}" for t, share, accuracy in curve(points))
            print(f"    {label:6} {cells}")
    return figures
