"""Load time and match latency on a generated knowledge base (default 2,000 entries x 10 examples).

Run: .venv/bin/python benchmarks/match_kb.py [--entries 2000 --examples 10 --questions 500 --seed 0]

Writes a valid knowledge base (the format of knowledge/*.yaml; Dutch-ish text from word lists,
with word frequencies close to the shipped knowledge's) into a temporary folder, then measures:

- load, in fresh processes (imports and caches count): `load_content` (YAML, validation) and
  `Dialogue(...)` (the Matcher's index), as `loketbot serve` does, then the first match; the
  same, and the peak RSS, for the shipped knowledge/ and flows/;
- per-question latency of `Matcher.match` (the per-message cost; `Dialogue.step` on free text,
  the same match plus building the reply, is printed beside it) over paraphrases of the
  examples, typos and unrelated questions, with the word caches cleared before every pass;
- the cost of `Matcher.match` as a ratio to bare rapidfuzz `extractOne` over the same examples.

Targets are on wall-clock time, printed beside each figure; CPU time and the speed of plain
Python on this machine are printed too, to read a run on a busy machine. Exit code 1 when a
target is missed, 2 when the generated knowledge does not validate.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

from loketbot.content.bundle import check_content
from loketbot.content.knowledge import LANGS, Entry, normalise_example
from loketbot.conversation.dialogue import Dialogue
from loketbot.conversation.state import Conversation, Inbound
from loketbot.understanding.matcher import Match

LOAD_TARGET_S = 2.0
P99_TARGET_MS = 20.0
RATIO_TARGET = 3.0
ROOT = Path(__file__).resolve().parent.parent


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


NOUNS = _words(
    """
buurt tuin huis school kerk markt plein park straat haven fiets auto boot brug water groen
energie zon warmte wind afval kleding voedsel maaltijd koffie muziek dans sport voetbal
zwembad boek atelier werkplaats kantine keuken bakkerij winkel kraam podium tent bank
fonds lening huur woning flat kamer gebouw dak gevel kelder zolder schuur loods speel moes
boom bloem vogel hond vijver kade dijk stoep laad paal lamp licht stroom kabel internet
computer taal les cursus training coach vrijwilliger bewoner jongere oudere kind ouder
zorg gezondheid wijk dorp stad eiland gemeenschap ontmoeting feest festival concert film
theater kunst verf hout metaal reparatie naai fitness yoga schaak bridge koor orkest
radio krant website folder affiche poster sticker bord hek container bak compost regen
dakgoot isolatie glas deur raam vloer trap lift rolstoel scootmobiel bus tram metro
"""
)
VERBS = _words(
    """
aanvragen regelen organiseren opzetten starten betalen financieren huren kopen bouwen
verbouwen openen melden inschrijven verzekeren onderhouden beheren delen verkopen
uitbreiden verhuizen plaatsen ophalen aanleggen vernieuwen verduurzamen plannen
"""
)
ADJECTIVES = _words(
    """
klein groot nieuw tijdelijk duurzaam gezamenlijk openbaar gratis jaarlijks wekelijks
lokaal sociaal veilig goedkoop extra eigen gedeeld mobiel overdekt zelfgebouwd
"""
)
PLACES = _words(
    """
delfshaven charlois feijenoord kralingen hillegersberg ijsselmonde overschie hoogvliet
pernis rozenburg crooswijk afrikaanderwijk katendrecht tarwewijk bospolder spangen
blijdorp ommoord zevenkamp lombardijen bloemhof hillesluis oosterflank schiebroek
"""
)
CONTEXT = _words(
    """
