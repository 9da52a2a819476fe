"""The matcher routes the way people type: typos, no accents, English, nonsense."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from loketbot.content.knowledge import load_knowledge
from loketbot.understanding.analysis import Analyzer
from loketbot.understanding.letters import without_letter_frame
from loketbot.understanding.matcher import Match, Matcher, Ranking, Thresholds

from .conftest import KNOWLEDGE


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Wat is een stichting?", "legal-form-stichting"),
        ("stigting oprichten", "legal-form-stichting"),  # typo
        ("wat is een cooperatie", "legal-form-cooperatie"),  # no diaeresis
        ("evenementenvergunnig aanvragen", "permit-event"),  # typo in a compound
        ("buurtbbq op straat", "permit-street-party"),  # synonym
        ("Kamer van Koophandel inschrijving", "legal-form-kvk"),  # synonym phrase
        ("How do I register at the chamber of commerce?", "legal-form-kvk"),
        ("hallo", "system-greeting"),
        ("ik wil een echte persoon spreken", "system-human"),
    ],
)
def test_routes_what_people_type(matcher: Matcher, text: str, intent: str) -> None:
    match = matcher.match(text)
    assert match.intent == intent, match
    assert match.action in ("answer", "flow")


def test_a_real_word_the_knowledge_lacks_is_not_corrected_into_another(matcher: Matcher) -> None:
    """'toelichting' (explanation) is one letter-swap from 'oplichting' (fraud), not a typo."""
    match = matcher.match("graag een toelichting op het begrip wijkcoöperatie")
    assert match.intent == "legal-form-wijkcooperatie", match
    assert "oplicht" not in matcher.analyzer.terms("toelichting")


def test_a_real_word_is_not_corrected_into_a_known_one(matcher: Matcher) -> None:
    """An inflection of a known word, or an everyday word, is read as written: "overleggen"
    (consult) was corrected to "overleden" (deceased) and went to the civil registry."""
    match = matcher.match("we willen overleggen met de gemeente over ons plan")
    assert match.action != "redirect", match
    terms = matcher.analyzer.terms
    assert "oplicht" not in terms("we hebben een stichting opgericht")  # not "opgelicht"
    assert "bereken" not in terms("wat betekenen die regels")  # not "berekenen"
    assert terms("buurthius") == terms("buurthuis")  # a typo is still a typo


def test_a_verb_prefix_does_not_split_an_unknown_word(matcher: Matcher) -> None:
    """'vertrouwen' (trust) is no 'ver' + 'trouwen' (marry), nor a typo of 'verbouwen'."""
    terms = matcher.analyzer.terms("we regelen alles op vertrouwen")
    assert "trouw" not in terms and "verbouw" not in terms, terms
    assert "gun" in matcher.analyzer.terms("vergunning")  # a known compound keeps its parts


def test_a_separable_verb_is_read_whole(matcher: Matcher) -> None:
    """Dutch puts a verb's particle last: "hoe hef ik ... op" is "opheffen" (to dissolve),
    not "heffen" (to levy a tax); only within one clause, and only verbs the knowledge has."""
    terms = matcher.analyzer.terms
    joined = terms("hoe hef ik onze stichting op")
    assert "ophef" in joined and "hef" not in joined, joined
    assert "ophef" not in terms("hef de drempel, op naar de stichting")  # two clauses
    match = matcher.match("hoe hef ik onze stichting op, we stoppen ermee")
    assert (match.action, match.intent) == ("answer", "legal-form-stichting"), match


def test_a_compound_written_as_two_words_is_one(matcher: Matcher) -> None:
    """People split compounds ("zon panelen"); the Dutch linking letters come back too."""
    terms = matcher.analyzer.terms
    assert terms("zon panelen") == terms("zonnepanelen")
    assert "gemeentegrond" not in terms("kan de gemeente grond verkopen")  # two known words
    assert terms("de buurt en") == ["_de", "buurt", "_en"]  # function words stay apart
    match = matcher.match("zon panelen op ons dak met de buren, is daar geld voor")
    assert match.intent == "subsidy-energy", match


def test_a_synonym_phrase_may_start_with_a_compound() -> None:
    """A compound's parts are added after it ("stoeptegels" -> "stoep", "tegels"); a synonym
    phrase still reads the words as written, so "stoeptegels weghalen" is its variant."""
    analyzer = Analyzer(
        {"nl": ["tegelwippen", "stoep", "tegels", "stoeptegels", "weghalen", "weg", "halen"]},
        {"tegelwippen": ("stoeptegels weghalen",)},
    )
    assert analyzer.terms("stoeptegels weghalen in de straat")[:1] == ["telwip"]
    # A compound at the end of the phrase keeps its parts, as always.
    assert analyzer.terms("stoeptegels") == ["stoeptegel", "stoep", "tegel"]


def test_a_topic_named_by_its_one_word_title_is_offered_beside_the_leader(
    matcher: Matcher,
) -> None:
    """"Wat houdt de rechtsvorm stichting in?" started the legal-form flow, a choice between
    forms the person did not ask for; the stichting is now offered beside it. Naming two forms
    still starts the flow, and a compound ("wijkcoop") names no "coöperatie"."""
    match = matcher.match("Wat houdt de rechtsvorm stichting in?")
    assert match.action == "clarify", match
    assert "legal-form-stichting" in match.alternatives, match
    both = matcher.match("stichting of vereniging, wat past bij ons")
    assert (both.action, both.intent) == ("flow", "legal-form-compare"), both
    sure = matcher.match("kan onze stichting anbi worden")
    assert (sure.action, sure.intent) == ("answer", "legal-form-anbi"), sure
    coop = matcher.match("zonnepanelen op het dak met onze wijkcoop")
    assert "legal-form-cooperatie" not in coop.alternatives, coop


def test_d_and_t_mixed_up_is_the_word_meant(matcher: Matcher) -> None:
    """Writing "verzekert" for "verzekerd" is the commonest Dutch misspelling; a word the
    knowledge has is left as it is ("gebeurt" and "gebeurd" are both real)."""
    terms = matcher.analyzer.terms
    assert terms("verzekert") == terms("verzekerd")
    assert terms("neemt") == ["neemt"]  # no "neemd" in the knowledge: left alone
    match = matcher.match("is vrijwilliger verzekert als er iets gebeurt")
    assert match.intent == "topic-volunteer-insurance" and match.action == "answer", match


def test_a_dropped_letter_is_no_other_word_by_its_stem(matcher: Matcher) -> None:
    """Snowball stems "gemente" (a dropped letter of "gemeente") to "men", the stem of "mens":
    the question was answered with the request for a person."""
    assert matcher.analyzer.terms("gemente") == matcher.analyzer.terms("gemeente")
    match = matcher.match("ik heb een idee voor de buurt. krijg ik geld van de gemente?")
    assert match.intent != "system-human", match
    assert "subsidy-resident-initiative" in (match.intent, *match.alternatives), match


def test_parking_is_no_park(matcher: Matcher) -> None:
    """The English stemmer makes "parking" "park" (a green space, where events are held)."""
    terms = matcher.analyzer.terms
    assert terms("parking") == terms("parkeren") and terms("parking") != terms("park")
    match = matcher.match("how do I apply for a parking permit")
    assert (match.action, match.intent) == ("redirect", "oos-parking"), match


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        # The UK terms expats and English community pages use for what the knowledge covers.
        (
            "could our group take over the old library through a community asset transfer?",
            "dept-real-estate",
        ),
        ("can we set up a CIC in the Netherlands?", "legal-form-social-enterprise"),
        ("is there a grant-making trust in Rotterdam for neighbourhood projects", "subsidy-funds"),
        ("how do community shares work for a neighbourhood shop", "subsidy-loan"),
    ],
)
def test_uk_community_sector_terms_reach_their_topic(
    matcher: Matcher, text: str, expect: str
) -> None:
    match = matcher.match(text)
    assert match.action in ("answer", "clarify") and match.intent == expect, match


def test_a_diminutive_keeps_the_word_it_shrinks(matcher: Matcher) -> None:
    """Snowball stems 'feestje' to 'fees' and 'plantjes' to 'plan' (a plan): the 't' stays."""
    assert matcher.analyzer.terms("feestje") == matcher.analyzer.terms("feest")
    assert matcher.analyzer.terms("plantjes") == matcher.analyzer.terms("planten")
    assert matcher.analyzer.terms("huisjes") == matcher.analyzer.terms("huis")


def test_ge_is_kept_where_it_is_no_participle(matcher: Matcher) -> None:
    """Snowball drops 'ge' as in 'gemaakt': 'geleden' (ago) is no 'leden' (members), 'gebied'
    (area) no 'bieden' (offer), 'begeleiding' (support) no 'beleid' (policy)."""
    terms = matcher.analyzer.terms
    for word, other in [
        ("geleden", "leden"),
        ("gewoon", "wonen"),
        ("gebied", "bieden"),
        ("begeleiding", "beleid"),
    ]:
        assert set(terms(word)).isdisjoint(terms(other)), (word, other)
    assert terms("gemaakt") == terms("maken")  # a real participle still meets its verb


@pytest.mark.parametrize(
    ("text", "action", "intent"),
    [
        # A group rebuilding its clubhouse is no one's own home ...
        (
            "onze vereniging wil een muur weghalen in het clubgebouw, mag dat zomaar",
            "answer",
            "permit-building-use",
        ),
        # ... one person's own home still is ...
        (
            "ik wil een muur weghalen in mijn huis, mag dat zomaar",
            "redirect",
            "oos-private-building",
        ),
        # ... and an anchor that groups ask too (groups_ask_too) keeps its place.
        ("onze vve wil het dak niet repareren en het lekt", "handoff", None),
    ],
)
def test_a_group_asking_is_not_sent_to_a_personal_matter(
    matcher: Matcher, text: str, action: str, intent: str | None
) -> None:
    match = matcher.match(text)
    assert (match.action, match.intent) == (action, intent), match


@pytest.mark.parametrize("text", ["asdfgh qwerty", "???", "", "🙂🙂🙂", "x" * 10_000])
def test_nonsense_goes_to_a_human(matcher: Matcher, text: str) -> None:
    match = matcher.match(text)
    assert match.action == "handoff"
    assert match.intent is None


def test_personal_municipal_service_is_redirected(matcher: Matcher) -> None:
    """Someone else at the municipality handles it: the anchor says who (issue 11.7)."""
    match = matcher.match("ik moet mijn rijbewijs verlengen, waar doe ik dat")
    assert (match.action, match.intent) == ("redirect", "oos-id-documents")
    assert match.as_dict()["action"] == "redirect"


@pytest.mark.parametrize(
    "text",
    [
        "Wat bedoelt men met het bestuur van een stichting?",  # "men" is no "mens"
        "men zegt dat een vereniging leden moet hebben",
    ],
)
def test_a_function_word_is_not_the_stem_of_a_topic_word(matcher: Matcher, text: str) -> None:
    match = matcher.match(text)
    assert match.intent != "system-human" and match.action != "handoff"
    assert matcher.match("ik wil een mens spreken").intent == "system-human"


def test_detects_language(matcher: Matcher) -> None:
    assert matcher.match("what is a foundation and do we need one").lang == "en"
    assert matcher.match("wat is een stichting en hebben wij die nodig").lang == "nl"
    assert matcher.match("hoi").lang == "nl"  # too short for the detector alone


def test_forced_language_wins(matcher: Matcher) -> None:
    assert matcher.match("wat is een stichting", lang="en").lang == "en"


def test_a_long_message_that_opens_with_a_greeting_is_about_its_question(matcher: Matcher) -> None:
    text = "Goedemorgen! Wij willen met de buurt een straatfeest houden, moet de straat dan dicht?"
    assert matcher.match(text).intent == "permit-street-party"


def test_thanks_behind_a_question_does_not_take_the_question(matcher: Matcher) -> None:
    text = "bedankt, maar hoe lang duurt het aanvragen van een evenementenvergunning?"
    match = matcher.match(text)
    assert (match.action, match.intent) == ("flow", "permit-event")


def test_a_long_thank_you_is_thanked_not_handed_on(matcher: Matcher) -> None:
    match = matcher.match("super bedankt allemaal, hier ga ik zeker iets mee doen")
    assert (match.action, match.intent) == ("answer", "system-thanks")


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        # Understanding now is thanks, though "snap" and "question" are the help entry's words.
        ("dankjewel, nu snap ik het eindelijk helemaal", "system-thanks"),
        ("merci, ik snap het nu wel zo ongeveer", "system-thanks"),
        # Thanks and then "but": the rest is what the message is about.
        ("bedankt, maar ik snap het nog steeds niet", "system-help"),
    ],
)
def test_thanks_for_an_answer_understood_is_thanks(
    matcher: Matcher, text: str, expect: str
) -> None:
    match = matcher.match(text)
    assert (match.action, match.intent) == ("answer", expect), match


def test_a_greeting_that_announces_a_question_is_greeted_back(matcher: Matcher) -> None:
    # Seven words of small talk: the question is still to come. A greeting before a question
    # without a question mark still gives way to it.
    match = matcher.match("hallo. goede morgen. ik heb een vraag")
    assert (match.action, match.intent) == ("answer", "system-greeting"), match
    match = matcher.match("hoi, ik wil weten hoe ik een stichting moet oprichten")
    assert match.intent == "legal-form-stichting", match
    # Asking without a question mark, the topic only plausible (round 64): still the topic.
    match = matcher.match(
        "hoi, wij willen een stichting beginnen voor ons buurtproject, hoe gaat dat"
    )
    assert match.intent == "legal-form-stichting", match


def test_a_greeting_the_knowledge_barely_knows_is_greeted_back(matcher: Matcher) -> None:
    # Only small talk is plausible: a person would greet back, not fetch a colleague.
    match = matcher.match("goeienavond juffrouw")
    assert (match.action, match.intent) == ("answer", "system-greeting")


def test_a_long_question_is_asked_back_where_a_short_one_would_go_to_a_person(
    matcher: Matcher,
) -> None:
    # A long question shares fewer of its words with any one phrasing: its score runs lower.
    long = "Bent u van plan om op de stoep voor uw winkel een rek met boeken neer te zetten?"
    ranking = matcher.rank(long)
    top = ranking.ranked[0][1]
    bands = Thresholds(clarify_above=top / 0.95, answer_above=top / 0.95 + 0.1)
    assert matcher.decide(long, ranking, bands).action == "clarify"
    strict = replace(bands, long_question_floor=1.0)
    assert matcher.decide(long, ranking, strict).action == "handoff"
    short = " ".join(long.split()[: bands.long_question_words])
    assert matcher.decide(short, ranking, bands).action == "handoff"


def test_clarify_lists_close_alternatives(kb_dir: Callable[..., Path]) -> None:
    folder = kb_dir()
    matcher = Matcher(load_knowledge(folder), Thresholds(answer_margin=1.0))
    match = matcher.match("vergunning contactpersoon")
    assert match.action == "clarify"
    assert set(match.alternatives) == {"permit-event", "dept-liaison"}


def test_match_object_has_the_documented_fields(matcher: Matcher) -> None:
    match = matcher.match("subsidie aanvragen voor ons buurtproject")
    assert isinstance(match, Match)
    data = match.as_dict()
    assert set(data) >= {"text", "intent", "score", "action", "alternatives"}
    assert 0 <= match.score <= 100


def test_from_knowledge_is_the_benchmark_entry_point() -> None:
    matcher = Matcher.from_knowledge(KNOWLEDGE)
    assert matcher.match("wat kost inschrijven bij de kvk").intent == "legal-form-kvk"


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loketbot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        cwd=KNOWLEDGE.parent,
    )


def test_match_cli_jsonl_reads_plain_and_json_lines() -> None:
    stdin = 'wat is een stichting\n{"text": "do we need a permit for a street party"}\n\n'
    result = run_cli("match", "--jsonl", stdin=stdin)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["intent"] for r in rows] == ["legal-form-stichting", "permit-street-party"]
    assert set(rows[0]) >= {"text", "intent", "score", "action", "alternatives"}


def test_match_cli_single_question() -> None:
    result = run_cli("match", "geveltuin aanleggen")
    assert json.loads(result.stdout)["intent"] == "permit-greening"


def test_kb_examples_lists_every_example() -> None:
    result = run_cli("kb", "examples")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    knowledge = load_knowledge(KNOWLEDGE)
    expected = sum(len(e.examples["nl"]) + len(e.examples["en"]) for e in knowledge.answerable())
    assert len(rows) == expected
    assert set(rows[0]) == {"id", "text", "lang"}


@pytest.mark.parametrize("text", ["stichting", "buurtfeest", "vergunning", "stichting kosten"])
def test_keywords_never_make_a_language_sure(matcher: Matcher, text: str) -> None:
    """One- and two-word messages keep the conversation's language (Dutch at the start)."""
    assert not matcher.match(text).lang_sure


