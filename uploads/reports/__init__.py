"""For the people who run the site: upload figures computed by the database, shown in the
admin and printed by ``manage.py upload_report``."""
