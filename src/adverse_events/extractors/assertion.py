"""Assertion traits for mentions: NEGATION, HYPOTHETICAL, PAST_HISTORY, PERTAINS_TO_FAMILY.

ConText/NegEx-style rules tuned for patient language. A trigger phrase opens a scope that runs
forward (or, for a few post-triggers, backward) to the mention, and closes at a sentence end, a
semicolon or a contrasting conjunction ("but", "however", "although", "except"). Examples:

* NEGATION: "no headache since I stopped", "I don't have any nausea", "never had a rash",
  "without the dizziness". Not negation: "headaches are gone" (the event happened), and
  "no appetite", "no sex drive", "no energy" (losing a capacity is the event);
  pseudo-triggers such as "no doubt", "not only", "no idea", "not sure" open no scope.
* HYPOTHETICAL: "if I get dizzy", "in case of nausea", "could cause weight gain",
  "afraid of gaining weight", "watch out for", "risk of".
* PAST_HISTORY: "used to have insomnia", "history of migraines", "before I started",
  "years ago". Not an excluding trait: an earlier reaction can still be an adverse event.
* PERTAINS_TO_FAMILY: "my mom had nausea", "my brother gets migraines": a relative is the
  subject and no first-person word ("I", "me", "my" + non-relative) comes between.

`EXCLUDING_TRAITS` (NEGATION, HYPOTHETICAL, PERTAINS_TO_FAMILY) is what the extractors drop by
default (`exclude_traits`), and what `Mention.asserted` checks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from adverse_events.records import EXCLUDING_TRAITS, Mention

__all__ = [
    "EXCLUDING_TRAITS",
    "TRAITS",
    "apply_traits",
    "filter_mentions",
    "traits_for",
]

TRAITS = ("NEGATION", "HYPOTHETICAL", "PAST_HISTORY", "PERTAINS_TO_FAMILY")

#: Words after which the scope of an earlier trigger ends.
_TERMINATORS = re.compile(
    r"[.!?;:,()\[\]]|\b(?:but|however|although|though|except|yet|whereas|until|now|still|instead|"
    r"which|who|that's|aside from|apart from|other than)\b|"
    r"\band\s+(?:i|it|then|now|also)\b",
    re.IGNORECASE,
)
_PSEUDO = re.compile(
    r"\b(?:no doubt|not only|no idea|not sure|not certain|no matter|not just|no wonder|"
    r"not much better|no change|not a problem|no problem|not that bad|not bad)\b",
    re.IGNORECASE,
)
_NEGATION = re.compile(
    r"\b(?:no|not|never|none|nor|without|free of|denies|denied|zero|lack of any|"
    r"haven't|hasn't|hadn't|didn't|don't|doesn't|won't|wasn't|weren't|isn't|aren't|"
    r"haven’t|didn’t|don’t|doesn’t|wasn’t|isn’t|"
    r"have not|has not|had not|did not|do not|does not|was not|were not|is not|are not|"
    r"cannot complain of|got rid of|resolved|no more|no longer have|no longer get)\b",
    re.IGNORECASE,
)
_HYPOTHETICAL = re.compile(
    r"\b(?:if|in case|unless|whether|could cause|can cause|may cause|might cause|could give|"
    r"may give|might give|may have|might have|could have|risk of|chance of|"
    r"afraid of|afraid i|afraid it|worried about|worried i|worry about|scared of|fear of|"
    r"warned|warning|watch out for|watch for|look out for|be careful|"
    r"hope not|hoping not|should i|would i|will i)\b",
    re.IGNORECASE,
)
_PAST = re.compile(
    r"\b(?:used to|history of|hx of|in the past|previously|years ago|months ago|"
    r"before (?:i|taking|starting|going on|being on)|prior to|as a (?:child|kid|teen|teenager)|"
    r"when i was (?:young|a kid|younger|a child)|had always|have always|always had)\b",
    re.IGNORECASE,
)
_FAMILY = re.compile(
    r"\b(?:my|his|her|our|their)\s+(?:mom|mother|mum|dad|father|sister|brother|son|"
    r"daughter|husband|wife|aunt|uncle|grandma|grandmother|grandpa|grandfather|cousin|"
    r"kid|kids|child|children|parents?|siblings?|boyfriend|girlfriend|partner|family|"
    r"friend|niece|nephew)(?:'s)?\b|\bfamily history\b|\bruns in (?:my|the) family\b",
    re.IGNORECASE,
)
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'd|me|myself)\b", re.IGNORECASE)
#: Post-triggers: a phrase right after the mention that negates or hypothesises it.
_POST_NEGATION = re.compile(
    r"^\W{0,3}(?:is|was|were|are|has been|have been)?\s*(?:not (?:a|an) (?:problem|issue)|"
    r"never (?:happened|came)|(?:is|was) (?:not|n't) an? issue)\b",
    re.IGNORECASE,
)
_POST_HYPOTHETICAL = re.compile(r"^\W{0,3}(?:might|may|could) (?:happen|occur)\b", re.IGNORECASE)

#: How many characters before a mention a trigger may be (a few words, as in NegEx).
_WINDOWS = {"NEGATION": 45, "HYPOTHETICAL": 60, "PAST_HISTORY": 60, "PERTAINS_TO_FAMILY": 70}


def _scope_before(text: str, start: int, window: int) -> str:
    """The text before `start`, cut at the last terminator and at most `window` characters."""
    begin = max(0, start - window)
    before = text[begin:start]
    cut = 0
    for match in _TERMINATORS.finditer(before):
        cut = match.end()
    return before[cut:]


def _last_trigger(pattern: re.Pattern[str], scope: str) -> re.Match[str] | None:
    found = None
    for match in pattern.finditer(scope):
        found = match
    return found


#: Absence of these *is* the event: "no appetite", "no sex drive", "not sleeping".
_CAPACITIES = re.compile(
    r"^(?:(?:sex(?:ual)?\s+)?(?:appetite|energy|libido|sex drive|drive|desire|motivation|"
    r"emotions?|feelings?|interest|sleep|sleeping|orgasms?|concentration|focus|patience|"
    r"memory|erection|pleasure|joy|ambition|hunger|period|periods))\b",
    re.IGNORECASE,
)


def _negated(scope: str, mention: str = "") -> bool:
    trigger = _last_trigger(_NEGATION, scope)
    if trigger is None or _CAPACITIES.match(mention.strip()):
        return False
    return not any(p.start() <= trigger.start() < p.end() for p in _PSEUDO.finditer(scope))


def _family(scope: str) -> bool:
    trigger = _last_trigger(_FAMILY, scope)
    return trigger is not None and not _FIRST_PERSON.search(scope[trigger.end() :])


def traits_for(text: str, start: int, end: int) -> tuple[str, ...]:
    """The assertion traits of the span ``text[start:end]``, in `TRAITS` order."""
    after = text[end : end + 40]
    found: list[str] = []
    negation_scope = _scope_before(text, start, _WINDOWS["NEGATION"])
    if _negated(negation_scope, text[start:end]) or _POST_NEGATION.search(after):
        found.append("NEGATION")
    scope = _scope_before(text, start, _WINDOWS["HYPOTHETICAL"])
    if _HYPOTHETICAL.search(scope) or _POST_HYPOTHETICAL.search(after):
        found.append("HYPOTHETICAL")
    if _PAST.search(_scope_before(text, start, _WINDOWS["PAST_HISTORY"])):
        found.append("PAST_HISTORY")
    if _family(_scope_before(text, start, _WINDOWS["PERTAINS_TO_FAMILY"])):
        found.append("PERTAINS_TO_FAMILY")
    return tuple(found)


def apply_traits(
    text: str, mentions: Iterable[Mention], categories: Sequence[str] = ()
) -> list[Mention]:
    """Add the rule-based traits to each mention (merged with traits it already has).

    `categories` limits which mentions get traits (all when empty); DRUG mentions are usually
    left alone, since "I stopped taking Zoloft" does not negate the drug.
    """
    out = []
    for mention in mentions:
        if categories and mention.category not in categories:
            out.append(mention)
            continue
        extra = [t for t in traits_for(text, mention.start, mention.end) if t not in mention.traits]
        out.append(
            mention.model_copy(update={"traits": (*mention.traits, *extra)}) if extra else mention
        )
    return out


def filter_mentions(
    mentions: Iterable[Mention], exclude_traits: Sequence[str], keep_excluded: bool = False
) -> list[Mention]:
    """Drop mentions carrying any of `exclude_traits`, unless `keep_excluded` (then keep all).

    Kept mentions still carry their traits, so `Mention.asserted` and
    `AdverseEventRecord.ae_type` ignore them either way.
    """
    if keep_excluded or not exclude_traits:
        return list(mentions)
    excluded = set(exclude_traits)
    return [m for m in mentions if not excluded.intersection(m.traits)]
