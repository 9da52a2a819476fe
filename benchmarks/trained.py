"""Does a trained classifier, combined with the matcher's scores, beat the matcher alone?

A linear classifier (TF-IDF of word 1-2-grams and character 2-5-grams, `char_wb`; then
scikit-learn's LogisticRegression, or a LinearSVC with calibrated probabilities) learns the
knowledge's own examples, label = entry id (an out-of-scope anchor's examples carry the anchor's
id, as the matcher treats anchors as entries). Per entry, the two are combined:

- `mix`:   (1 - w) * matcher score + w * classifier probability
- `boost`: matcher score * (1 + w * classifier probability)

for each weight w (w = 0 is the matcher alone, to the last bit). The top five combined scores
go through the matcher's own `decide()`, with the small-talk rule of `Matcher.rank`.

Measured as benchmarks/calibrate.py measures the matcher: every example held out once (the same
5 folds); per fold the Matcher and the classifier are built on the same training examples. The
bands are re-fitted per w with calibrate's `best()` (its grid and cost, at most MAX_CLARIFY asked
back), since the combined scores have another scale. Noise: the same figures per fold, the cost
difference to w = 0 per fold, and a paired bootstrap over the held-out examples.

The model trained on all the knowledge is then run, with each w's bands, on the tuning sets
(tune-chat, tune-public, dev, and practice / practice-public, retired to tuning), scored by
`loketbot.understanding.evaluation.evaluate` itself. The held-out practice-2/-3 sets are never
read.

Costs, in fresh processes (peak RSS as VmHWM, and ru_maxrss): fit time per fold and on all the
knowledge, predict time per question, extra memory; and the fit on a generated 2,000-entry
knowledge base (benchmarks/match_kb.py's generator), against its 2-second load budget.

Run: .venv/bin/python benchmarks/trained.py [--models lr svc] [--weights 0 0.1 0.2 0.3 0.5]
     [--kb-entries 2000 | 0 to skip] [--no-cost]
scikit-learn is not a project dependency: `pip install scikit-learn` first.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
from calibrate import (
    ANCHOR_SHARES,
    FOLDS,
    HANDOFF,
    MAX_CLARIFY,
    Result,
    Scored,
    best,
    cost,
    folds,
    measure,
)

from loketbot.content.knowledge import LANGS, Knowledge, load_knowledge
from loketbot.understanding.evaluation import Report, evaluate, read_cases
from loketbot.understanding.matcher import Matcher, Ranking, Thresholds

ROOT = Path(__file__).resolve().parent.parent
WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)  # mix at w = 1: the classifier alone
MODES = ("mix", "boost")
SHIPPED = ("shipped", 0.0)  # the matcher alone at the bands it ships with
# Tuning sets only: practice-2/-3 and practice-public-2/-3 are held out and never opened here.
TUNE_SETS = (
    "tune-chat.jsonl",
    "tune-public.jsonl",
    "dev.jsonl",
    "practice.jsonl",
    "practice-public.jsonl",
)
TOP = 5  # Matcher.rank keeps max(5, max_alternatives) candidates
BOOTSTRAP = 2000


def make_model(name: str, c: float) -> Any:
    """The classifier: TF-IDF of word 1-2-grams and char_wb 2-5-grams, then a linear model."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.svm import LinearSVC

    features = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode"),
        TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, strip_accents="unicode"
        ),
    )
    if name == "lr":
        return make_pipeline(features, LogisticRegression(C=c, max_iter=2000))
    if name == "svc":
        return make_pipeline(features, CalibratedClassifierCV(LinearSVC(), cv=3))
    raise ValueError(name)


def examples(knowledge: Knowledge) -> tuple[list[str], list[int]]:
    """Every example, labelled with its entry's position in knowledge.entries."""
    texts, labels = [], []
    for index, entry in enumerate(knowledge.entries):
        for lang in LANGS:
            texts += entry.examples[lang]
            labels += [index] * len(entry.examples[lang])
    return texts, labels


def fit(knowledge: Knowledge, name: str, c: float) -> tuple[Any, float]:
    """The classifier trained on `knowledge`'s examples, and the seconds it took."""
    texts, labels = examples(knowledge)
    model = make_model(name, c)
    start = time.perf_counter()
    model.fit(texts, labels)
    return model, time.perf_counter() - start


