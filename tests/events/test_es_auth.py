"""Opening the Elasticsearch store from netguard.yaml: authentication by reference, secrets never shown."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from netguard.config import load_config
from netguard.errors import StoreError
from netguard.events import open_event_store
from netguard.events.es_store import ElasticsearchEventStore
from netguard.lab.synthetic_events import synthetic_events
from netguard.secrets import write_private


def _config(tmp_path: Path, url: str, auth: str, ca_certs: Path | None = None) -> Path:
    if ca_certs is not None:
        auth += f"    ca_certs: {ca_certs}\n"
    path = tmp_path / "netguard.yaml"
    path.write_text(
        f"secrets_file: secrets.yaml\n"
        f"events:\n  backend: elasticsearch\n  elasticsearch:\n    hosts: [{url}]\n    replicas: 0\n"
        f"    index_prefix: auth{os.getpid()}\n{auth}",
        encoding="utf-8",
    )
    return path


def test_basic_auth_from_the_secrets_file(tmp_path: Path, es_node: Any, es_client: Elasticsearch) -> None:
    if es_node.password is None:
        pytest.skip("security is off on this node")
    write_private(tmp_path / "secrets.yaml", f"es-password: {es_node.password}\n")
    cfg = load_config(
        _config(
            tmp_path,
            es_node.url,
            f"    username: {es_node.username}\n    password: secret:es-password\n",
            es_node.ca_certs,
        )
    )
    store = open_event_store(cfg)
    try:
        assert store.write(synthetic_events(5)).written == 5
        store.refresh()
        assert store.count() == 5
    finally:
        es_client.indices.delete(index=f"auth{os.getpid()}-*", allow_no_indices=True)
        es_client.indices.delete_index_template(name=f"auth{os.getpid()}-*")
        store.close()


def test_api_key_from_the_environment(
    tmp_path: Path, es_node: Any, es_client: Elasticsearch, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not es_node.api_keys:
        pytest.skip(f"API keys unavailable on this node: {es_node.api_keys_unavailable}")
    key = es_client.security.create_api_key(name="netguard-test").body
    monkeypatch.setenv("NG_TEST_ES_API_KEY", key["encoded"])
    write_private(tmp_path / "secrets.yaml", "unused: x\n")
    cfg = load_config(_config(tmp_path, es_node.url, "    api_key: env:NG_TEST_ES_API_KEY\n", es_node.ca_certs))
    store = open_event_store(cfg)
    try:
        assert store.write(synthetic_events(3)).written == 3
    finally:
        es_client.indices.delete(index=f"auth{os.getpid()}-*", allow_no_indices=True)
        es_client.indices.delete_index_template(name=f"auth{os.getpid()}-*")
        store.close()


def test_wrong_password_is_one_clear_error_without_the_secret(tmp_path: Path, es_node: Any) -> None:
    if es_node.password is None:
        pytest.skip("security is off on this node")
    wrong = "Wr0ng-pa55word-XYZ"
    write_private(tmp_path / "secrets.yaml", f"es-password: {wrong}\n")
    cfg = load_config(
        _config(tmp_path, es_node.url, "    username: elastic\n    password: secret:es-password\n", es_node.ca_certs)
    )
    with pytest.raises(StoreError) as info:
        open_event_store(cfg)
    assert "401" in str(info.value) and wrong not in str(info.value)


def test_unreachable_cluster_is_one_clear_error(tmp_path: Path) -> None:
    write_private(tmp_path / "secrets.yaml", "pw: s3cret-value\n")
    # Credentials in the URL are refused at load (tests/config/test_secret_safety.py); here they have their keys.
    auth = "    username: elastic\n    password: secret:pw\n    request_timeout: 2\n"
    cfg = load_config(_config(tmp_path, "http://127.0.0.1:9", auth))
    with pytest.raises(StoreError) as info:
        open_event_store(cfg)
    message = str(info.value)
    assert message.startswith("cannot reach Elasticsearch at http://127.0.0.1:9")
    assert "s3cret-value" not in message


def test_a_cluster_lost_mid_write_says_how_far_it_got(es_store: ElasticsearchEventStore) -> None:
    first = es_store.write(synthetic_events(50))
    assert first.written == 50
    es_store.client = Elasticsearch("http://127.0.0.1:9", request_timeout=2, max_retries=0)
    with pytest.raises(StoreError) as info:
        es_store.write(synthetic_events(80))
    assert "cannot reach Elasticsearch" in str(info.value)
    assert "(after 0 events stored" in str(info.value)


def test_https_needs_the_cluster_ca(tmp_path: Path, es_node: Any, es_client: Elasticsearch) -> None:
    """The 9.x node serves HTTPS: without its CA the store refuses it, with ``ca_certs`` it works.
    The 8.x node serves plain HTTP and needs no CA."""
    write_private(tmp_path / "secrets.yaml", f"es-password: {es_node.password}\n")
    auth = f"    username: {es_node.username}\n    password: secret:es-password\n"
    if es_node.ca_certs is not None:
        assert es_node.url.startswith("https://")
        with pytest.raises(StoreError) as info:
            open_event_store(load_config(_config(tmp_path, es_node.url, auth)))
        assert "cannot reach Elasticsearch" in str(info.value) and "certificate" in str(info.value).lower()
        assert es_node.password not in str(info.value)
    else:
        assert es_node.url.startswith("http://")
    store = open_event_store(load_config(_config(tmp_path, es_node.url, auth, es_node.ca_certs)))
    try:
        assert store.write(synthetic_events(3, seed=31)).written == 3
        store.refresh()
        assert store.count("outcome:*") + store.count("NOT outcome:*") == 3
    finally:
        es_client.indices.delete(index=f"auth{os.getpid()}-*", allow_no_indices=True)
        es_client.indices.delete_index_template(name=f"auth{os.getpid()}-*")
        store.close()