aanvraag formulier termijn kosten regels voorwaarden toestemming budget planning eigenaar
huurder verhuurder buren leden bestuur vergadering contract offerte factuur btw verzekering
aansprakelijkheid veiligheid brandweer politie wijkagent geluid parkeren afvalbak stroomkast
watertap toilet ehbo vergunninghouder beheerder sleutel openingstijden rooster vrijwilligers
begroting sponsor donatie crowdfunding lening garantie aflossing rente subsidiepot eigen
bijdrage jaarrekening verslag evaluatie resultaten bereik deelnemers doelgroep wachtlijst
inschrijving loting kosteloos tarief korting pas bewijs verklaring uittreksel handtekening
machtiging notaris statuten reglement huisregels gedragscode privacy gegevens fotos
website nieuwsbrief flyer aankondiging omwonenden klachten overlast bezwaar beroep
uitspraak hoorzitting inspraak raadslid wethouder ambtenaar loket afspraak telefoonnummer
mailadres formulieren bijlage tekening plattegrond situatieschets maatvoering hoogte
breedte oppervlakte grond eigendom erfpacht bestemmingsplan omgevingsplan monument
boomkap groenstrook speelplek bankje picknicktafel fietsenrek laadpaal zonnepaneel
warmtepomp isolatiepakket energierekening meterkast aansluiting netbeheerder leverancier
"""
)
GROUPS = _words(
    """
stichting vereniging bewonersgroep cooperatie buurtvereniging huurdersvereniging
wijkcooperatie bewonerscommissie initiatiefgroep energiecooperatie
"""
)
KINDS = ("legal_form", "permit", "subsidy", "procurement", "topic")
# Slots: {c} the entry's compound ({m}+{h}), {s} a second noun, {d} a second compound,
# {v} verb, {a} adjective, {x} a context word, {g} a kind of group, {p} place, {n} a number.
TEMPLATES = (
    "hoe kan ik een {c} {v}",
    "{c} {v} in {p}",
    "wat kost {c} voor onze {g}",
    "wij willen {c} {v} bij de {s}, wat moeten we regelen",
    "mag ik zonder toestemming {c} {v}",
    "wie gaat over {c} bij de gemeente",
    "informatie over {a} {c}",
    "is er subsidie voor {c} met {x}",
    "onze {g} wil {c} {v} in {p}, waar begin ik",
    "{c} nodig?",
    "hoe lang duurt het om {c} te {v}",
    "welke regels gelden voor {h} bij {s}",
    "vraag over {s} en {c}",
    "kunnen we met de buren samen {a} {h} {v}",
    "voorwaarden {c} {p}",
    "stappen voor {c} in {p}",
    "{m} {h} {p}",
    "moet ik {c} melden",
    "goedemiddag, namens de {g} in {p} wil ik weten hoe het zit met {x} bij {c}",
    "kan de gemeente helpen met {x} voor {c}",
    "tips om {c} te {v}",
    "groep bewoners wil {c}, wat nu",
    "verschil tussen {c} en {d}",
    "hoeveel mensen mogen er in {c}",
    "wat gebeurt er zonder {c}",
    "is {c} verplicht voor {s}",
    "ik wil een {a} {c} beginnen in {p}",
    "wie betaalt {x} van {c}",
    "kosten {c} {x}",
    "{c} of {d}, wat past bij ons",
    "hallo, ik heb een vraag over {x} en {c}",
    "waar moet ik zijn voor {c}",
    "{a} {c} met {n} deelnemers",
    "we hebben {n} euro nodig voor {c}",
    "{x} rond {c} regelen",
    "klopt het dat {c} {a} moet zijn",
    "welk formulier voor {c}",
    "ik zoek hulp bij {c} voor de {g}",
    "{c} in de buurt {v}",
    "help, {c} {v} lukt niet",
    "vanaf wanneer mag {c}",
    "contactpersoon voor {c} in {p}",
)
UNRELATED = (
    "wat is het recept voor {x}",
    "what is the best recipe for {x}",
    "waar kan ik goedkoop {x} kopen",
    "how do I fix my {x}",
    "hoe laat gaat de {x} open",
    "kun je me iets vertellen over {x}",
    "my {x} is broken, can you help",
    "wie heeft de {x} uitgevonden",
    "is {x} gezond",
    "where can I watch {x} tonight",
)
UNRELATED_WORDS = _words(
    """
