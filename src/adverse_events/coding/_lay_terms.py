"""Lay-language adverse-event phrases -> (medical term, ICD-10-CM code).

Hand-written from how patients describe side effects in forum posts. The medical term is what
the MedDRA coder looks up among LLT names; the code is checked against the full ICD-10-CM code
set by the tests. Keys are normalised (lower case, straight apostrophes).
"""

from __future__ import annotations

__all__ = ["LAY_TERMS"]

_GROUPS: dict[tuple[str, str], tuple[str, ...]] = {
    ("Insomnia", "G47.00"): (
        "insomnia", "can't sleep", "cannot sleep", "couldn't sleep", "could not sleep",
        "unable to sleep", "trouble sleeping", "trouble falling asleep", "difficulty sleeping",
        "sleepless", "sleepless nights", "sleeplessness", "no sleep", "awake all night",
        "trouble staying asleep", "waking up at night", "sleep problems", "sleep issues",
    ),
    ("Somnolence", "R40.0"): (
        "drowsiness", "drowsy", "sleepy", "sleepiness", "somnolence", "sleeping all the time",
        "sleeping too much", "oversleeping", "sedated", "sedation",
    ),
    ("Fatigue", "R53.83"): (
        "fatigue", "tired", "tiredness", "exhausted", "exhaustion", "lethargy", "lethargic",
        "no energy", "lack of energy", "low energy", "always tired", "extreme fatigue",
    ),
    ("Weight increased", "R63.5"): (
        "weight gain", "gained weight", "gain weight", "gaining weight", "weight increase",
        "put on weight", "putting on weight", "extreme weight gain", "gained 10 lbs",
        "gained 20 lbs", "gained 30 lbs", "gained 20 pounds", "gained 10 pounds",
        "packed on the pounds", "increased weight",
    ),
    ("Weight decreased", "R63.4"): ("weight loss", "lost weight", "losing weight", "weight decrease"),
    ("Increased appetite", "R63.2"): (
        "increased appetite", "appetite increase", "always hungry", "constantly hungry",
        "craving sweets", "carb cravings", "cravings", "munchies",
    ),
    ("Decreased appetite", "R63.0"): (
        "loss of appetite", "lost my appetite", "no appetite", "decreased appetite",
        "appetite loss", "lack of appetite", "poor appetite",
    ),
    ("Headache", "R51.9"): ("headache", "headaches", "head ache", "head aches", "migraine-like headache"),
    ("Migraine", "G43.909"): ("migraine", "migraines"),
    ("Nausea", "R11.0"): ("nausea", "nauseous", "nauseated", "nauseus", "queasy", "sick to my stomach", "feeling sick"),
    ("Vomiting", "R11.10"): ("vomiting", "vomit", "throwing up", "threw up", "puking"),
    ("Dizziness", "R42"): (
        "dizziness", "dizzy", "dizzyness", "lightheaded", "light headed", "lightheadedness",
        "vertigo", "room spinning", "woozy",
    ),
    ("Dry mouth", "R68.2"): ("dry mouth", "cotton mouth", "cottonmouth", "mouth dryness"),
    ("Hyperhidrosis", "R61"): (
        "sweating", "night sweats", "excessive sweating", "sweats", "sweaty", "hot flashes",
        "profuse sweating", "sweating a lot",
    ),
    ("Anxiety", "F41.9"): (
        "anxiety", "anxious", "increased anxiety", "more anxious", "nervousness", "jittery",
        "jitters", "on edge", "restless", "restlessness",
    ),
    ("Panic attack", "F41.0"): ("panic attack", "panic attacks", "panic"),
    ("Depression", "F32.A"): ("depression", "depressed", "worse depression", "more depressed"),
    ("Suicidal ideation", "R45.851"): (
        "suicidal thoughts", "suicidal", "thoughts of suicide", "suicidal ideation",
        "wanted to die", "wanting to die", "thoughts of killing myself",
    ),
    ("Irritability", "R45.4"): ("irritability", "irritable", "short tempered", "snappy", "cranky", "agitation", "agitated"),
    ("Anger", "R45.4"): ("anger", "angry", "rage", "outbursts", "aggression", "aggressive"),
    ("Mood swings", "R45.86"): ("mood swings", "moody", "emotional lability"),
    ("Emotional blunting", "R45.89"): (
        "emotional numbness", "emotionally numb", "numb", "numbness", "flat", "emotionally flat",
        "zombie", "like a zombie", "blunted emotions", "no emotions", "couldn't cry",
        "can't cry", "don't care about anything", "apathy", "apathetic",
    ),
    ("Crying", "R45.83"): ("crying", "crying spells", "cry all the time", "tearful", "weepy"),
    ("Loss of libido", "R68.82"): (
        "loss of libido", "low libido", "no libido", "decreased libido", "no sex drive",
        "low sex drive", "loss of sex drive", "lost my sex drive", "decreased sex drive",
        "lack of sex drive", "no desire", "loss of interest in sex", "zero libido",
    ),
    ("Sexual dysfunction", "R37"): (
        "sexual dysfunction", "sexual side effects", "sexual problems", "pssd",
        "post-ssri sexual dysfunction",
    ),
    ("Anorgasmia", "R37"): (
        "anorgasmia", "can't orgasm", "cannot orgasm", "unable to orgasm", "inability to orgasm",
        "couldn't orgasm", "trouble reaching orgasm", "delayed orgasm", "delayed ejaculation",
        "can't climax", "unable to climax", "difficulty achieving orgasm",
    ),
    ("Erectile dysfunction", "N52.9"): ("erectile dysfunction", "impotence", "couldn't get an erection", "can't get an erection"),
    ("Alopecia", "L65.9"): ("hair loss", "losing hair", "hair falling out", "thinning hair", "alopecia"),
    ("Tremor", "R25.1"): ("tremor", "tremors", "shaking", "shaky", "shakes", "trembling", "hand tremors"),
    ("Diarrhoea", "R19.7"): ("diarrhea", "diarrhoea", "loose stools", "the runs"),
    ("Constipation", "K59.00"): ("constipation", "constipated"),
    ("Abdominal pain", "R10.9"): ("stomach pain", "stomach ache", "stomachache", "abdominal pain", "stomach cramps", "belly pain"),
    ("Dyspepsia", "R10.13"): ("upset stomach", "indigestion", "stomach upset", "heartburn", "heart burn", "acid reflux"),
    ("Rash", "R21"): ("rash", "skin rash", "hives", "breakout", "red spots"),
    ("Pruritus", "L29.9"): ("itching", "itchy", "itchiness", "pruritus"),
    ("Vision blurred", "H53.8"): ("blurred vision", "blurry vision", "vision problems", "blurry eyes"),
    ("Abnormal dreams", "F51.5"): (
        "vivid dreams", "nightmares", "weird dreams", "strange dreams", "bad dreams",
        "crazy dreams", "intense dreams", "disturbing dreams", "abnormal dreams",
    ),
    ("Memory impairment", "R41.3"): (
        "memory loss", "memory problems", "short-term memory loss", "forgetful",
        "forgetfulness", "poor memory", "memory issues", "can't remember things",
    ),
    ("Disturbance in attention", "R41.840"): (
        "brain fog", "foggy", "fogginess", "mental fog", "can't concentrate",
        "cannot concentrate", "trouble concentrating", "difficulty concentrating",
        "poor concentration", "lack of concentration", "inability to concentrate",
        "can't focus", "cannot focus", "spacey", "spaced out", "spacy", "confusion", "confused",
    ),
    ("Paraesthesia", "R20.2"): (
        "brain zaps", "brain zap", "brain shivers", "electric shocks", "zaps", "zapping",
        "tingling", "pins and needles",
    ),
    ("Yawning", "R06.89"): ("yawning", "excessive yawning", "constant yawning"),
    ("Palpitations", "R00.2"): ("palpitations", "heart racing", "racing heart", "heart pounding", "pounding heart"),
    ("Tachycardia", "R00.0"): ("rapid heartbeat", "fast heart rate", "tachycardia"),
    ("Bruxism", "F45.8"): ("teeth grinding", "grinding my teeth", "jaw clenching", "clenching my jaw", "bruxism", "jaw pain"),
    ("Muscle spasms", "M62.838"): ("muscle spasms", "twitching", "muscle twitches", "cramps", "muscle cramps"),
    ("Myalgia", "M79.10"): ("muscle pain", "muscle aches", "body aches", "aches", "myalgia"),
    ("Arthralgia", "M25.50"): ("joint pain", "joint aches", "arthralgia"),
    ("Akathisia", "G25.71"): ("akathisia", "restless legs", "couldn't sit still", "can't sit still"),
    ("Tinnitus", "H93.19"): ("tinnitus", "ringing in my ears", "ringing ears", "ringing in the ears"),
    ("Hypertension", "I10"): ("high blood pressure", "blood pressure went up", "hypertension"),
    ("Hallucination", "R44.3"): ("hallucinations", "hallucinating", "seeing things"),
    ("Mania", "F30.9"): ("mania", "manic", "hypomania", "hypomanic"),
    ("Withdrawal syndrome", "F19.939"): (
        "withdrawal", "withdrawals", "withdrawal symptoms", "discontinuation syndrome",
        "discontinuation symptoms",
    ),
    ("Influenza like illness", "R68.89"): ("flu-like symptoms", "flu like symptoms", "felt like the flu"),
    ("Dry eye", "H04.123"): ("dry eyes",),
    ("Chest pain", "R07.9"): ("chest pain", "chest pains", "chest tightness"),
    ("Dyspnoea", "R06.00"): ("shortness of breath", "short of breath", "can't breathe", "trouble breathing"),
    ("Seizure", "R56.9"): ("seizure", "seizures", "convulsions"),
    ("Bruising", "R23.3"): ("bruising", "bruise easily", "easy bruising"),
    ("Feeling abnormal", "R68.89"): (
        "feel weird", "felt weird", "feeling weird", "felt strange", "out of it",
        "feel like a zombie", "stoned", "feel drunk", "hungover", "feeling hungover",
    ),
    ("Hypersomnia", "G47.10"): ("hypersomnia", "sleep all day", "slept all day", "sleeping 12 hours"),
    ("Libido increased", "R68.89"): ("increased libido", "higher sex drive"),
}

#: normalised lay phrase -> (medical term, ICD-10-CM code)
LAY_TERMS: dict[str, tuple[str, str]] = {
    phrase: key for key, phrases in _GROUPS.items() for phrase in phrases
}