def test_a_clear_english_sentence_is_sure(matcher: Matcher) -> None:
    match = matcher.match("we want to start a foundation for our community garden, how?")
    assert (match.lang, match.lang_sure) == ("en", True)


def test_an_anchor_close_behind_an_unsure_topic_redirects(matcher: Matcher) -> None:
    ids = [e.id for e in matcher.knowledge.entries]
    topic, other = ids.index("subsidy-application"), ids.index("subsidy-funds")
    anchor = ids.index("oos-benefit-payment")
    assert matcher.knowledge.entries[anchor].answer, "the anchor says who handles it"

    def decide(anchor_score: float) -> tuple[str, str | None]:
        ranked = sorted([(topic, 0.25), (anchor, anchor_score), (other, 0.20)], key=lambda p: -p[1])
        match = matcher.decide("", Ranking(tuple(ranked), "nl", True))
        return match.action, match.intent

    # 0.9 of the unsure top topic: who handles it, not "did you mean a subsidy?"
    assert decide(0.23) == ("redirect", "oos-benefit-payment")
    assert decide(0.21)[0] == "clarify"


def test_a_lone_topic_over_the_line_is_answered_not_handed_off(matcher: Matcher) -> None:
    ids = [e.id for e in matcher.knowledge.entries]
    topic, anchor = ids.index("dept-public-space"), ids.index("oos-household-waste")

    def decide(top: float) -> tuple[str, str | None]:
        # The anchor stays below 0.9 of the topic (it does not win) but within the lead.
        match = matcher.decide("", Ranking(((topic, top), (anchor, top - 0.09)), "nl", True))
        return match.action, match.intent

    # No second topic to offer a choice of: over the answer line it is the answer ...
    assert decide(0.32) == ("answer", "dept-public-space")
    # ... under it, a person (a choice of one is no question).
    assert decide(0.25) == ("handoff", None)


