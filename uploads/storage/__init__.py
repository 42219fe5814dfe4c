"""The only code that talks to S3: the gateway (``s3``), the fast SigV4 part-URL signer
(``sigv4``) and the local SeaweedFS server for development and tests (``local``).
It imports nothing else of the engine."""
