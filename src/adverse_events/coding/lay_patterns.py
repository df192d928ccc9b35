"""Lay-language patterns -> (medical term, ICD-10-CM code): the phrasings a synonym list misses.

Patients say one event in many ways: "sex drive non-existant", "interest in sex has decreased
significantly", "libido is low" are all decreased libido. A `LayPattern` names the event by a
*head* (what the event is about: libido, orgasm, dreams, motivation) and, where the head alone
is not an event, a *cue* (which way it goes: lost, low, difficult, vivid) that must also occur,
and an *unless* that rules the other direction out ("increased libido" is not decreased libido).
The first pattern that matches wins, so specific ones come before general ones.

The coder tries these after its exact and contained lay synonyms and before its fuzzy step
(`adverse_events.coding.icd10cm`, step 4); the MedDRA coder looks the term up among LLT names.
Written from the PsyTAR adverse-reaction mentions that the synonyms left uncoded (docs/extraction.md
says what that means for the figures); every code is checked against ICD-10-CM by the tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["LAY_PATTERNS", "LayPattern", "match_lay_pattern"]

_NEG = (
    r"\b(?:no|not|never|lost|lose|losing|loss|lack|lacking|less|lower|lowered|low|decreas\w*|"
    r"reduc\w*|diminish\w*|supp?ress\w*|subsidi[sz]ed|zero|non-?exist\w*|nonexistan\w*|gone|"
    r"killed|kills?|dead|hard|harder|difficult\w*|difficulty|trouble|unable|inab\w*|"
    r"can'?t|cannot|couldn'?t|can not|don'?t|didn'?t|impossible|elusive|problems?|issues?)\b"
)
_MORE = r"\b(?:increas\w*|strengthen\w*|heighten\w*|boost\w*|higher|more intense|stronger|better)\b"


@dataclass(frozen=True)
class LayPattern:
    """An event phrased freely: `head` must match, `cue` too when given, `unless` must not."""

    term: str
    code: str
    head: str
    cue: str | None = None
    unless: str | None = None
    _compiled: tuple[re.Pattern[str], re.Pattern[str] | None, re.Pattern[str] | None] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        compiled = (
            re.compile(self.head),
            re.compile(self.cue) if self.cue else None,
            re.compile(self.unless) if self.unless else None,
        )
        object.__setattr__(self, "_compiled", compiled)

    def matches(self, key: str) -> bool:
        """True when the normalised mention `key` names this pattern's event."""
        head, cue, unless = self._compiled
        if not head.search(key) or (cue is not None and not cue.search(key)):
            return False
        return unless is None or not unless.search(key)


_LIBIDO = (
    r"\b(?:sex(?:ual)?[ -]?drive|libido|sexual (?:desire|interest|appetite)|desire for sex|"
    r"interest in sex|sex interest|sexual urges?)\b"
)
_ORGASM = r"\b(?:orgasm\w*|orgasim\w*|organism|climax\w*)\b"

