"""German questions at talk scale for the similar-question tests and bench: the series
fixture's 90, then variations of them with other places, sizes and wording."""
from __future__ import annotations

import json
import random
from pathlib import Path

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "kleinstaedte_fragen.json"
PLACES = ["in Sachsen", "im Emsland", "in der Eifel", "in Vorpommern", "im Allgäu", "in der Uckermark",
          "in Nordhessen", "am Niederrhein", "im Harz", "in Oberfranken", "bei uns", "in meiner Gemeinde"]
OPENERS = ["", "Frage an das Podium: ", "Kurze Frage: ", "Mich würde interessieren: ", "An Frau Müller: "]
TAILS = ["", " Danke!", " Gibt es Beispiele?", " Und wer bezahlt das?", " Wie sind die Erfahrungen?"]


def series_questions(n: int, seed: int = 15) -> list[str]:
    talks = json.loads(FIXTURE.read_text(encoding="utf-8"))["talks"]
    base = [item["text"] for items in talks.values() for item in items]
    rng = random.Random(seed)
    out = list(base)
    while len(out) < n:
        text = rng.choice(base).rstrip("?")
        out.append(f"{rng.choice(OPENERS)}{text} {rng.choice(PLACES)} ({rng.randint(2, 40)}.000 Einwohner)?"
                   f"{rng.choice(TAILS)}")
    return out[:n]
