"""Survey instruments (YAML) harmonised with Census 2021: schema, validation, derived variables, exports."""