LAY_PATTERNS: tuple[LayPattern, ...] = (
    # sexual function
    LayPattern("Loss of libido", "R68.82", _LIBIDO, _NEG + r"|\bregain\w*", _MORE),
    LayPattern(
        "Loss of libido",
        "R68.82",
        r"\b(?:sexless|nonsexual|asexual|neutered|no sexual interest|"
        r"(?:do not|don'?t|didn'?t) (?:\w+ )?(?:feel like|want) (?:\w+ )?(?:having )?sex|"
        r"(?:have not|haven'?t) had sex)\b",
    ),
    LayPattern("Anorgasmia", "R37", _ORGASM, _NEG + r"|\b(?:delay\w*|longer|weak\w*)\b", _MORE),
    LayPattern("Ejaculation delayed", "N53.11", r"\bejaculat\w*", r"\b(?:delay\w*|late|longer)\b"),
    LayPattern("Anejaculation", "N53.19", r"\bejaculat\w*", _NEG),
    LayPattern(
        "Sexual dysfunction",
        "R37",
        r"\bsexual(?:ly)? (?:function\w*|performance|effects?|side effects?|pleasure|"
        r"satisfaction|enjoyment|arousal|sensitivity|issues?|problems?)|"
        r"\b(?:difficult|no|lack of) (?:\w+ )?(?:sexual )?arousal\b|feelings of arousal",
        None,
        _MORE,
    ),
    # sleep and dreams
    LayPattern("Nightmare", "F51.5", r"\bdreams?\b", r"\b(?:bad|scary|horrible|disturbing)\b"),
    LayPattern(
        "Abnormal dreams",
        "G47.59",
        r"\bdream\w*",
        r"\b(?:vivid|intense|detailed|life-?like|real|reality|interesting|crazy|weird|wierd|"
        r"strange|bizarre|cinematic|lucid|complex|long|dreamt|dreamed|lived)\b",
    ),
    LayPattern(
        "Hypersomnia",
        "G47.10",
        r"\b(?:sleep(?:ing)? (?:a lot|lots|too much|longer|\d+ hours|most of)|slept (?:a lot|"
        r"through)|lots of sleeping|(?:want|wanted|desire) to (?:just )?sleep (?:all day|"
        r"forever)|desire to just sleep|(?:could not|couldn'?t|can'?t) stop sleeping|"
        r"period of sleep|time in bed sleeping)\b",
    ),
    LayPattern(
        "Somnolence",
        "R40.0",
        r"\b(?:nap|naps|napping|always sleepy|sleeping several times during the day|"
        r"(?:want|wanted) to sleep in the (?:afternoon|day))\b",
    ),
    LayPattern(
        "Insomnia",
        "G47.00",
        r"\b(?:(?:could ?n[o']t|can ?n[o']t|cannot|barely|didn'?t|did not|wasn'?t able to|"
        r"not able to|unable to|won'?t|not) (?:\w+ )?(?:go to )?sleep(?:ing)?\b|"
        r"keeps? me awake|stay(?:ed)? awake|awake for|insomina|insomia|"
        r"take (?:\w+ )*?to (?:make me )?sleep|hours (?:of )?sleep|good night'?s sleep|"
        r"problems sleeping|difficult\w* sleep\w*|"
        r"(?:wake|waking|woke) (?:up )?(?:in|during|every|at) (?:the )?(?:night|\d))",
        None,
        r"\b(?:stop sleeping|sleep a lot)\b",
    ),
    LayPattern(
        "Sleep disorder",
        "G47.9",
        r"\b(?:sleep(?:ing)? patterns?|sleeping in odd|affects? (?:my )?sleep|"
        r"difficulty waking|struggle to wake)\b",
    ),
    # energy, motivation, cognition, emotion
    LayPattern(
        "Apathy",
        "R45.3",
        r"\b(?:motivat\w*|initiative|enthusi\w*|passion|care (?:for|about) anything)\b",
        _NEG,
    ),
    LayPattern("Apathy", "R45.3", r"\b(?:unmotivated|lack of drive|no drive)\b"),
    LayPattern(
        "Apathy",
        "R45.3",
        r"\b(?:apath\w*|nothing (?:moves|excites) me|not caring|ho-hum|didn'?t seem to react|"
        r"no reactions?)\b",
    ),
    LayPattern(
        "Lethargy",
        "R53.83",
        r"\benergy\b",
        _NEG + r"|\bdrain\w*",
        r"\b(?:excess\w*|tons of|energi[sz]ed)\b|increase in energy",
    ),
    LayPattern(
        "Lethargy",
        "R53.83",
        r"\b(?:lazy|do nothing|nothing done|doing anything|do anything|"
        r"(?:out of|in|lay in|stay in) bed|bed-?ridden|barely participating|wiped out|"
        r"fatique|fatigu\w*)\b",
    ),
    LayPattern(
        "Emotional blunting",
        "R45.89",
        r"\b(?:zomb(?:ie|y)\w*|emotions? (?:feel )?(?:muted|dull\w*|blunt\w*|flat)|"
        r"(?:dull|dulled|muted|blunted|flat) (?:\w+ )?(?:mood|emotions?|affect|feelings?)|"
        r"emotional (?:range|reactivity)|(?:^|\bi )felt (?:pretty |rather )?(?:dull|numb)$|"
        r"(?:brain|mind) (?:has become |is |was )?numb|numb (?:brain|mind|to the world)|"
        r"(?:hard|unable|can'?t|cannot|not being able) to (?:\w+ )?(?:cry|express)|blocked tears|"
        r"cry but can'?t|slow to excite|never (?:be )?happy about|"
        r"nothing (?:seems to |made me )?(?:affect|too upset)|moods? (?:leveled|levelled)|"
        r"mood (?:can be )?(?:\w+ )*?flat)",
    ),
    LayPattern(
        "Euphoric mood",
        "R45.89",
        r"\b(?:euphori\w*|elated|elation|on a (?:\w+ )?high|high\"? feeling|got high|week, high|"
        r"feel happy against my will|mood was (?:\w+ )?elevated)",
    ),
    LayPattern(
        "Disturbance in attention",
        "R41.840",
        r"\b(?:fog|fogs|foggy|fogginess|cloudy head|head in the clouds|fuzzy (?:mind|head|brain)|"
        r"scatter ?brain\w*|scattered brain|zoning|out of it)\b",
    ),
    LayPattern(
        "Disturbance in attention",
        "R41.840",
        r"\b(?:concentrat\w*|focus)\b",
        _NEG + r"|\bseem\b",
        r"\b(?:eyes?|vision)\b",
    ),
    LayPattern(
        "Cognitive disorder",
        "R41.89",
        r"\b(?:can'?t think|can not think|cannot think|unable to think|process thoughts|"
        r"cognitive|cognition|brain (?:is at a standstill|has become dull)|need my brain back|"
        r"reaction time)\b",
        None,
        r"\bwords?\b",
    ),
    LayPattern(
        "Racing thoughts",
        "R41.89",
        r"\b(?:(?:mind|thoughts?) (?:was |were |is )?racing|racing (?:thoughts|mind)|"
        r"rapid thinking)\b",
    ),
    LayPattern(
        "Depersonalisation",
        "F48.1",
        r"\b(?:deperson\w*|dereali[sz]\w*|(?:not|n'?t) (?:feel )?(?:like )?myself)\b",
    ),
    LayPattern(
        "Suicidal ideation",
        "R45.851",
        r"\b(?:sui?c?idal|suidical|kill myself|"
        r"thoughts? (?:of|about) suicide)\b",
    ),
    LayPattern("Self-harm", "R45.88", r"\bself[- ]?harm\b", None, r"\bnever\b"),
    LayPattern("Mood swings", "R45.86", r"\bmoodiness\b|\bcycling like\b"),
    LayPattern("Hyperactivity", "R46.3", r"^(?:\w+ )?hyper\b(?![- ]?tension|-)"),
    LayPattern("Nervousness", "R45.0", r"\b(?:speedy|on speed|jitter\w*|jumpy)\b"),
    LayPattern("Akathisia", "G25.71", r"\b(?:out of my skin|akathisia|couldn'?t stop moving)\b"),
    LayPattern("Low self-esteem", "R45.81", r"\bworthless\w*"),
    # body
    LayPattern(
        "Nausea",
        "R11.0",
        r"\b(?:naus\w*|nause\w*|naseu\w*|naseau\w*|queas\w*|sick (?:to|in) (?:my |the )?stomach|"
        r"sick stomach)\b",
    ),
    LayPattern(
        "Diarrhoea",
        "R19.7",
        r"\b(?:dia[hr]+[eo]?a|diareah|diahrea|diarr?h?ea|running to the bathroom)\b",
    ),
    LayPattern("Tremor", "R25.1", r"\b(?:shak(?:y|iness|ines|ey)|hands? shake)\b"),
    LayPattern(
        "Dyspnoea",
        "R06.00",
        r"\b(?:catch (?:my )?breath|hard to (?:take a (?:deep )?)?breath\w*|short of breath)\b",
    ),
    LayPattern(
        "Bruxism",
        "F45.8",
        r"\b(?:jaw (?:\w+ )?(?:clench\w*|jacking|movements)|(?:clench|clencing)\w* (?:my )?jaw|"
        r"bruxism)\b",
    ),
    LayPattern(
        "Jaw stiffness",
        "M26.69",
        r"\b(?:jaw (?:\w+ )?(?:tight\w*|stiff\w*)|tight (?:in )?(?:my )?jaw|stiffed jaw)\b",
    ),
    LayPattern("Temporomandibular joint disorder", "M26.609", r"^tmj$"),
    LayPattern(
        "Increased appetite",
        "R63.2",
        r"\b(?:hunger|hungry|ravenous|(?:don'?t|do not) feel full|hard to resist eating|"
        r"craving food|increased appetite)\b",
        None,
        r"\bhungry bone\b",
    ),
    LayPattern(
        "Food craving",
        "R63.8",
        r"\b(?:crav\w* (?:for )?(?:sweets|sugar|carbs|chocolate|peanut|food)|sweet tooth|"
        r"eating sweets|appetite control|control with appetite|flucuations in appetite)\b",
    ),
    LayPattern("Polydipsia", "R63.1", r"\b(?:thirst\w*|thirsty)\b"),
    LayPattern(
        "Decreased appetite",
        "R63.0",
        r"\b(?:appetite (?:has )?(?:\w+ )?(?:lower\w*|decreas\w*|reduc\w*|gone)|"
        r"(?:loss|lost) (?:of )?(?:my )?appetite|force myself to eat|(?:inability|unable) to eat|"
        r"care about food)\b",
        None,
        r"\bcontrol\b",
    ),
    LayPattern(
        "Weight increased",
        "R63.5",
        r"\b(?:(?:got|getting|gaining|gain\w*) (?:\w+ )*?(?:fat|weight)|weight (?:\w+ )?"
        r"(?:skyrocket\w*|went up|increas\w*|gain\w*)|(?:hope|hoping) (?:i can |to )?"
        r"(?:lose|get rid of) (?:the )?weight)"
        r"\b",
        None,
        r"\b(?:decreas\w*|fluctuat\w*)\b",
    ),
    LayPattern("Weight decreased", "R63.4", r"\b(?:lost \d+ (?:pounds|lbs)|lose weigh)\b"),
    LayPattern(
        "Alopecia",
        "L65.9",
        r"\bhair (?:started )?(?:falling|fall)\w*|\bhandfuls? of hair\b|\blosing (?:\w+ )?hair\b",
    ),
    LayPattern("Mydriasis", "H57.04", r"\b(?:dia?l[ai]?ted pupils|dialated pupils|mydriasis)\b"),
    LayPattern("Abdominal distension", "R14.0", r"\b(?:bloat\w*)\b"),
    LayPattern("Chills", "R68.83", r"\bchills\b"),
    LayPattern("Nocturia", "R35.1", r"\b(?:pee|urinat\w*)\b.*\bnight\b"),
    LayPattern("Frequent urination", "R35.0", r"\b(?:fr\w*quent urination|pee every)\b"),
    LayPattern("Dry skin", "L85.3", r"^dry skin$"),
    LayPattern("Neck stiffness", "M43.6", r"\b(?:stiff neck|neck stiffness)\b"),
    LayPattern("Muscle stiffness", "M62.89", r"\b(?:stiff muscles|muscle stiffness)\b"),
    LayPattern("Myalgia", "M79.10", r"\bmuscle (?:soreness|aches?|pain)\b"),
    LayPattern("Myoclonus", "G25.3", r"\b(?:muscle jerks|jerking|myoclon\w*)\b"),
    LayPattern("Restless legs syndrome", "G25.81", r"\b(?:rls|restless legs?)\b"),
    LayPattern("Palpitations", "R00.2", r"\bheart (?:flutter\w*|skipped)|\bracy heart\b"),
    LayPattern("Tachycardia", "R00.0", r"\b(?:increased heart rate|heart racing)\b"),
    LayPattern("Arrhythmia", "I49.9", r"\birregular heart ?beat\b"),
    LayPattern("Feeling hot", "R68.89", r"\b(?:hot all|feeling hot|always hot|too warm)\b"),
    LayPattern("Flushing", "R23.2", r"^flush(?:ing|ed)?$"),
    LayPattern("Chest tightness", "R07.89", r"\btight\w* in (?:my )?chest\b"),
    LayPattern(
        "Tension headache",
        "G44.209",
        r"\btight\w*\"? in (?:my )?head|tension in the "
        r"front",
    ),
    LayPattern("Influenza like illness", "R68.89", r"\bflu-?like|\bhad the flu\b"),
    LayPattern("Nasal congestion", "R09.81", r"\bstuffy nose\b"),
    LayPattern("Ageusia", "R43.2", r"\bloss of taste\b"),
    LayPattern("Dysgeusia", "R43.2", r"\bbad taste in (?:my )?mouth\b"),
    LayPattern("Photophobia", "H53.149", r"\bsensitive to (?:the )?light\b"),
    LayPattern("Vision blurred", "H53.8", r"\beyes are blurred\b"),
    LayPattern("Hypoglycaemia", "E16.2", r"\blow blood sugar\b"),
    LayPattern("Vulvovaginal dryness", "N89.8", r"\bvaginal dryness\b"),
    LayPattern("Acne", "L70.9", r"\bacne\b"),
    LayPattern("Dyspepsia", "K30", r"\bsour stomach\b"),
    LayPattern("Syncope", "R55", r"^swoon$"),
    LayPattern("Dysphagia", "R13.10", r"\binability to swallow\b"),
    LayPattern(
        "Gastrointestinal disorder",
        "R19.8",
        r"\b(?:gi distress|gastrointestinal (?:issues|effects))\b",
    ),
    LayPattern("Abdominal discomfort", "R10.9", r"\bstomach discomfort\b|\bache in my stomach\b"),
    LayPattern("Rash", "R21", r"^rashes$"),
    LayPattern(
        "Hypertension",
        "R03.0",
        r"\bblood pressure (?:rose|went up)|increase in blood "
        r"pressure|high systolic",
    ),
)


def match_lay_pattern(key: str) -> LayPattern | None:
    """The first pattern that the normalised mention `key` matches, or None."""
    return next((p for p in LAY_PATTERNS if p.matches(key)), None)
