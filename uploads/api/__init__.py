"""Runs in a web request: the JSON upload API (one view per URL) and the services it calls.

Every request answers in milliseconds whatever the file's size: nothing here reads an object;
what can be slow is handed to the worker."""
