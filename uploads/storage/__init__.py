"""The only code that talks to S3: the gateway (``s3``) and the fast SigV4 part-URL signer
(``sigv4``). It imports nothing else of the engine but its settings (``uploads.conf``)."""
