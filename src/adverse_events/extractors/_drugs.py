"""The built-in drug vocabulary: generic names, their brands and common misspellings.

Hand-collected (no data shipped from any corpus): psychiatric drugs, which dominate patient
forums about side effects, and the most prescribed drugs in general. A trained lexicon model adds
every drug name seen in its training spans. Misspellings beyond the explicit ones below are
caught by the edit-distance-1 matcher in `DrugMatcher`.
"""

from __future__ import annotations

from collections.abc import Iterable

from adverse_events.extractors._text import normalize

__all__ = ["BUILTIN_DRUGS", "MISSPELLINGS", "DrugMatcher"]

#: generic name -> brand names.
BUILTIN_DRUGS: dict[str, tuple[str, ...]] = {
    "agomelatine": ("valdoxan",),
    "alprazolam": ("xanax",),
    "amitriptyline": ("elavil",),
    "amlodipine": ("norvasc",),
    "amoxicillin": ("amoxil",),
    "amphetamine": ("adderall", "evekeo"),
    "aripiprazole": ("abilify",),
    "atenolol": ("tenormin",),
    "atomoxetine": ("strattera",),
    "atorvastatin": ("lipitor",),
    "azithromycin": ("zithromax", "z-pak"),
    "brexpiprazole": ("rexulti",),
    "bupropion": ("wellbutrin", "zyban", "aplenzin"),
    "buspirone": ("buspar",),
    "carbamazepine": ("tegretol",),
    "cariprazine": ("vraylar",),
    "cetirizine": ("zyrtec",),
    "chlorpromazine": ("thorazine",),
    "ciprofloxacin": ("cipro",),
    "citalopram": ("celexa", "cipramil"),
    "clomipramine": ("anafranil",),
    "clonazepam": ("klonopin", "rivotril"),
    "clonidine": ("catapres", "kapvay"),
    "clozapine": ("clozaril",),
    "desvenlafaxine": ("pristiq",),
    "dexmethylphenidate": ("focalin",),
    "diazepam": ("valium",),
    "diphenhydramine": ("benadryl",),
    "doxepin": ("silenor", "sinequan"),
    "duloxetine": ("cymbalta",),
    "escitalopram": ("lexapro", "cipralex"),
    "esomeprazole": ("nexium",),
    "eszopiclone": ("lunesta",),
    "finasteride": ("propecia", "proscar"),
    "fluoxetine": ("prozac", "sarafem"),
    "fluvoxamine": ("luvox",),
    "gabapentin": ("neurontin", "gralise"),
    "haloperidol": ("haldol",),
    "hydrochlorothiazide": ("microzide",),
    "hydrocodone": ("vicodin", "norco"),
    "hydroxyzine": ("vistaril", "atarax"),
    "ibuprofen": ("advil", "motrin"),
    "isotretinoin": ("accutane", "absorica"),
    "lamotrigine": ("lamictal",),
    "levetiracetam": ("keppra",),
    "levofloxacin": ("levaquin",),
    "levothyroxine": ("synthroid", "levoxyl"),
    "lisdexamfetamine": ("vyvanse", "elvanse"),
    "lisinopril": ("prinivil", "zestril"),
    "lithium": ("lithobid",),
    "lorazepam": ("ativan",),
    "losartan": ("cozaar",),
    "lurasidone": ("latuda",),
    "metformin": ("glucophage",),
    "methylphenidate": ("ritalin", "concerta"),
    "metoprolol": ("lopressor", "toprol"),
    "mirtazapine": ("remeron",),
    "montelukast": ("singulair",),
    "naltrexone": ("revia", "vivitrol"),
    "naproxen": ("aleve", "naprosyn"),
    "nortriptyline": ("pamelor",),
    "olanzapine": ("zyprexa",),
    "omeprazole": ("prilosec",),
    "oxcarbazepine": ("trileptal",),
    "oxycodone": ("oxycontin", "percocet"),
    "paliperidone": ("invega",),
    "paracetamol": ("tylenol", "acetaminophen", "panadol"),
    "paroxetine": ("paxil", "seroxat", "pexeva"),
    "phenelzine": ("nardil",),
    "pregabalin": ("lyrica",),
    "prednisone": ("deltasone",),
    "propranolol": ("inderal",),
    "quetiapine": ("seroquel",),
    "risperidone": ("risperdal",),
    "rosuvastatin": ("crestor",),
    "selegiline": ("emsam",),
    "sertraline": ("zoloft", "lustral"),
    "simvastatin": ("zocor",),
    "tramadol": ("ultram",),
    "trazodone": ("desyrel", "oleptro"),
    "topiramate": ("topamax",),
    "valproate": ("depakote", "depakene", "divalproex"),
    "varenicline": ("chantix", "champix"),
    "venlafaxine": ("effexor",),
    "vilazodone": ("viibryd",),
    "vortioxetine": ("trintellix", "brintellix"),
    "warfarin": ("coumadin",),
    "zolpidem": ("ambien", "stilnox"),
    "ziprasidone": ("geodon",),
}

