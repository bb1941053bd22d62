"""Reason text: how officers write each purpose, drawn from the pools in ``simulator/data/reasons.toml``.

Python only decides *which* pool to draw from (honest, vague, a cover story, an explicit federal
beneficiary) and the era's shape (free text before Flock's dropdown, ``Category - detail`` after);
the phrasings themselves are data.
"""
from __future__ import annotations

import random
from datetime import date

from simulator.scenario import data_file


class Phrasebook:
    """Reason pools by purpose, plus vague, cover and beneficiary phrasings."""

    def __init__(self) -> None:
        data = data_file("reasons.toml")
        self.dropdown_from: date = data["dropdown_from"]
        self.purposes: dict[str, dict] = data["purposes"]
        self.vague: list[str] = data["vague"]["free"]
        self.disguise: list[str] = data["disguise"]["free"]
        self.beneficiary: dict[str, list[str]] = {k: v["free"] for k, v in data["beneficiary"].items()}
        self.requests: list[str] = data["requests"]["free"]
        self.prompts: list[str] = data["prompts"]["free"]
        self._categories = [p["category"] for p in self.purposes.values()]

    def honest(self, rng: random.Random, purpose: str, dropdown: bool) -> str:
        """What an officer writes when the reason says what the search was for."""
        pool = self.purposes[purpose]
        if not dropdown:
            return rng.choice(pool["free"])
        roll = rng.random()
        if roll < 0.12:
            # Several categories ticked: comma-joined in one cell, the true one among them.
            others = rng.sample(self._categories, 2)
            cats = [pool["category"], *(c for c in others if c != pool["category"])]
            rng.shuffle(cats)
            return ", ".join(cats)
        if roll < 0.25:
            return pool["category"]
        return f"{pool['category']} - {rng.choice(pool['detail'])}"

    def vague_reason(self, rng: random.Random, dropdown: bool) -> str:
        """A reason that says nothing (`investigation`, `inv`, `.`)."""
        text = rng.choice(self.vague)
        if dropdown and rng.random() < 0.6:
            return f"Other - {text}" if text != "Other - Not Applicable" else text
        return text

    def cover(self, rng: random.Random, dropdown: bool) -> str:
        """A cover reason hiding who a search is for (`investigation` for an ICE request)."""
        text = rng.choice(self.disguise)
        if dropdown and rng.random() < 0.5 and not text.startswith("Other"):
            return f"Other - {text}"
        return text

    def for_beneficiary(self, rng: random.Random, component: str, purpose: str, dropdown: bool) -> str:
        """An explicit reason naming the federal agency the search is for (`per ICE ERO`, `HSI assist`)."""
        text = rng.choice(self.beneficiary.get(component) or self.beneficiary["ICE"])
        if purpose != "immigration" and rng.random() < 0.4:
            # HSI's criminal cases read like `HSI assist - human trafficking`.
            text = f"{text} - {rng.choice(self.purposes[purpose]['free'])}"
        if dropdown:
            category = self.purposes[purpose]["category"]
            return f"{category} - {text}"
        return text

    def for_agency(self, rng: random.Random, spoken: str, purpose: str, dropdown: bool) -> str:
        """A reason naming the local, state or task-force agency the search is for (`assist Peoria PD`)."""
        text = rng.choice(self.requests).format(agency=spoken)
        if rng.random() < 0.35:
            text = f"{rng.choice(self.purposes[purpose]['free'])} - {text}"
        if dropdown:
            return f"{self.purposes[purpose]['category']} - {text}"
        return text

    def prompt(self, rng: random.Random) -> str:
        """A vehicle description typed into a freeform search."""
        return rng.choice(self.prompts)