def probabilities(model: Any, texts: Sequence[str], entries: int) -> np.ndarray:
    """(len(texts), entries): each entry's probability; 0 for an entry with no examples."""
    out = np.zeros((len(texts), entries))
    if texts:
        out[:, model.classes_] = model.predict_proba(list(texts))
    return out


@dataclass(frozen=True)
class Raw:
    """One question's matcher scores and classifier probabilities over every entry."""

    expect: str
    text: str
    lang: str
    sure: bool
    values: np.ndarray  # matcher score per entry (0 where no term reaches it)
    first: np.ndarray  # per entry: position of the first term reaching it; `terms` if none
    terms: int
    probs: np.ndarray
    ranking: Ranking  # Matcher.rank's own, to check w = 0 against
    fold: int = -1


def raw_scores(
    matcher: Matcher, model: Any, cases: Sequence[tuple[str, str]], fold: int = -1
) -> list[Raw]:
    """Matcher scores (as Matcher.rank computes them) and probabilities for every case."""
    probs = probabilities(model, [text for text, _ in cases], len(matcher.knowledge.entries))
    out = []
    for (text, expect), p in zip(cases, probs, strict=True):
        ranking = matcher.rank(text)
        terms = [t for t in dict.fromkeys(matcher.analyzer.terms(text)) if not t.isdigit()]
        scores = matcher._score(terms)
        reached = scores.first < len(scores.term_ids)
        values = np.where(reached, scores.values, 0.0)
        out.append(
            Raw(expect, text, ranking.lang, ranking.sure, values, scores.first,
                len(scores.term_ids), p, ranking, fold)
        )  # fmt: skip
    return out


def _top(
    score: np.ndarray, first: np.ndarray, candidates: np.ndarray, skip: Sequence[int] = ()
) -> list[tuple[int, float]]:
    """The TOP best (entry, score); ties in the order reached, then entry order (Scores.ranked)."""
    keep = candidates.copy()
    if skip:
        keep[list(skip)] = False
    entries = np.flatnonzero(keep)
    order = np.lexsort((entries, first[entries], -score[entries]))[:TOP]
    return [(int(e), float(score[e])) for e in entries[order]]


def combine(matcher: Matcher, raw: Raw, mode: str, w: float) -> Scored:
    """The combined ranking of one question, with Matcher.rank's small-talk rule."""
    if mode == "mix":
        score = (1 - w) * raw.values + w * raw.probs
    else:
        score = raw.values * (1 + w * raw.probs)
    candidates = (raw.first < raw.terms) | (score > 0)
    ranked = _top(score, raw.first, candidates)
    t = matcher.thresholds
    if len(raw.text.split()) > t.small_talk_max_words:
        topical = _top(score, raw.first, candidates, sorted(matcher._small_talk))
        closing = bool(ranked) and ranked[0][0] in matcher._thanks and "?" not in raw.text
        if not closing or ranked[0][1] < t.small_talk_lead * (topical or [(0, 0.0)])[0][1]:
            ranked = topical
    if w == 0.0:
        assert ranked == list(raw.ranking.ranked), (raw.text, ranked, raw.ranking.ranked)
    return Scored(raw.expect, replace(raw.ranking, ranked=tuple(ranked)), raw.text)


def outcomes(matcher: Matcher, scored: Sequence[Scored], bands: Thresholds) -> np.ndarray:
    """Per question, calibrate.measure's counts: (out, handled, wrong, in, safe, clarify, top1)."""
    rows = []
    for case in scored:
        match = matcher.decide(case.text, case.ranking, bands)
        confident = match.action in ("answer", "flow", "redirect")
        if case.expect == HANDOFF:
            handled = match.action in ("handoff", "redirect")
            rows.append((1, handled, match.action in ("answer", "flow"), 0, 0, 0, 0))
        else:
            hit = match.intent == case.expect and match.action in ("answer", "flow")
            safe = hit or (match.action == "clarify" and case.expect in match.alternatives)
            clarify = match.action == "clarify"
            rows.append((0, 0, confident and not hit, 1, safe, clarify, hit))
    return np.array(rows, dtype=np.float64)