appeltaart pannenkoeken laptop telefoon wasmachine tandarts paspoort vakantie griep
kapper sushi voetbalwedstrijd horoscoop lottery weather printer koelkast verjaardag
tennisracket aardbeien netflix playstation spijkerbroek rijbewijs olympische dinosaurus
"""
)


@dataclass(frozen=True)
class Topic:
    """What one generated entry is about; fills the templates."""

    id: str
    kind: str
    slots: dict[str, str]
    templates: tuple[int, ...]


def generate_topics(entries: int, examples: int, rng: random.Random) -> list[Topic]:
    """`entries` topics with distinct compounds, each using `examples` of the templates."""
    compounds = [(m, h) for m in NOUNS for h in NOUNS if m != h]
    if entries > len(compounds):
        raise SystemExit(f"at most {len(compounds)} entries")
    if examples > len(TEMPLATES):
        raise SystemExit(f"at most {len(TEMPLATES)} examples per entry")
    topics = []
    seen: set[str] = set()
    for number, (m, h) in enumerate(rng.sample(compounds, entries)):
        other = rng.choice(compounds)
        slots = {
            "c": m + h,
            "m": m,
            "h": h,
            "s": rng.choice([n for n in NOUNS if n not in (m, h)]),
            "d": "".join(other),
            "v": rng.choice(VERBS),
            "a": rng.choice(ADJECTIVES),
            "x": rng.choice(CONTEXT),
            "g": rng.choice(GROUPS),
            "p": rng.choice(PLACES),
            "n": str(rng.choice((20, 50, 80, 150, 300, 500, 1000, 2500))),
        }
        kind = "department" if number < 10 else KINDS[number % len(KINDS)]
        entry_id = f"{'dept' if kind == 'department' else 'gen'}-{number:04d}-{m}{h}"
        picked: list[int] = []
        for index in rng.sample(range(len(TEMPLATES)), len(TEMPLATES)):
            key = normalise_example(fill(TEMPLATES[index], slots))
            if key not in seen:  # the same words as another topic's example: take another
                seen.add(key)
                picked.append(index)
            if len(picked) == examples:
                break
        topics.append(Topic(entry_id, kind, slots, tuple(picked)))
    return topics


def fill(template: str, slots: dict[str, str]) -> str:
    """A template with the topic's words in it."""
    return template.format(**slots)


def write_knowledge(folder: Path, topics: Sequence[Topic], files: int) -> int:
    """Write the topics as knowledge/*.yaml files; returns the number of examples written."""
    folder.mkdir(parents=True, exist_ok=True)
    departments = [t.id for t in topics if t.kind == "department"]
    chunks: list[list[str]] = [[] for _ in range(files)]
    for number, topic in enumerate(topics):
        department = departments[number % len(departments)] if departments else None
        chunks[number % files].extend(_entry_yaml(topic, department))
    for number, chunk in enumerate(chunks):
        header = f"# generated by benchmarks/match_kb.py: part {number + 1} of {files}\nentries:\n"
        (folder / f"generated-{number:02d}.yaml").write_text(
            header + "\n".join(chunk) + "\n", encoding="utf-8"
        )
    (folder / "synonyms.yaml").write_text(
        "# generated: a few spelling variants\n"
        "vergunning: [vergunnig, permit]\n"
        "vrijwilliger: [vrijwillger, volunteer]\n"
        "gemeente: [gemeentes, municipality]\n",
        encoding="utf-8",
    )
    return sum(len(topic.templates) for topic in topics)


def _entry_yaml(topic: Topic, department: str | None) -> list[str]:
    slots = topic.slots
    title = f"{slots['c']} en {slots['s']}".capitalize()
    lines = [
        f"  - id: {topic.id}",
        f"    kind: {topic.kind}",
        f"    title: {{nl: {title}}}",
        "    keywords:",
        f"      nl: [{slots['c']}, {slots['s']}, {slots['a']} {slots['h']}]",
        "    examples:",
        "      nl:",
    ]
    lines += [f"        - {fill(TEMPLATES[index], slots)}" for index in topic.templates]
    lines += [
        "    answer:",
        "      nl: |",
        f"        Een {slots['c']} {slots['v']} doe je bij de gemeente. Kijk eerst of er regels "
        f"gelden voor {slots['s']} in {slots['p']}.",
        "",
        f"        Volgende stap: vraag een {slots['a']} {slots['h']} aan op rotterdam.nl.",
        "    links:",
        '      - {title: "Gemeente Rotterdam", url: "https://www.rotterdam.nl/"}',
    ]
    if topic.kind != "department" and department:
        lines.append(f"    department: {department}")
    lines += ["    reviewed: 2026-11-23", ""]
    return lines


