"""Terminology linking shared by the extractors: ICD-10-CM (local) and MedDRA (user's release)."""