def costs(sums: np.ndarray) -> np.ndarray:
    """calibrate.cost from outcome counts summed over questions: (..., 7), one per leading index."""
    out_, handled, wrong, in_, safe, clarify, top1 = np.moveaxis(sums, -1, 0)
    result = Result(
        top1 / in_, safe / in_, wrong / (in_ + out_), handled / np.maximum(out_, 1), clarify / in_
    )
    return cast(np.ndarray, cost(result))


def wide_grid() -> list[Thresholds]:
    """calibrate.grid() reaching higher answer, lead and clarify bands (--wide)."""
    return [
        Thresholds(
            answer_above=answer,
            answer_margin=margin,
            clarify_above=clarify,
            offer_share=share,
            anchor_share=anchor,
        )
        for answer, margin, clarify, share, anchor in itertools.product(
            (0.19, 0.22, 0.25, 0.28, 0.31, 0.34, 0.37, 0.40, 0.45, 0.50),
            (0.0, 0.03, 0.06, 0.09, 0.12, 0.15, 0.20),
            (0.09, 0.12, 0.15, 0.17, 0.18, 0.21, 0.24, 0.27, 0.30),
            (0.5, 0.7),
            ANCHOR_SHARES,
        )
        if clarify <= answer
    ]


# --- the grid search, in worker processes (forked: they inherit these) ---
_MATCHER: Matcher | None = None
_SCORED: dict[tuple[str, float], list[Scored]] = {}
_WIDE = False


def _best(key: tuple[str, float]) -> tuple[tuple[str, float], Thresholds, Result]:
    assert _MATCHER is not None
    if not _WIDE:
        bands, result = best(_MATCHER, _SCORED[key])
        return key, bands, result
    # calibrate.best() over the wider grid: the cheapest, asking back at most MAX_CLARIFY
    results = [(bands, measure(_MATCHER, _SCORED[key], bands)) for bands in wide_grid()]
    allowed = [br for br in results if br[1].clarify <= MAX_CLARIFY] or results
    bands, result = min(allowed, key=lambda br: cost(br[1]))
    return key, bands, result


class Decided:
    """Looks like a Matcher to evaluate(): decides the precomputed combined ranking."""

    def __init__(self, matcher: Matcher, scored: Sequence[Scored], bands: Thresholds) -> None:
        self._matcher, self._bands = matcher, bands
        self._scored = {case.text: case for case in scored}

    def match(self, text: str) -> Any:
        case = self._scored[text]
        return self._matcher.decide(text, case.ranking, self._bands)


@dataclass
class ModelRun:
    """Everything measured for one classifier."""

    name: str
    fold_fit_s: list[float]
    full_fit_s: float
    cv: dict[tuple[str, float], tuple[Thresholds, Result]]
    per_fold: dict[tuple[str, float], list[float]]  # cost per fold at the chosen bands
    boot: dict[tuple[str, float], tuple[float, float, float, float]]  # diff mean, lo, hi, P(<0)
    tune: dict[tuple[str, float], dict[str, Report]]