@dataclass(frozen=True)
class Question:
    """One benchmark question and what it is."""

    text: str
    kind: str  # paraphrase | typo | unrelated
    expect: str | None


def generate_questions(topics: Sequence[Topic], count: int, rng: random.Random) -> list[Question]:
    """Half paraphrases (templates the entry does not use), 30% typos, 20% unrelated."""
    questions = []
    for number in range(count):
        share = number % 10
        topic = rng.choice(topics)
        if share < 5:
            unused = [i for i in range(len(TEMPLATES)) if i not in topic.templates]
            slots = dict(topic.slots, p=rng.choice(PLACES))
            template = TEMPLATES[rng.choice(unused or list(topic.templates))]
            questions.append(Question(fill(template, slots), "paraphrase", topic.id))
        elif share < 8:
            text = fill(TEMPLATES[rng.choice(topic.templates)], topic.slots)
            questions.append(Question(typo(text, rng), "typo", topic.id))
        else:
            text = rng.choice(UNRELATED).format(x=rng.choice(UNRELATED_WORDS))
            questions.append(Question(text, "unrelated", None))
    rng.shuffle(questions)
    return questions


def typo(text: str, rng: random.Random) -> str:
    """`text` with one letter dropped, doubled or swapped in one of its longer words."""
    words = text.split()
    long_words = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha()]
    if not long_words:
        return text
    i = rng.choice(long_words)
    word, at = words[i], rng.randrange(1, len(words[i]) - 1)
    edit = rng.randrange(3)
    if edit == 0:
        word = word[:at] + word[at + 1 :]
    elif edit == 1:
        word = word[:at] + word[at] + word[at:]
    else:
        word = word[: at - 1] + word[at] + word[at - 1] + word[at + 1 :]
    words[i] = word
    return " ".join(words)


LOAD_SCRIPT = r"""
import json, sys, time
from pathlib import Path

def peak_mb():
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent through fork and exec.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

marks = [("start", time.perf_counter(), time.process_time(), 0.0)]
def mark(name):
    marks.append((name, time.perf_counter(), time.process_time(), peak_mb()))

from loketbot.content.bundle import load_content
from loketbot.conversation.dialogue import Dialogue
mark("import")
content = load_content(sys.argv[1], sys.argv[2])
mark("content")
dialogue = Dialogue(content.knowledge, flows=content.flows)
mark("dialogue")
dialogue.matcher.match(sys.argv[3])
mark("first_match")
figures = {}
for (_, wall0, cpu0, _), (name, wall, cpu, rss) in zip(marks, marks[1:]):
    figures[name] = wall - wall0
    figures[name + "_cpu"] = cpu - cpu0
    figures[name + "_rss"] = rss
print(json.dumps(figures))
"""


def measure_load(knowledge: Path, flows: Path, question: str) -> dict[str, float]:
    """One fresh process: import, load_content, Dialogue, first match (seconds, peak RSS in MB)."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT, str(knowledge), str(flows), question],
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, float] = json.loads(done.stdout)
    figures["process"] = time.perf_counter() - start
    for suffix in ("", "_cpu"):
        figures["load" + suffix] = figures["content" + suffix] + figures["dialogue" + suffix]
        figures["import_load" + suffix] = figures["import" + suffix] + figures["load" + suffix]
    return figures


@dataclass
class Timings:
    """Per-question wall-clock and CPU milliseconds."""

    wall: list[float]
    cpu: list[float]


def latencies(
    step: Callable[[str], object], questions: Sequence[Question], clear: Callable[[], None]
) -> Timings:
    """Milliseconds per question for `step(text)`, word caches cleared first."""
    clear()
    timings = Timings([], [])
    for q in questions:
        wall, cpu = time.perf_counter(), time.thread_time()
        step(q.text)
        timings.cpu.append((time.thread_time() - cpu) * 1e3)
        timings.wall.append((time.perf_counter() - wall) * 1e3)
    return timings


def percentile(values: Sequence[float], p: int) -> float:
    """The p-th percentile (inclusive method)."""
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def machine() -> str:
    """Python, cores, platform, load average and plain-Python speed: timings depend on all."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    counts: dict[int, int] = defaultdict(int)
    start = time.thread_time()
    for i in range(200_000):
        counts[i & 1023] += 1
    loop_ns = (time.thread_time() - start) / 200_000 * 1e9
    return (
        f"python {platform.python_version()} ({platform.python_implementation()}), "
        f"{os.cpu_count()} cpus, {platform.platform()}\n"
        f"load average {load}; plain Python: {loop_ns:.0f} ns CPU per dict increment "
        "(the timings below scale with it: compare runs by it)"
    )


