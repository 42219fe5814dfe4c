"""S7's benchmarks: ``python -m bench`` (``make bench``) writes bench/results.md.

Every figure is a ratio against a baseline measured in the same run on the same machine. The
harness starts its own services (SeaweedFS, a Postgres database, gunicorn, a Celery worker) and
tears them down; ``--smoke`` runs everything once on tiny sizes (tests/test_bench_smoke.py).
"""
