"""botocore's SigV4 signers, told the time by the emulator's clock instead of the wall clock.

Verification and the reference presigner (`Presigner.mint_with_botocore`) are botocore's own
code through two subclasses. Importing botocore is a tenth of the emulator's start-up, so the
subclasses are made on first use (`signers()`), not when this module is imported.

botocore offers no public way to sign at a given time: the signers read the time from
`request.context["timestamp"]` and build the URL in `_modify_request_before_signing` and
`_inject_signature_to_request`, which this module alone calls (private names of botocore,
used here because nothing public does the same; the unit tests pin their behaviour).
"""

from __future__ import annotations

from functools import cache
from types import SimpleNamespace

from upload_emulator.blobs.sigv4 import Computed


@cache
def signers() -> SimpleNamespace:
    """`AWSRequest`, `TimedQueryAuth` and `TimedHeaderAuth`, botocore imported the first time."""
    from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    class TimedQueryAuth(S3SigV4QueryAuth):
        """botocore's presigner with the timestamp supplied by the caller."""

        def __init__(self, access_key: str, secret_key: str, region: str, expires: int, timestamp: str) -> None:
            super().__init__(Credentials(access_key, secret_key), "s3", region, expires=expires)
            self.timestamp = timestamp

        def add_auth(self, request: AWSRequest) -> None:
            request.context["timestamp"] = self.timestamp
            self._modify_request_before_signing(request)
            string_to_sign = self.string_to_sign(request, self.canonical_request(request))
            self._inject_signature_to_request(request, self.signature(string_to_sign, request))

        def signature_for(self, request: AWSRequest) -> Computed:
            """Recompute the signature of an already-presigned request (auth params in its URL)."""
            request.context["timestamp"] = self.timestamp
            canonical = self.canonical_request(request)
            string_to_sign = self.string_to_sign(request, canonical)
            return Computed(self.signature(string_to_sign, request), canonical, string_to_sign)

    class TimedHeaderAuth(S3SigV4Auth):
        """botocore's header signer, recomputing a signature at a given timestamp."""

        def __init__(self, access_key: str, secret_key: str, region: str) -> None:
            super().__init__(Credentials(access_key, secret_key), "s3", region)

        def signature_at(self, request: AWSRequest, timestamp: str) -> Computed:
            request.context["timestamp"] = timestamp
            canonical = self.canonical_request(request)
            string_to_sign = self.string_to_sign(request, canonical)
            return Computed(self.signature(string_to_sign, request), canonical, string_to_sign)

    return SimpleNamespace(AWSRequest=AWSRequest, TimedQueryAuth=TimedQueryAuth, TimedHeaderAuth=TimedHeaderAuth)
