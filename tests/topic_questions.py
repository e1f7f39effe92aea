"""Three themes of six questions each, for the topic map's tests ("Themen")."""
from __future__ import annotations

THEMES = {
    "bus": [
        "Warum fährt abends kein Bus mehr in unser Dorf?",
        "Wie kann der Busverkehr auf dem Land besser getaktet werden?",
        "Gibt es bald einen Rufbus für die Ortsteile?",
        "Wer bezahlt den Busverkehr zwischen den Dörfern?",
        "Wie kommen Schüler ohne Schulbus in die Kreisstadt?",
        "Kann der Bus am Wochenende öfter fahren?",
    ],
    "wohnen": [
        "Wie schaffen kleine Städte bezahlbare Wohnungen?",
        "Warum steigen die Mieten auf dem Land so stark?",
        "Wer baut in Kleinstädten noch Mietwohnungen?",
        "Gibt es Wohnungen für Senioren im Ortskern?",
        "Wie kann man leerstehende Häuser wieder bewohnen?",
        "Sollten Gemeinden selbst Wohnungen bauen?",
    ],
    "internet": [
        "Wann kommt schnelles Internet in unsere Gemeinde?",
        "Wie weit ist der Glasfaserausbau auf dem Land?",
        "Wer bezahlt den Breitbandanschluss für abgelegene Höfe?",
        "Warum ist das Internet im Dorf so langsam?",
        "Reicht das Mobilfunknetz für Homeoffice auf dem Land?",
        "Wann bekommen die Schulen Glasfaser?",
    ],
}