def mark(ok: bool) -> str:
    """ok or MISSED."""
    return "ok" if ok else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--examples", type=int, default=10, help="Dutch examples per entry (>= 8)")
    parser.add_argument("--questions", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--files", type=int, default=20, help="split the entries over N files")
    parser.add_argument("--runs", type=int, default=3, help="fresh processes timing the load")
    parser.add_argument("--passes", type=int, default=3, help="passes over the questions")
    parser.add_argument(
        "--ratio-questions", type=int, default=100, help="questions for the extractOne ratio"
    )
    parser.add_argument(
        "--keep", type=Path, help="write the knowledge into this new or empty folder and keep it"
    )
    args = parser.parse_args()
    if args.keep is not None and args.keep.exists() and any(args.keep.iterdir()):
        parser.error(f"--keep {args.keep}: the folder is not empty")

    rng = random.Random(args.seed)
    topics = generate_topics(args.entries, args.examples, rng)
    questions = generate_questions(topics, args.questions, rng)
    with tempfile.TemporaryDirectory(prefix="loketbot-bench-") as tmp:
        knowledge = args.keep or Path(tmp) / "knowledge"
        flows = Path(tmp) / "flows"
        flows.mkdir()
        examples = write_knowledge(knowledge, topics, args.files)
        content, problems = check_content(knowledge, flows)
        if content is None:
            for problem in problems[:20]:
                print(problem, file=sys.stderr)
            print(f"{len(problems)} problem(s) in the generated knowledge", file=sys.stderr)
            return 2
        size = sum(p.stat().st_size for p in knowledge.glob("*.yaml"))
        print(machine())
        print(
            f"knowledge: {len(content.knowledge.entries)} entries, {examples} examples, "
            f"{args.files} files, {size / 1e6:.1f} MB (seed {args.seed}); "
            f"questions: {len(questions)} ({_mix(questions)})"
        )
        runs = [measure_load(knowledge, flows, questions[0].text) for _ in range(args.runs)]
        shipped = [
            measure_load(ROOT / "knowledge", ROOT / "flows", "hoe richt ik een stichting op?")
            for _ in range(args.runs)
        ]

        dialogue = Dialogue(content.knowledge, flows=content.flows)
        matcher = dialogue.matcher
        matcher.match(questions[0].text)  # the language models load on the first detection
        conv = Conversation()
        match_ms: list[Timings] = []
        step_ms: list[Timings] = []
        for _ in range(args.passes):
            match_ms.append(latencies(matcher.match, questions, matcher.analyzer.clear_caches))
            step_ms.append(
                latencies(
                    lambda text: dialogue.step(conv, Inbound(text=text)),
                    questions,
                    matcher.analyzer.clear_caches,
                )
            )
        ratio_questions = questions[: args.ratio_questions]
        bare_ms = _bare_ms(content.knowledge.entries, ratio_questions)
        ours_ms = statistics.mean(
            latencies(matcher.match, ratio_questions, matcher.analyzer.clear_caches).wall
        )
        quality = _quality(matcher.match, questions)

    load = statistics.median(r["load"] for r in runs)
    p99 = statistics.median(percentile(t.wall, 99) for t in match_ms)
    ratio = ours_ms / bare_ms
    print()
    _print_load("generated knowledge", runs)
    print(
        f"  load only, median of runs: {load:.2f} s   target < {LOAD_TARGET_S:g} s: "
        f"{mark(load < LOAD_TARGET_S)}"
    )
    print()
    _print_load("shipped knowledge/ and flows/", shipped)
    first = statistics.median(r["first_match_rss"] - r["dialogue_rss"] for r in shipped)
    print(f"  of which the first match adds: {first:.0f} MB")
    print()
    print("latency per question, ms (word caches cleared before each pass)")
    print("  pass   Matcher.match p50 / p99 / max (CPU p50 / p99)   Dialogue.step p50 / p99 / max")
    for number, (ours, step) in enumerate(zip(match_ms, step_ms, strict=True), 1):
        print(
            f"  {number:<6} {_spread(ours.wall)} ({percentile(ours.cpu, 50):5.2f} / "
            f"{percentile(ours.cpu, 99):5.2f})         {_spread(step.wall)}"
        )
    print(
        f"  Matcher.match p99, median of passes: {p99:.2f} ms   target < {P99_TARGET_MS:g} ms: "
        f"{mark(p99 < P99_TARGET_MS)}"
    )
    print()
    print(f"ratio over {len(ratio_questions)} questions and {examples} examples:")
    print(f"  bare extractOne(WRatio) {bare_ms:.2f} ms/question, Matcher.match {ours_ms:.2f}")
    print(f"  ratio {ratio:.2f}x   target <= {RATIO_TARGET:g}x: {mark(ratio <= RATIO_TARGET)}")
    print()
    print("sanity (not a target): " + quality)
    missed = load >= LOAD_TARGET_S or p99 >= P99_TARGET_MS or ratio > RATIO_TARGET
    return 1 if missed else 0


def _print_load(title: str, runs: Sequence[dict[str, float]]) -> None:
    print(f"{title}: load in a fresh process, seconds wall (CPU)")
    print(f"  {'':<34}" + "".join(f"{f'run {i + 1}':<15}" for i in range(len(runs))))
    for key, label in (
        ("import", "import loketbot"),
        ("content", "load_content (YAML, checks)"),
        ("dialogue", "Dialogue (Matcher index)"),
        ("load", "load only: the two above"),
        ("import_load", "import + load"),
        ("first_match", "first match"),
    ):
        print(
            f"  {label:<34}" + "".join(f"{r[key]:5.2f} ({r[key + '_cpu']:4.2f})   " for r in runs)
        )
    print(
        f"  {'whole process, interpreter too':<34}"
        + "".join(f"{r['process']:5.2f}          " for r in runs)
    )
    print("  peak RSS (VmHWM), MB")
    for key, label in (
        ("import_rss", "after imports"),
        ("dialogue_rss", "after load"),
        ("first_match_rss", "after the first match"),
    ):
        print(f"  {label:<34}" + "".join(f"{r[key]:5.0f}          " for r in runs))


def _spread(ms: Sequence[float]) -> str:
    return f"{percentile(ms, 50):6.2f} / {percentile(ms, 99):6.2f} / {max(ms):6.2f}"


def _mix(questions: Sequence[Question]) -> str:
    kinds = [q.kind for q in questions]
    return ", ".join(f"{kinds.count(k)} {k}" for k in ("paraphrase", "typo", "unrelated"))


def _bare_ms(entries: Sequence[Entry], questions: Sequence[Question]) -> float:
    texts = [text for entry in entries for lang in LANGS for text in entry.examples[lang]]
    process.extractOne(questions[0].text, texts, scorer=fuzz.WRatio)
    start = time.perf_counter()
    for q in questions:
        process.extractOne(q.text, texts, scorer=fuzz.WRatio)
    return (time.perf_counter() - start) * 1e3 / len(questions)


def _quality(match: Callable[[str], Match], questions: Sequence[Question]) -> str:
    """How often the right entry is the answer (or among the clarify options), per kind."""
    parts = []
    for kind in ("paraphrase", "typo"):
        chosen = [q for q in questions if q.kind == kind]
        hits = 0
        for q in chosen:
            m = match(q.text)
            hits += m.intent == q.expect or q.expect in m.alternatives
        parts.append(f"{kind} found {hits / max(len(chosen), 1):.2f}")
    unrelated = [q for q in questions if q.kind == "unrelated"]
    handed = sum(match(q.text).action == "handoff" for q in unrelated)
    parts.append(f"unrelated handed off {handed / max(len(unrelated), 1):.2f}")
    return ", ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
