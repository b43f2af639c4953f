"""Flask-WTF forms, one per form, by area (account, household, resident, manage, admin, gate), with
what they share in `fields`. Field names are the API field names, and every message is in the
catalog."""
