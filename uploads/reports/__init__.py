"""For the people who run the site: upload figures computed by the database, printed by
``manage.py upload_report`` and shown in the admin, as a table (Upload report) and as charts with
their CSV (Upload analytics, to which a project adds sections of its own)."""
