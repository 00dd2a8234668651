"""Skills are free slugs ``[a-z0-9-]+``; a starter catalogue per field helps people type them."""

import re

from matching.vocab.folding import fold

SKILL_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_NON_SLUG = re.compile(r"[^a-z0-9]+")


def normalise_skill(text: str) -> str:
    """Trim, lower-case, fold diacritics and turn runs of other characters into one hyphen."""
    return _NON_SLUG.sub("-", fold(text)).strip("-")


def parse_skills(cell: str | None) -> list[str]:
    """A ``;``-separated cell (commas tolerated) as unique normalised slugs, order kept."""
    if not cell:
        return []
    seen: dict[str, None] = {}
    for part in re.split(r"[;,]", str(cell)):
        slug = normalise_skill(part)
        if slug:
            seen.setdefault(slug, None)
    return list(seen)


SKILL_CATALOGUE: dict[str, list[str]] = {
    "nursing_care": ["bathing-assistance", "meal-assistance", "mobility-assistance",
                     "dementia-care", "vital-signs", "care-records", "toileting-assistance"],
    "building_cleaning": ["floor-cleaning", "window-cleaning", "sanitation", "waste-sorting",
                          "cleaning-machines"],
    "manufacturing": ["cnc-machining", "welding", "press-operation", "quality-inspection",
                      "electronics-assembly", "plastic-molding", "forklift", "painting"],
    "construction": ["formwork", "rebar", "scaffolding", "concrete", "plastering", "tiling",
                     "interior-finishing", "heavy-machinery", "welding"],
    "shipbuilding": ["welding", "painting", "ironwork", "finishing", "electrical-wiring"],
    "auto_repair": ["engine-maintenance", "brake-service", "diagnostics", "tyre-service",
                    "electrical-systems"],
    "aviation": ["ground-handling", "aircraft-maintenance", "baggage-handling"],
    "accommodation": ["front-desk", "housekeeping", "restaurant-service", "customer-service"],
    "agriculture": ["crop-cultivation", "greenhouse", "livestock", "dairy", "harvesting",
                    "tractor-operation"],
    "fishery": ["aquaculture", "net-fishing", "fish-processing", "boat-operation"],
    "food_manufacturing": ["food-hygiene", "haccp", "bakery", "meat-processing", "packaging",
                           "seafood-processing"],
    "food_service": ["cooking", "food-hygiene", "customer-service", "kitchen-prep",
                     "dishwashing"],
    "auto_transport": ["truck-driving", "bus-driving", "taxi-driving", "cargo-handling"],
    "railway": ["track-maintenance", "rolling-stock-maintenance", "station-service"],
    "forestry": ["chainsaw", "logging", "planting", "forest-road-work"],
    "wood_industry": ["sawmill", "woodworking", "plywood", "lumber-grading"],
}
