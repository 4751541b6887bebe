"""`rasa data validate` with every warning treated as an error, except one it cannot know better:

Rasa calls a response unused when no story or rule names it, but our actions choose many
responses at run time (`response="utter_..."`), and read the small words of their answers from
responses (bot/orders/wording.py), and the widget's channel and the turn budget their notices. Those are accepted when a file
in actions/ or READ_BY_CODE names them; any other warning, and any response nobody uses, still fails the check.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Iterable, List, Set, Tuple

from bot.settings import ROOT

UNUSED = re.compile(r"The utterance '([\w/]+)' is not used in any story or rule")
NO_EXAMPLES = re.compile(r"The intent '(\w+)' is listed in the domain file, but is not found in the NLU training data")
# intents nobody types: the agent console triggers them through Rasa's API (bot/console)
SYSTEM_INTENTS = {"handoff_finished", "handoff_expired", "handoff_left"}
WARNING_START = re.compile(r"(?:^|\s)(\w*Warning): ")
# responses read, not uttered: the small words of the order answers, the widget's notices, the turn budget's notices
READ_BY_CODE = ("bot/orders/wording.py", "bot/channels/widget.py", "bot/turn_budget.py")


def responses_named_in(paths: Iterable[Path]) -> Set[str]:
    return {m for p in paths for m in re.findall(r"['\"](utter_\w+)['\"]", p.read_text(encoding="utf-8"))}


def form_questions(domain_dir: Path) -> Set[str]:
    """A form asks for each of its required slots with the response utter_ask_<slot>."""
    import yaml

    asked = set()
    for path in domain_dir.glob("*.yml"):
        forms = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("forms") or {}
        for form in forms.values():
            asked |= {f"utter_ask_{slot}" for slot in (form or {}).get("required_slots", [])}
    return asked


def warnings_in(output: str) -> List[str]:
    """Each Rasa warning (its first line) from the validator's output, Python's DeprecationWarnings aside."""
    found = []
    for line in output.splitlines():
        match = WARNING_START.search(line)
        if match and match.group(1) == "UserWarning":
            found.append(line[match.end():].strip())
    return found


def problems(domain: Path = ROOT / "domain", data: Path = ROOT / "data",
             config: Path = ROOT / "config.yml") -> Tuple[List[str], str]:
    """Every warning that fails the check (and Rasa's output): the project's data, or a snapshot of it."""
    result = subprocess.run(
        [sys.executable, "-m", "rasa", "data", "validate", "--domain", str(domain), "--data", str(data),
         "--config", str(config)],
        cwd=ROOT, capture_output=True, text=True,
    )
    output = result.stdout + result.stderr
    used_by_actions = (responses_named_in([*(ROOT / "actions").glob("*.py"), *(ROOT / p for p in READ_BY_CODE)])
                       | form_questions(domain))
    found = []
    for warning in warnings_in(output):
        unused = UNUSED.search(warning)
        if unused and unused.group(1) in used_by_actions:
            continue
        untyped = NO_EXAMPLES.search(warning)
        if untyped and untyped.group(1) in SYSTEM_INTENTS:
            continue
        found.append(warning)
    if result.returncode != 0:
        found.append(f"rasa data validate exited with {result.returncode}")
    return found, output


def problems_in(data: Path, domain: Path, config: Path) -> List[str]:
    """What `rasa data validate` says of these folders that counts against them, with the end of its output when
    anything does (empty: valid)."""
    found, output = problems(domain, data, config)
    return [*found, output[-3000:]] if found else []


def main() -> int:
    found, output = problems()
    for problem in found:
        print(f"validation: {problem}", file=sys.stderr)
    if found:
        print(output[-3000:], file=sys.stderr)
        return 1
    print("training data valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