#: Misspellings seen in patient forums that edit distance 1 does not reach.
MISSPELLINGS: dict[str, str] = {
    "lexipro": "lexapro",
    "lexapo": "lexapro",
    "zolft": "zoloft",
    "zolof": "zoloft",
    "welbutrin": "wellbutrin",
    "wellbutrine": "wellbutrin",
    "celixa": "celexa",
    "cymbalata": "cymbalta",
    "efexor": "effexor",
    "effexsor": "effexor",
    "paxill": "paxil",
    "seroquil": "seroquel",
    "seraquel": "seroquel",
    "abilfy": "abilify",
    "prozak": "prozac",
    "xanex": "xanax",
    "klonipin": "klonopin",
    "klonapin": "klonopin",
    "ativon": "ativan",
    "adderal": "adderall",
    "ritalen": "ritalin",
    "lamictel": "lamictal",
    "lyrika": "lyrica",
    "nuerontin": "neurontin",
    "trazadone": "trazodone",
    "trazidone": "trazodone",
    "setraline": "sertraline",
    "sertaline": "sertraline",
    "escitalapram": "escitalopram",
    "citalapram": "citalopram",
    "flouxetine": "fluoxetine",
    "fluoxatine": "fluoxetine",
    "venlafaxin": "venlafaxine",
    "duloxatine": "duloxetine",
    "buproprion": "bupropion",
    "wellbutron": "wellbutrin",
    "zoloff": "zoloft",
    "pristique": "pristiq",
}


class DrugMatcher:
    """Finds drug names among tokens: exact names, known misspellings, and edit distance 1.

    Edit distance 1 uses symmetric deletions (as SymSpell does), so a lookup costs a few set
    probes, not a scan of the vocabulary: only names of 6+ letters get it, to keep "paxil" from
    matching everyday words.
    """

    def __init__(self, names: Iterable[str] = (), fuzzy: bool = True):
        self.names: dict[str, str] = {}
        for generic, brands in BUILTIN_DRUGS.items():
            self.names[generic] = generic
            for brand in brands:
                self.names[brand] = brand
        for wrong, right in MISSPELLINGS.items():
            self.names[wrong] = right
        for name in names:
            key = normalize(name)
            if key and len(key) >= 3:
                self.names.setdefault(key, key)
        self.max_words = max(len(n.split()) for n in self.names)
        self.fuzzy = fuzzy
        self._deletes: dict[str, str] = {}
        if fuzzy:
            for name in sorted(self.names):
                if len(name) >= 6 and " " not in name:
                    for variant in _deletions(name):
                        self._deletes.setdefault(variant, name)

    def lookup(self, phrase: str) -> str | None:
        """The vocabulary name `phrase` stands for, or None."""
        key = normalize(phrase)
        if key in self.names:
            return self.names[key]
        if not self.fuzzy or len(key) < 6 or " " in key:
            return None
        if key in self._deletes:
            return self.names[self._deletes[key]]
        for variant in _deletions(key):
            if variant in self.names and len(variant) >= 6:
                return self.names[variant]
            if variant in self._deletes:
                return self.names[self._deletes[variant]]
        return None


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}
