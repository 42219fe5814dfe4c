"""Runs in a web request: what a site's HTML pages use — the upload form field and its widget
(the browser uploader), the uploader demo page and short-lived rendition links."""
