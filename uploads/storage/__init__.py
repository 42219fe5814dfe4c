"""The only code that talks to S3, one module a job: ``connection`` (the client, the bucket, S3's
errors as ours), ``multipart``, ``objects``, ``presign`` (URLs signed for browsers, with
``sigv4``, the fast part-URL signer), ``bucket_setup`` (CORS, lifecycle) and ``disposition``
(how a download is named). It imports nothing else of the engine but its settings
(``uploads.conf``)."""
