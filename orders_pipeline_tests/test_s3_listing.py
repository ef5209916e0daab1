"""ListObjectsV2 on the local stack answers byte for byte what moto's own serializer writes."""

from __future__ import annotations

import urllib.parse
import urllib.request
import uuid

import pytest

from orders_pipeline.local_stack.s3 import listing

KEYS = [
    "raw/orders/dt=2024-06-10/a.json",
    "raw/orders/dt=2024-06-10/b&c<d>.json",
    "raw/orders/dt=2024-06-11/café plus+sign.json",
    "raw/orders/dt=2024-06-11/z.json",
    "raw/errors/x.json",
    "readme.txt",
]


@pytest.fixture(scope="module")
def bucket(aws_client) -> str:
    s3 = aws_client("s3")
    name = f"listing-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name)
    for index, key in enumerate(KEYS):
        s3.put_object(Bucket=name, Key=key, Body=b"x" * index)
    s3.put_object(Bucket=name, Key="raw/orders/dt=2024-06-10/a.json", Body=b"again")
    s3.put_object(Bucket=name, Key="raw/sums.json", Body=b"{}", ChecksumAlgorithm="SHA256")
    s3.put_object(Bucket=name, Key="raw/gone.json", Body=b"")
    s3.delete_object(Bucket=name, Key="raw/gone.json")
    return name


def listed(local_stack, bucket: str, query: dict[str, str]) -> tuple[int, str, bytes]:
    url = f"{local_stack.endpoint_url}/{bucket}?" + urllib.parse.urlencode(
        {"list-type": "2", **query}
    )
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.headers["Content-Type"], response.read()


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"prefix": "raw/"},
        {"prefix": "raw/orders/", "delimiter": "/"},
        {"delimiter": "/"},
        {"prefix": "raw/", "encoding-type": "url"},
        {"prefix": "raw/", "delimiter": "/", "encoding-type": "url"},
        {"max-keys": "2"},
        {"max-keys": "0"},
        {"start-after": "raw/orders/dt=2024-06-10/a.json"},
        {"fetch-owner": "true", "prefix": "raw/orders/"},
        {"prefix": "nothing/"},
    ],
    ids=lambda query: "&".join(f"{k}={v}" for k, v in query.items()) or "all",
)
def test_a_listing_is_what_motos_serializer_writes(
    local_stack, bucket, monkeypatch: pytest.MonkeyPatch, query: dict[str, str]
) -> None:
    written: list[str | None] = []
    monkeypatch.setattr(
        listing,
        "listing_xml",
        lambda result, own=listing.listing_xml: written.append(own(result)) or written[-1],
    )
    fast = listed(local_stack, bucket, query)
    monkeypatch.setattr(listing, "listing_xml", lambda result: None)

    assert fast == listed(local_stack, bucket, query)
    assert written and written[-1] is not None  # the listing did not fall back to moto's


def test_a_continued_listing_is_what_motos_serializer_writes(
    local_stack, bucket, aws_client, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = aws_client("s3").list_objects_v2(Bucket=bucket, MaxKeys=3)
    query = {"max-keys": "3", "continuation-token": first["NextContinuationToken"]}
    fast = listed(local_stack, bucket, query)
    monkeypatch.setattr(listing, "listing_xml", lambda result: None)

    assert fast == listed(local_stack, bucket, query)


def test_a_result_of_another_form_is_left_to_motos_serializer() -> None:
    assert listing.listing_xml({"IsTruncated": False, "Contents": [], "Unknown": 1}) is None
    assert listing.listing_xml({"Contents": [{"Key": "a", "LastModified": "yesterday"}]}) is None
    assert listing.listing_xml({"Contents": [{"Key": "a", "Size": 1.5}]}) is None
    assert listing.listing_xml({"Contents": [{"Key": "a", "Owner": {"ID": ["x"]}}]}) is None
