"""The direct-to-S3 upload engine: a reusable Django app that knows nothing of the site.

Its packages say where their code runs:

- ``core``     anywhere: the Upload model and its state machine, the part plan, purposes,
               progress records, errors, signals, and the dispatch of work to the worker.
- ``storage``  anywhere, the only code that talks to S3: the gateway and the SigV4 part-URL
               signer.
- ``api``      in a web request: the JSON API and the services it calls (create, sign,
               complete, abort).
- ``pages``    in a web request: the form field and widget a site's forms use, the uploader
               demo page and rendition links.
- ``worker``   on the Celery worker: tasks, completion, verification, renditions, image
               decoding, and the periodic sweeps.
- ``reports``  for the operators: figures computed by the database (admin page, command).
- ``client``   on anybody's machine: the Python client, which imports nothing of Django.

Beside them, ``conf`` holds the engine's settings with their defaults and ``tasknames`` the
worker's task names and beat schedule; README.md beside this file is the guide for a project
that installs the engine.
"""
