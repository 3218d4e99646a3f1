"""SigV4's constants and the shape of a computed signature, shared by the presigner and botocore's signers."""

from __future__ import annotations

from dataclasses import dataclass

SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"  # botocore's, written here so minting never imports botocore
QUERY_AUTH_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
)


@dataclass(frozen=True)
class Computed:
    """A signature as the server computes it, with what S3 shows a client whose signature differs."""

    signature: str
    canonical_request: str
    string_to_sign: str