@pytest.mark.parametrize(
    "text",
    [
        # A named official to reach, even with a topic's words in it (evenementenvergunning):
        # they want that official.
        "is meneer bakker van vastgoed bereikbaar? hij zou me terugbellen",
        "Kunt u mevrouw de Groot vragen mij te bellen over de evenementenvergunning?",
        "can you forward this to Mrs. Peters at the wijkraad office?",
        # A weak anchor: 'verlopen' (expired) is all it shares with the passport desk's
        # answer, 'nieuw' and 'straat' all it shares with the answer about moving house.
        "mijn wasmachine is kapot en de garantie is net verlopen",
        "mag ik vuurwerk afsteken met oud en nieuw in mijn straat",
    ],
)
def test_goes_to_a_person_rather_than_an_answer(matcher: Matcher, text: str) -> None:
    match = matcher.match(text)
    assert (match.action, match.intent) == ("handoff", None), match


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # A letter's salutation names nobody; an official named without a wish to reach
        # them leaves the question as it is.
        (
            "Geachte heer/mevrouw, kunt u mij bellen over het oprichten van een stichting?",
            "legal-form-stichting",
        ),
        (
            "Meneer Jansen zei dat we een evenementenvergunning nodig hebben, wat kost die?",
            "permit-event",
        ),
        # The writer introducing themselves ("u spreekt met") wants to reach nobody.
        (
            "goedemiddag, u spreekt met meneer de Wit van de bewonersvereniging, wat is een ANBI",
            "legal-form-anbi",
        ),
        # Asking to be called back after an introduction is asking for a person, not for the
        # named one; an official who speaks somewhere ("spreekt") is not asked for.
        ("u spreekt met mevrouw El Amrani, kunt u mij terugbellen", "system-human"),
        (
            "mevrouw Bakker spreekt op de bewonersavond over het wijkbudget, hoe vraag ik dat aan",
            "subsidy-resident-initiative",
        ),
        # A greeting with an introduction is greeted, however long the name.
        ("Goedemorgen, u spreekt met mevrouw El Amrani.", "system-greeting"),
    ],
)
def test_salutations_and_mentions_are_not_requests_for_a_person(
    matcher: Matcher, text: str, intent: str
) -> None:
    match = matcher.match(text)
    assert match.action != "handoff" and match.intent == intent, match


