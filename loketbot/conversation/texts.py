"""What the bot says, in plain Dutch (B1) and English; keyed by message name."""

from __future__ import annotations

__all__ = ["KIND_LABELS", "say"]

_TEXTS: dict[str, dict[str, str]] = {
    "welcome": {
        "nl": (
            "Welkom bij loketbot! Ik help bewonersinitiatieven, wijkcoöperaties en sociale "
            "ondernemers in Rotterdam op weg bij de gemeente.\n\n"
            "Stel je vraag in je eigen woorden, bijvoorbeeld: 'Moet ik een vergunning hebben "
            "voor een buurtfeest?' of 'Wat is het verschil tussen een stichting en een "
            "coöperatie?'. Of kies een onderwerp met /menu.\n\n"
            "Weet ik het niet, dan vraag ik een verbindingsofficier van de gemeente. "
            "Typ /mens als je meteen een mens wilt spreken.\n\n"
            "Privacy: we bewaren je berichten om je vraag te beantwoorden en de bot te "
            "verbeteren. Alleen medewerkers van de gemeente kunnen ze lezen. Typ /privacy "
            "om te lezen wat we bewaren en hoe lang, of /vergeet om het te laten verwijderen."
        ),
        "en": (
            "Welcome to loketbot! I help resident initiatives, neighbourhood cooperatives and "
            "social entrepreneurs in Rotterdam find their way in the municipality.\n\n"
            "Ask your question in your own words, for example: 'Do we need a permit for a street "
            "party?' or 'What is the difference between a stichting and a cooperative?'. Or pick "
            "a topic with /menu.\n\n"
            "If I don't know, I ask a liaison officer of the municipality. Type /mens to talk to "
            "a person right away.\n\n"
            "Privacy: we keep your messages to answer your question and improve the bot. Only "
            "municipal staff can read them. Type /privacy to read what we keep and for how "
            "long, or /vergeet to have it deleted."
        ),
    },
    "help": {
        "nl": (
            "Zo werkt het:\n"
            "- Typ je vraag gewoon in gewone woorden.\n"
            "- /menu: kies een onderwerp met knoppen.\n"
            "- /mens: stel je vraag aan een verbindingsofficier.\n"
            "- /opnieuw: begin opnieuw.\n"
            "- /taal: kies Nederlands of English.\n"
            "- /privacy: wat we bewaren en hoe lang.\n"
            "- /vergeet: verwijder je berichten en gegevens."
        ),
        "en": (
            "How it works:\n"
            "- Just type your question in your own words.\n"
            "- /menu: pick a topic with buttons.\n"
            "- /mens: ask a liaison officer.\n"
            "- /opnieuw: start again.\n"
            "- /taal: choose Nederlands or English.\n"
            "- /privacy: what we keep and for how long.\n"
            "- /vergeet: delete your messages and data."
        ),
    },
    "menu": {"nl": "Waar gaat je vraag over?", "en": "What is your question about?"},
    "menu_kind": {"nl": "Kies een onderwerp:", "en": "Pick a topic:"},
    "human_button": {"nl": "Vraag aan een mens", "en": "Ask a person"},
    "reset": {
        "nl": "We beginnen opnieuw. Wat wil je weten?",
        "en": "Let's start again. What would you like to know?",
    },
    "lang_set": {
        "nl": "Ik praat nu Nederlands met je.",
        "en": "I will talk to you in English now.",
    },
    "lang_ask": {"nl": "Welke taal wil je?", "en": "Which language would you like?"},
    "unknown_command": {
        "nl": "Dat commando ken ik niet. Typ /help voor wat ik kan.",
        "en": "I don't know that command. Type /help to see what I can do.",
    },
    "text_only": {
        "nl": "Ik kan alleen tekst lezen. Typ je vraag in een bericht.",
        "en": "I can only read text. Please type your question.",
    },
    "clarify": {
        "nl": "Bedoel je een van deze onderwerpen?",
        "en": "Do you mean one of these topics?",
    },
    "clarify_one": {
        "nl": "Bedoel je dit onderwerp?",
        "en": "Do you mean this topic?",
    },
    "none_of_these": {
        "nl": "Iets anders: vraag het een mens",
        "en": "Something else: ask a person",
    },
    "also_asked": {
        "nl": "Je vroeg ook iets over: {title}. Tik hieronder voor dat antwoord.",
        "en": "You also asked about: {title}. Tap below for that answer.",
    },
    "redirect_close": {
        "nl": "Ging je vraag toch over {title}? Tik dan hieronder.",
        "en": "Was your question about {title} after all? Then tap below.",
    },
    "redirect_officer": {
        "nl": "Toch een verbindingsofficier vragen",
        "en": "Ask a liaison officer anyway",
    },
    "more_info": {"nl": "Meer informatie", "en": "More information"},
    "department": {"nl": "Afdeling", "en": "Department"},
    "helped": {"nl": "👍 Dit hielp", "en": "👍 This helped"},
    "not_helped": {"nl": "👎 Dit hielp niet", "en": "👎 This did not help"},
    "thanks_feedback": {
        "nl": "Fijn dat het hielp! Je kunt altijd een nieuwe vraag stellen.",
        "en": "Glad it helped! You can ask another question any time.",
    },
    "offer_handoff": {
        "nl": (
            "Hier heb ik geen goed antwoord op. Zal ik je vraag doorsturen naar een "
            "verbindingsofficier van de gemeente? Je krijgt dan hier in deze chat antwoord."
        ),
        "en": (
            "I don't have a good answer to this. Shall I pass your question to a liaison officer "
            "of the municipality? You will get the answer here in this chat."
        ),
    },
    "offer_after_feedback": {
        "nl": (
            "Jammer dat dit niet hielp. Zal ik je vraag doorsturen naar een verbindingsofficier "
            "van de gemeente? Je krijgt dan hier in deze chat antwoord."
        ),
        "en": (
            "Sorry that didn't help. Shall I pass your question to a liaison officer of the "
            "municipality? You will get the answer here in this chat."
        ),
    },
    "handoff_yes": {"nl": "Ja, stuur door", "en": "Yes, pass it on"},
    "handoff_no": {"nl": "Nee, ik vraag het anders", "en": "No, I'll rephrase"},
    "ask_question": {
        "nl": "Wat is je vraag? Typ hem in één bericht, dan stuur ik hem door.",
        "en": "What is your question? Type it in one message and I will pass it on.",
    },
    "ask_context": {
        "nl": (
            "Wil je nog iets toevoegen? Bijvoorbeeld in welke wijk je initiatief zit, hoe het "
            "heet, of wat je al geprobeerd hebt. Typ het hier, of tik op 'Niets toevoegen'."
        ),
        "en": (
            "Anything to add? For example the neighbourhood of your initiative, its name, or "
            "what you already tried. Type it here, or tap 'Nothing to add'."
        ),
    },
    "forwarding": {
        "nl": 'Ik stuur deze vraag door: "{question}"',
        "en": 'I will pass on this question: "{question}"',
    },
    "no_context": {"nl": "Niets toevoegen", "en": "Nothing to add"},
    "cancel": {"nl": "Annuleren", "en": "Cancel"},
    "handoff_done": {
        "nl": (
            "Dank je. Je vraag staat klaar voor een verbindingsofficier. Je krijgt het antwoord "
            "hier in deze chat. Je hoeft je verhaal niet opnieuw te vertellen."
        ),
        "en": (
            "Thank you. Your question is waiting for a liaison officer. You will get the answer "
            "here in this chat; no need to tell your story again."
        ),
    },
    "expected_answer": {
        "nl": "Meestal krijg je antwoord binnen {when}.",
        "en": "You usually get an answer within {when}.",
    },
    "ticket": {"nl": "Je ticketnummer is {ticket}.", "en": "Your ticket number is {ticket}."},
    "handoff_cancelled": {
        "nl": "Oké. Stel je vraag gerust op een andere manier, of kies een onderwerp met /menu.",
        "en": "Okay. Feel free to ask in another way, or pick a topic with /menu.",
    },
    "stale_button": {
        "nl": "Deze knop hoort bij een eerder gesprek. Stel je vraag opnieuw of kies /menu.",
        "en": "This button belongs to an earlier conversation. Ask again or choose /menu.",
    },
    "followup_added": {
        "nl": (
            "Ik heb je bericht toegevoegd aan je vraag (ticket {ticket}). "
            "De verbindingsofficier ziet het."
        ),
        "en": (
            "I added your message to your question (ticket {ticket}). "
            "The liaison officer will see it."
        ),
    },
    "followup_ask": {
        "nl": "Hoort dit bij je eerdere vraag aan de verbindingsofficier (ticket {ticket})?",
        "en": "Is this about your earlier question to the liaison officer (ticket {ticket})?",
    },
    "followup_yes": {"nl": "Ja, voeg toe aan die vraag", "en": "Yes, add it to that question"},
    "followup_no": {"nl": "Nee, het is een nieuwe vraag", "en": "No, it's a new question"},
    "officer_answer": {
        "nl": "Antwoord van de verbindingsofficier (ticket {ticket}):\n\n{answer}",
        "en": "Answer from the liaison officer (ticket {ticket}):\n\n{answer}",
    },
    "ticket_closed": {
        "nl": (
            "Je vraag (ticket {ticket}) is afgesloten. "
            "Schrijf hier als je er nog iets over wilt vragen."
        ),
        "en": "Your question (ticket {ticket}) is closed. Write here if you want to add something.",
    },
    "temporary_problem": {
        "nl": "Er is even een storing aan onze kant. Je bericht is niet kwijt: "
        "je krijgt antwoord zodra het weer werkt.",
        "en": "We have a temporary problem on our side. Your message is not lost: "
        "you will get an answer as soon as it works again.",
    },
    "message_lost": {
        "nl": "Sorry, dit bericht kon ik niet verwerken. Wil je het anders sturen, "
        "of /mens typen voor een verbindingsofficier?",
        "en": "Sorry, I could not process this message. Could you send it differently, "
        "or type /mens for a liaison officer?",
    },
    "privacy": {
        "nl": (
            "Privacy: wat bewaren we?\n\n"
            "Wat: je berichten aan de bot en de antwoorden, de knoppen die je kiest, en je vragen "
            "aan een verbindingsofficier met wat je erbij schreef. Ook je chatnummer in Telegram, "
            "je taal, en het profiel van je initiatief als je dat invult (/profiel). Je naam of "
            "telefoonnummer bewaren we niet, behalve als je ze zelf "
            "typt.\n\n"
            "Waarom: om je vraag te beantwoorden, om het antwoord van de gemeente hier bij je te "
            "brengen, en om de bot beter te maken.\n\n"
            "Wie kan het lezen: alleen medewerkers van de gemeente Rotterdam, dus de "
            "verbindingsofficieren en de mensen die de bot verbeteren.\n\n"
            "Hoe lang: we verwijderen je berichten {days} dagen nadat je ze stuurde. Is je vraag "
            "aan een verbindingsofficier al {days} dagen klaar, dan halen we je tekst eruit. "
            "Alleen het onderwerp en de datum blijven over.\n\n"
            "Wil je dat we alles nu verwijderen? Typ /vergeet."
        ),
        "en": (
            "Privacy: what do we keep?\n\n"
            "What: your messages to the bot and its answers, the buttons you choose, and your "
            "questions to a liaison officer with what you added. Also your Telegram chat id, "
            "your language, and your initiative's profile if you fill it in (/profiel). We don't "
            "keep your name or phone number, unless you type them.\n\n"
            "Why: to answer your question, to bring the municipality's answer to you here, and "
            "to improve the bot.\n\n"
            "Who can read it: only staff of the municipality of Rotterdam: the liaison officers "
            "and the people who improve the bot.\n\n"
            "How long: we delete your messages {days} days after you sent them. When your "
            "question to a liaison officer was finished {days} days ago, we remove your text "
            "from it. Only the topic and the date remain.\n\n"
            "Do you want us to delete everything now? Type /vergeet."
        ),
    },
    "forget_ask": {
        "nl": (
            "Wil je dat we je berichten en gegevens verwijderen? Je gesprek met de bot begint "
            "dan opnieuw. Van je vragen aan een verbindingsofficier halen we je tekst weg. Dit "
            "kun je niet terugdraaien."
        ),
        "en": (
            "Do you want us to delete your messages and data? Your conversation with the bot "
            "starts again. From your questions to a liaison officer we remove your text. This "
            "cannot be undone."
        ),
    },
    "forget_yes": {"nl": "Ja, verwijder alles", "en": "Yes, delete everything"},
    "forget_no": {"nl": "Nee", "en": "No"},
    "forgotten": {
        "nl": "Je gegevens zijn verwijderd. Je kunt altijd een nieuwe vraag stellen.",
        "en": "Your data has been deleted. You can ask a new question any time.",
    },
    "forget_cancelled": {
        "nl": "Oké, ik verwijder niets. Stel gerust je vraag.",
        "en": "Okay, I won't delete anything. Go ahead and ask your question.",
    },
    "forget_nothing": {
        "nl": (
            "Er is niets om te verwijderen met deze knop. Typ /vergeet als je je gegevens wilt "
            "laten verwijderen."
        ),
        "en": (
            "There is nothing to delete with this button. Type /vergeet to have your data deleted."
        ),
    },
    "too_long": {
        "nl": "Dat bericht is te lang voor mij. Kun je je vraag korter opschrijven, in een paar "
        "zinnen? Dan help ik je verder.",
        "en": "That message is too long for me. Could you write your question shorter, in a few "
        "sentences? Then I can help you.",
    },
    "flood": {
        "nl": "Je stuurt veel berichten snel achter elkaar. Wacht even en stuur je vraag daarna "
        "opnieuw.",
        "en": "You are sending many messages very quickly. Please wait a moment, then send your "
        "question again.",
    },
    "all_topics": {"nl": "Alle onderwerpen", "en": "All topics"},
    "start_flow": {"nl": "▶ {title}: stap voor stap", "en": "▶ {title}: step by step"},
    "yes": {"nl": "Ja", "en": "Yes"},
    "no": {"nl": "Nee", "en": "No"},
    "back": {"nl": "← Terug", "en": "← Back"},
    "stop_flow": {"nl": "Stop met de vragen", "en": "Stop the questions"},
    "resume_flow": {"nl": "Verder met de vragen", "en": "Continue the questions"},
    "answer_other": {"nl": "Beantwoord die vraag eerst", "en": "Answer that question first"},
    "other_topic": {
        "nl": "Dat lijkt een andere vraag, over: {title}. Wat wil je doen?",
        "en": "That looks like another question, about: {title}. What would you like to do?",
    },
    "because": {"nl": "Waarom:", "en": "Why:"},
    "read_more": {"nl": "Lees verder:", "en": "Read more:"},
    "profile_offer": {
        "nl": (
            "Wil je ook vertellen wie je initiatief is? Dan hoeft niemand het opnieuw te vragen. "
            "Het zijn vijf korte vragen; je kunt het altijd veranderen met /profiel."
        ),
        "en": (
            "Would you like to tell us about your initiative? Then nobody needs to ask again. "
            "It is five short questions; you can change it any time with /profiel."
        ),
    },
    "profile_fill": {"nl": "Profiel invullen", "en": "Fill in the profile"},
    "flow_dont_know": {
        "nl": (
            "Geen probleem. Kies wat er het meest op lijkt; je kunt later altijd terug. "
            "Of vraag het aan een verbindingsofficier: die kijkt met je mee."
        ),
        "en": (
            "No problem. Pick what comes closest; you can always go back later. "
            "Or ask a liaison officer, who will look at it with you."
        ),
    },
    "flow_stopped": {
        "nl": "Oké, we stoppen met de vragen. Stel gerust een andere vraag, of kies /menu.",
        "en": "Okay, we stop the questions. Ask something else, or choose /menu.",
    },
    "profile_used": {
        "nl": "Ik gebruik wat je profiel zegt: {facts}. Klopt dat niet? Typ /profiel.",
        "en": "I'm using what your profile says: {facts}. Not right? Type /profiel.",
    },
    "profile_and": {"nl": "en", "en": "and"},
    "profile_field_area": {"nl": "gebied", "en": "area"},
    "profile_field_legal_form": {"nl": "rechtsvorm", "en": "legal form"},
    "profile_field_name": {"nl": "naam", "en": "name"},
    "profile_field_stage": {"nl": "fase", "en": "stage"},
    "profile_field_theme": {"nl": "onderwerp", "en": "theme"},
    "flow_broken": {
        "nl": "Hier loopt de vragenlijst vast. Sorry! Kies /menu of vraag het een mens met /mens.",
        "en": "The questions got stuck here. Sorry! Choose /menu or ask a person with /mens.",
    },
    "flow_changed": {
        "nl": "De vragen zijn intussen aangepast. Sorry! We beginnen ze opnieuw.",
        "en": "The questions have changed in the meantime. Sorry! We start them again.",
    },
    "flow_gone": {
        "nl": "Deze vragenlijst is er niet meer. Stel je vraag in je eigen woorden, of kies /menu.",
        "en": "These questions no longer exist. Ask in your own words, or choose /menu.",
    },
    "flow_stuck": {
        "nl": (
            "Het lukt niet goed met deze vraag. Zal ik een verbindingsofficier vragen om je "
            "verder te helpen? Je antwoorden tot nu toe gaan mee."
        ),
        "en": (
            "This question isn't working out. Shall I ask a liaison officer to help you further? "
            "Your answers so far go along."
        ),
    },
    "flow_handoff": {
        "nl": "Zal ik je vraag met je antwoorden doorsturen naar een verbindingsofficier?",
        "en": "Shall I pass your question and answers to a liaison officer?",
    },
    "stale_button_flow": {
        "nl": "Die knop hoort bij een eerdere vraag. Dit is de vraag nu:",
        "en": "That button belongs to an earlier question. This is the question now:",
    },
    "hint_yesno": {"nl": "Antwoord met ja of nee.", "en": "Please answer yes or no."},
    "hint_number": {
        "nl": "Typ een getal, bijvoorbeeld 50 (van {min} tot {max}).",
        "en": "Type a number, for example 50 (from {min} to {max}).",
    },
    "hint_area": {
        "nl": "Die wijk ken ik niet. Kies een gebied uit de lijst, of typ de naam opnieuw.",
        "en": "I don't know that area. Pick one from the list, or type the name again.",
    },
    "hint_choice": {
        "nl": "Kies een van de knoppen, of typ het nummer.",
        "en": "Pick one of the buttons, or type its number.",
    },
    "hint_text": {"nl": "Typ je antwoord in een bericht.", "en": "Type your answer in a message."},
}

KIND_LABELS: dict[str, dict[str, str]] = {
    "legal_form": {"nl": "Rechtsvorm", "en": "Legal form"},
    "permit": {"nl": "Vergunningen", "en": "Permits"},
    "subsidy": {"nl": "Subsidie en geld", "en": "Subsidies and money"},
    "procurement": {"nl": "Opdrachten van de gemeente", "en": "Municipal contracts"},
    "department": {"nl": "Contact met de gemeente", "en": "Contact with the municipality"},
    "topic": {"nl": "Initiatief starten en runnen", "en": "Starting and running an initiative"},
}


def say(name: str, lang: str, **values: object) -> str:
    """The text `name` in `lang` (Dutch when missing), with `values` filled in."""
    texts = _TEXTS[name]
    text = texts.get(lang) or texts["nl"]
    return text.format(**values) if values else text
