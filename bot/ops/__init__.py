"""Running Holdfast for an organisation: operator reports, health, roles and outages."""