@pytest.mark.parametrize(
    ("text", "intent", "action"),
    [
        # The signature names the writer's board role: not what the letter asks about.
        (
            "Beste meneer, wij willen een tuin aanleggen op een braakliggend stuk grond naast "
            "de school. Mag dat? Hoogachtend, Ahmed Yilmaz, secretaris Vereniging Groen Zuid",
            "permit-greening",
            "clarify",
        ),
        (
            "Dear Sir or Madam, our residents group wants to organise a street party in June. "
            "What do we need to arrange? Kind regards, the treasurer of Stichting Buurtkracht",
            "permit-street-party",
            "flow",
        ),
    ],
)
def test_a_letters_closing_and_signature_are_not_the_question(
    matcher: Matcher, text: str, intent: str, action: str
) -> None:
    match = matcher.match(text)
    assert (match.action, match.intent) == (action, intent), match
    assert "legal-form-board" not in match.alternatives, match


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        # A postscript that asks something is no signature.
        ("Mag een bbq in het park? Groetjes, en mag er ook muziek bij?", "muziek"),
        # "Beste" opening a question is no salutation.
        ("beste manier om een stichting te starten, en wat kost dat?", "beste manier"),
        # A salutation that names a body tells where the question goes.
        ("Geachte leden van de wijkraad, hoe zetten wij een punt op de agenda?", "wijkraad"),
        # "gr." before a weight is no "Gr., Ans".
        ("mogen we taart met 200 gr. suiker verkopen op de markt", "suiker"),
    ],
)
def test_a_letters_frame_is_cut_only_where_it_is_one(text: str, kept: str) -> None:
    assert kept in without_letter_frame(text)


def test_ones_own_matter_weakly_matched_goes_to_a_person(matcher: Matcher) -> None:
    # Weakly matched, a question about one's own was a personal matter more often than an
    # initiative's: no choice of topics it is not about (Thresholds.own_voice_floor).
    own = "mijn opa zit alleen thuis en zoekt gezelschap"
    ranking = matcher.rank(own)
    floor = matcher.thresholds.own_voice_floor
    assert matcher.thresholds.clarify_above <= ranking.ranked[0][1] < floor
    assert matcher.decide(own, ranking).action == "handoff"
    without = replace(matcher.thresholds, own_voice_floor=0.0)
    assert matcher.decide(own, ranking, without).action == "clarify"
    # The same scores in a group's voice are asked back: a group's question is its initiative's.
    group = "onze groep zoekt gezelschap voor een opa die alleen thuis zit"
    assert matcher.decide(group, ranking).action == "clarify"
    # "mijn" before the people around one names a setting, not one's own matter.
    neighbour = "mijn buurvrouw zit alleen thuis en zoekt gezelschap"
    assert matcher.decide(neighbour, ranking).action == "clarify"