def run_model(
    knowledge: Knowledge, name: str, c: float, weights: Sequence[float], workers: int
) -> ModelRun:
    global _MATCHER
    print(f"\n## {name}: cross-validation ({FOLDS} folds)", flush=True)
    base = Thresholds()
    raws: list[Raw] = []
    fold_fit: list[float] = []
    for fold, (partial, held) in enumerate(folds(knowledge)):
        matcher = Matcher(partial, base)
        model, seconds = fit(partial, name, c)
        fold_fit.append(seconds)
        raws += raw_scores(matcher, model, held, fold)
        print(f"  fold {fold}: fit {seconds:.1f} s, {len(held)} held out", flush=True)
    full = Matcher(knowledge, base)
    keys = [("mix", 0.0)] + [(m, w) for m in MODES for w in weights if w > 0]
    _MATCHER = full  # decide() reads only the entries, the same in every fold
    _SCORED.clear()
    for mode, w in keys:
        _SCORED[(mode, w)] = [combine(full, raw, mode, w) for raw in raws]
    start = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        found = pool.map(_best, keys)
    print(f"  grid search: {time.perf_counter() - start:.0f} s", flush=True)
    cv = {key: (bands, result) for key, bands, result in found}
    _SCORED[SHIPPED] = _SCORED[("mix", 0.0)]
    cv[SHIPPED] = (base, measure(full, _SCORED[SHIPPED], base))
    keys = [SHIPPED, *keys]
    fold_of = np.array([raw.fold for raw in raws])
    rows = {key: outcomes(full, _SCORED[key], cv[key][0]) for key in keys}
    for key in keys:  # outcomes() counts what measure() counts
        assert abs(costs(rows[key].sum(axis=0)) - cost(cv[key][1])) < 1e-9
    per_fold = {
        key: [
            cost(measure(full, [s for s, f in zip(_SCORED[key], fold_of, strict=True) if f == k],
                         cv[key][0]))
            for k in range(FOLDS)
        ]
        for key in keys
    }  # fmt: skip
    # Paired bootstrap: the same resampled questions for every w; counts[b, i] = times drawn.
    rng = np.random.default_rng(0)
    counts = np.stack(
        [np.bincount(rng.integers(0, len(raws), len(raws)), minlength=len(raws))
         for _ in range(BOOTSTRAP)]
    ).astype(np.float64)  # fmt: skip
    zero = costs(counts @ rows[("mix", 0.0)])
    boot = {}
    for key in keys:
        diff = costs(counts @ rows[key]) - zero
        lo, hi = np.percentile(diff, [2.5, 97.5])
        boot[key] = (float(diff.mean()), float(lo), float(hi), float((diff < 0).mean()))

    print(f"## {name}: all the knowledge, on the tuning sets", flush=True)
    model, full_fit = fit(knowledge, name, c)
    tune: dict[tuple[str, float], dict[str, Report]] = {key: {} for key in keys}
    for file in TUNE_SETS:
        cases = read_cases(ROOT / "eval" / file)
        raw = raw_scores(full, model, [(case.text, case.expect) for case in cases])
        for key in keys:
            mode, w = ("mix", 0.0) if key == SHIPPED else key
            scored = [combine(full, r, mode, w) for r in raw]
            decided = cast(Matcher, Decided(full, scored, cv[key][0]))
            tune[key][file] = evaluate(decided, cases)
        # w = 0 at the shipped bands is `make eval`
        assert tune[SHIPPED][file] == evaluate(full, cases)
    return ModelRun(name, fold_fit, full_fit, cv, per_fold, boot, tune)


