"""Public file formats (DESIGN §4): column names that importers, exports and users share."""

#: Trainee CSV/XLSX header, in order. Optional columns may be absent from a file.
TRAINEE_COLUMNS = (
    "external_id", "full_name", "date_of_birth", "gender", "province", "school", "field",
    "skills", "japanese_level", "training_hours", "experience_years", "preferred_prefectures",
    "available_from",
)
TRAINEE_OPTIONAL_COLUMNS = ("email", "phone")
TRAINEE_REQUIRED = ("external_id", "full_name", "date_of_birth", "province", "field",
                    "japanese_level")

#: List cells (skills, prefectures) are separated by this character.
LIST_SEPARATOR = ";"
