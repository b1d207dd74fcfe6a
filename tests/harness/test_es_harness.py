"""The Elasticsearch harness itself: each configured version starts, reports its version, and
speaks to the project's 8.x Python client with basic auth and with API keys."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import AuthenticationException, Elasticsearch, helpers

from tests.harness.elasticsearch import EsNode, configured_versions, m2_zip
from tests.harness.peers import require_peer


def test_cluster_health_and_reported_version(es_node: EsNode, es_client: Elasticsearch) -> None:
    health = es_client.cluster.health(wait_for_status="yellow", timeout="30s")
    assert health["status"] in ("yellow", "green")
    assert health["number_of_nodes"] == 1
    nodes = es_client.nodes.info(node_id="_local", filter_path="nodes.*.version")["nodes"]
    assert [n["version"] for n in nodes.values()] == [es_node.version]
    assert es_node.url.startswith(("http://127.0.0.1:", "https://127.0.0.1:"))
    assert es_node.url.startswith("https://") == (es_node.ca_certs is not None)


def test_the_8x_client_indexes_and_searches(es_client: Elasticsearch) -> None:
    # The 8.x client sends compatible-with=8 headers; a 9.x server must accept them.
    index = f"netguard-harness-{uuid.uuid4().hex[:8]}"
    es_client.indices.create(
        index=index,
        mappings={
            "properties": {
                "@timestamp": {"type": "date"},
                "host": {"properties": {"mac": {"type": "keyword"}}},
                "message": {"type": "text"},
            }
        },
        settings={"number_of_replicas": 0},
    )
    try:
        ok, errors = helpers.bulk(
            es_client,
            (
                {
                    "_index": index,
                    "_id": str(i),
                    "@timestamp": f"2025-03-01T08:00:0{i}Z",
                    "host": {"mac": f"00:1a:2b:3c:4d:0{i}"},
                    "message": f"device {i} seen",
                }
                for i in range(5)
            ),
            refresh="wait_for",
        )
        assert (ok, errors) == (5, [])
        hits = es_client.search(index=index, query={"term": {"host.mac": "00:1a:2b:3c:4d:03"}})["hits"]
        assert hits["total"]["value"] == 1 and hits["hits"][0]["_id"] == "3"
    finally:
        es_client.indices.delete(index=index)


def test_security_is_on_and_wrong_credentials_are_refused(es_node: EsNode) -> None:
    if es_node.password is None:
        require_peer("the node runs with security off (NETGUARD_TEST_ES_SECURITY=0)")
    tls: dict[str, Any] = {"ca_certs": str(es_node.ca_certs)} if es_node.ca_certs else {}
    anonymous = Elasticsearch(es_node.url, **tls)
    wrong = Elasticsearch(es_node.url, basic_auth=("elastic", "not-the-password"), **tls)
    try:
        for client in (anonymous, wrong):
            with pytest.raises(AuthenticationException):
                client.cluster.health()
    finally:
        anonymous.close()
        wrong.close()


def test_api_keys_authenticate(es_node: EsNode, es_client: Elasticsearch) -> None:
    if not es_node.api_keys:
        require_peer(f"API keys unavailable on Elasticsearch {es_node.version}: {es_node.api_keys_unavailable}")
    key = es_client.security.create_api_key(name=f"netguard-harness-{uuid.uuid4().hex[:6]}", expiration="1h")
    tls: dict[str, Any] = {"ca_certs": str(es_node.ca_certs)} if es_node.ca_certs else {}
    with Elasticsearch(es_node.url, api_key=key["encoded"], **tls) as by_key:
        who = by_key.security.authenticate()
        assert who["authentication_type"] == "api_key" and who["username"] == "elastic"
        assert by_key.cluster.health()["status"] in ("yellow", "green")
    es_client.security.invalidate_api_key(ids=[key["id"]])


def test_zip_fixture_finds_the_cached_distribution(es_zip: Callable[[str], Path]) -> None:
    version = configured_versions()[0]
    if not m2_zip(version).is_file():
        pytest.skip("the zip is not in ~/.m2 yet; fetching it here would make this test slow")
    assert es_zip(version) == m2_zip(version)