def report(run: ModelRun, weights: Sequence[float]) -> None:
    keys = [SHIPPED, ("mix", 0.0)] + [(m, w) for m in MODES for w in weights if w > 0]
    names = {SHIPPED: "matcher, shipped bands", ("mix", 0.0): "matcher, CV bands"}
    print(f"\n### {run.name}: cross-validation, bands re-fitted per w (clarify <= {MAX_CLARIFY})")
    print(
        "| combination | w | answer | lead | clarify band | share | anchor | top1 | safe "
        "| wrong | oos | clarify | cost | cost per fold (sd) "
        "| Δcost vs the matcher at CV bands, bootstrap 95% |"
    )
    print("|" + "---|" * 15)
    for key in keys:
        bands, result = run.cv[key]
        fold_costs = run.per_fold[key]
        mean, lo, hi, _ = run.boot[key]
        name = names.get(key, key[0])
        print(
            f"| {name} | {key[1]} | {bands.answer_above} | {bands.answer_margin} "
            f"| {bands.clarify_above} | {bands.offer_share} | {bands.anchor_share} "
            f"| {result.row()} | {cost(result):.3f} "
            f"| {statistics.mean(fold_costs):.3f} ({statistics.stdev(fold_costs):.3f}) "
            f"| {mean:+.3f} [{lo:+.3f}, {hi:+.3f}] |"
        )
    zero = run.per_fold[("mix", 0.0)]
    print("\nper-fold cost difference to w = 0 (negative: the combination is cheaper):")
    for key in keys[2:]:
        diffs = [a - b for a, b in zip(run.per_fold[key], zero, strict=True)]
        print(f"  {key[0]} w={key[1]}: " + " ".join(f"{d:+.3f}" for d in diffs))

    print(f"\n### {run.name}: tuning sets (evaluate(): top1 counts a clarify whose first is right)")
    print(
        "| combination | w | "
        + " | ".join(f"{f} top1/safe/wrong/handoff" for f in TUNE_SETS)
        + " | all five: top1 | not safe | wrong | out-of-scope handled "
        + "| vs shipped: questions gained / lost |"
    )
    print("|" + "---|" * (len(TUNE_SETS) + 7))
    for key in keys:
        cells, top1, unsafe, wrong, handled, ins, outs, gained, lost = [], 0, 0, 0, 0, 0, 0, 0, 0
        for file in TUNE_SETS:
            r = run.tune[key][file]
            cells.append(f"{r.top1:.3f} / {r.safe:.3f} / {r.wrong:.3f} / {r.handoff:.3f}")
            ins, outs = ins + r.in_scope, outs + r.out_of_scope
            top1 += round(r.top1 * r.in_scope)
            unsafe += round((1 - r.safe) * r.in_scope)
            wrong += round(r.wrong * (r.in_scope + r.out_of_scope))
            handled += round(r.handoff * r.out_of_scope)
            # a miss: an in-scope question not top1, or an out-of-scope one not handled
            missed = {(m["text"], m["expect"]) for m in r.misses}
            before = {(m["text"], m["expect"]) for m in run.tune[SHIPPED][file].misses}
            gained, lost = gained + len(before - missed), lost + len(missed - before)
        print(
            f"| {names.get(key, key[0])} | {key[1]} | "
            + " | ".join(cells)
            + f" | {top1}/{ins} | {unsafe} | {wrong}/{ins + outs} | {handled}/{outs} "
            + f"| +{gained} / -{lost} |"
        )


# --- costs, in a fresh process ---


def _peak_mb() -> tuple[float, float]:
    """(VmHWM, ru_maxrss) in MB; VmHWM, as match_kb.py: ru_maxrss carries over through fork."""
    hwm = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) / 1024
    return hwm, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cost_child(knowledge_dir: Path, name: str, c: float) -> int:
    """Print JSON: matcher build, classifier fit and predict times, peak memory at each step."""
    figures: dict[str, Any] = {"start_mb": _peak_mb()}
    start = time.perf_counter()
    knowledge = load_knowledge(knowledge_dir)
    figures["load_s"] = time.perf_counter() - start
    start = time.perf_counter()
    matcher = Matcher(knowledge)
    figures["matcher_s"] = time.perf_counter() - start
    matcher.match("hoe richt ik een stichting op?")
    figures["matcher_mb"] = _peak_mb()
    start = time.perf_counter()
    make_model(name, c)  # imports scikit-learn
    figures["import_s"] = time.perf_counter() - start
    figures["import_mb"] = _peak_mb()
    model, figures["fit_s"] = fit(knowledge, name, c)
    figures["fit_mb"] = _peak_mb()
    figures["examples"] = len(examples(knowledge)[0])
    figures["entries"] = len(knowledge.entries)
    est = model.steps[-1][1]
    inner = getattr(est, "calibrated_classifiers_", None)
    coef = sum(cc.estimator.coef_.size for cc in inner) if inner else est.coef_.size
    figures["coef_mb"] = coef * 8 / 2**20
    figures["features"] = len(model.steps[0][1].get_feature_names_out())
    questions = list(examples(knowledge)[0])
    random.Random(0).shuffle(questions)
    questions = questions[:300]
    if knowledge_dir == ROOT / "knowledge":
        questions = [case.text for f in TUNE_SETS[:3] for case in read_cases(ROOT / "eval" / f)]
    ms = []
    for text in questions:
        start = time.perf_counter()
        model.predict_proba([text])
        ms.append((time.perf_counter() - start) * 1e3)
    figures["predict_ms_p50"] = statistics.median(ms)
    figures["predict_ms_p99"] = sorted(ms)[int(0.99 * (len(ms) - 1))]
    figures["predict_mb"] = _peak_mb()
    print(json.dumps(figures))
    return 0


