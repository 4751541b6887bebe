"""Country names as visitors write them, for the `country` entity (bot.nlu.entities).

The entity's value is the English name used in shop/facts.yml (shipping_zones), so the shop can say
which zone a country is in; it is written as it reads in a sentence ("we ship to the Netherlands").
Countries the shop does not ship to are here too: "do you ship to Japan" deserves a clear no.
Aliases are lower case; adjectives only where they rarely mean anything else ("swiss", "dutch"),
not "english" (a language) or "us" (a pronoun).
"""
from __future__ import annotations

import re
from typing import Dict, List, Tuple

ALIASES: Dict[str, List[str]] = {
    "Germany": ["germany", "deutschland", "german"],
    "Austria": ["austria", "österreich", "oesterreich", "austrian"],
    "Belgium": ["belgium", "belgien", "belgian"],
    "Bulgaria": ["bulgaria"],
    "Croatia": ["croatia"],
    "Cyprus": ["cyprus"],
    "the Czech Republic": ["czech republic", "czechia", "czech"],
    "Denmark": ["denmark", "dänemark", "danish"],
    "Estonia": ["estonia"],
    "Finland": ["finland"],
    "France": ["france", "frankreich", "french"],
    "Greece": ["greece"],
    "Hungary": ["hungary"],
    "Ireland": ["ireland", "irish"],
    "Italy": ["italy", "italien", "italian"],
    "Latvia": ["latvia"],
    "Lithuania": ["lithuania"],
    "Luxembourg": ["luxembourg", "luxemburg"],
    "Malta": ["malta"],
    "the Netherlands": ["netherlands", "the netherlands", "holland", "niederlande", "dutch"],
    "Poland": ["poland", "polen", "polish"],
    "Portugal": ["portugal", "portuguese"],
    "Romania": ["romania"],
    "Slovakia": ["slovakia"],
    "Slovenia": ["slovenia"],
    "Spain": ["spain", "spanien", "spanish"],
    "Sweden": ["sweden", "schweden", "swedish"],
    "the United Kingdom": ["united kingdom", "uk", "u.k.", "great britain", "britain", "england", "scotland", "wales",
                       "british"],
    "Switzerland": ["switzerland", "schweiz", "swiss"],
    "Norway": ["norway", "norwegen", "norwegian"],
    "Iceland": ["iceland"],
    "Liechtenstein": ["liechtenstein"],
    "Serbia": ["serbia"],
    "Turkey": ["turkey", "türkei"],
    "Ukraine": ["ukraine"],
    "the United States": ["united states", "usa", "u.s.a.", "u.s.", "america", "the states"],
    "Canada": ["canada"],
    "Mexico": ["mexico"],
    "Brazil": ["brazil"],
    "Australia": ["australia"],
    "New Zealand": ["new zealand"],
    "Japan": ["japan"],
    "China": ["china"],
    "India": ["india"],
    "South Korea": ["south korea", "korea"],
    "Singapore": ["singapore"],
    "Israel": ["israel"],
    "the United Arab Emirates": ["united arab emirates", "uae", "dubai"],
    "South Africa": ["south africa"],
}

_BY_ALIAS = {alias: name for name, aliases in ALIASES.items() for alias in aliases}
# longest first, so "united states" wins over "states" and "south korea" over "korea"
_PATTERN = re.compile(
    r"(?<![\w.])(" + "|".join(re.escape(a) for a in sorted(_BY_ALIAS, key=len, reverse=True)) + r")(?![\w])",
    re.IGNORECASE,
)


def find_countries(text: str) -> List[Tuple[str, int, int]]:
    """(English name, start, end) for each country named in the text, in order."""
    return [(_BY_ALIAS[m.group(1).lower()], m.start(1), m.end(1)) for m in _PATTERN.finditer(text or "")]