def measure_cost(knowledge_dir: Path, name: str, c: float, timeout: float) -> dict[str, Any]:
    command = [sys.executable, __file__, "--cost-child", str(knowledge_dir), "--models", name,
               "--C", str(c)]  # fmt: skip
    start = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"timeout": timeout}
    if done.returncode:
        last = (done.stderr.strip().splitlines() or [""])[-1]
        seconds = time.perf_counter() - start
        return {"error": f"exit code {done.returncode} after {seconds:.0f} s {last}".strip()}
    return cast(dict[str, Any], json.loads(done.stdout))


def print_cost(title: str, f: dict[str, Any]) -> None:
    if "timeout" in f or "error" in f:
        print(f"| {title} | " + (f"> {f['timeout']:.0f} s (stopped)" if "timeout" in f
              else f["error"]) + " |||||||||")  # fmt: skip
        return
    base = f["matcher_mb"][0]
    print(
        f"| {title} | {f['entries']} / {f['examples']} / {f['features']} "
        f"| {f['load_s'] + f['matcher_s']:.2f} s "
        f"| {f['import_s']:.2f} s | {f['fit_s']:.2f} s | {f['predict_ms_p50']:.2f} / "
        f"{f['predict_ms_p99']:.2f} ms | {base:.0f} MB | +{f['import_mb'][0] - base:.0f} MB "
        f"| +{f['predict_mb'][0] - f['import_mb'][0]:.0f} MB (coef {f['coef_mb']:.1f} MB) "
        f"| {f['matcher_mb'][1]:.0f} → {f['predict_mb'][1]:.0f} MB |"
    )


def costs_table(models: Sequence[str], c: float, kb_entries: int, timeout: float) -> None:
    print("\n### costs (fresh process per row; peak RSS as VmHWM; ru_maxrss before → after)")
    print(
        "| knowledge, model | entries / examples / features | load + Matcher | import sklearn "
        "| fit "
        "| predict p50 / p99 per question | peak RSS with the matcher | + import | + fit, predict "
        "| ru_maxrss |"
    )
    print("|" + "---|" * 10)
    for name in models:
        print_cost(f"shipped, {name}", measure_cost(ROOT / "knowledge", name, c, timeout))
    if kb_entries:
        from match_kb import generate_topics, write_knowledge

        with tempfile.TemporaryDirectory(prefix="loketbot-trained-") as tmp:
            folder = Path(tmp) / "knowledge"
            write_knowledge(folder, generate_topics(kb_entries, 10, random.Random(0)), 20)
            for name in models:
                f = measure_cost(folder, name, c, timeout)
                print_cost(f"generated {kb_entries}, {name}", f)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--knowledge", type=Path, default=ROOT / "knowledge")
    parser.add_argument("--models", nargs="+", default=["lr", "svc"], choices=["lr", "svc"])
    parser.add_argument("--C", type=float, default=10.0, help="LogisticRegression's C")
    parser.add_argument("--weights", type=float, nargs="+", default=list(WEIGHTS))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kb-entries", type=int, default=2000, help="0: skip the generated KB")
    parser.add_argument("--timeout", type=float, default=900.0, help="per cost process, seconds")
    parser.add_argument("--no-cost", action="store_true")
    parser.add_argument("--wide", action="store_true", help="a wider grid of bands")
    parser.add_argument("--cost-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cost_child:
        return cost_child(args.cost_child, args.models[0], args.C)
    weights = sorted({0.0, *args.weights})
    global _WIDE
    _WIDE = args.wide
    if not args.no_cost:  # first, while this process is small (ru_maxrss carries over)
        costs_table(args.models, args.C, args.kb_entries, args.timeout)
    knowledge = load_knowledge(args.knowledge)
    runs = []
    for name in args.models:
        run = run_model(knowledge, name, args.C, weights, args.workers)
        runs.append(run)
        report(run, weights)
    for run in runs:
        fits = ", ".join(f"{s:.1f}" for s in run.fold_fit_s)
        print(f"\n{run.name}: fit per fold {fits} s; on all the knowledge {run.full_fit_s:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
