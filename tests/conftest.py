"""Suite-wide fixtures: real peers started by tests/harness.

``es_node``
    a running Elasticsearch node (:class:`tests.harness.elasticsearch.EsNode`:
    ``url``, ``version``, ``username``, ``password``, ``api_keys``), one per
    version in ``NETGUARD_TEST_ES_VERSIONS`` (default ``8.19.8,9.2.4``); a test
    that uses it runs once per version. Nodes start on first use, all selected
    versions at once, and stop at the end of the session. A node that cannot
    start skips its tests with the reason, or fails them in CI (``CI=true``).
``es_client``
    an ``elasticsearch.Elasticsearch`` client for that node, authenticated as
    the ``elastic`` superuser (basic auth).
``es_zip``
    a function ``version -> Path`` giving the distribution zip in ``~/.m2``,
    fetching it with Maven first if needed.

Tests that use ``es_node`` get the ``elasticsearch`` marker, so ``-m "not
elasticsearch"`` leaves them out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from tests.harness.elasticsearch import ElasticsearchNodes, EsNode, configured_versions, fetch_zip
from tests.harness.peers import PeerUnavailable, require_peer


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "es_node" in metafunc.fixturenames:
        versions = configured_versions()
        metafunc.parametrize("es_node", versions, indirect=True, scope="session", ids=[f"es{v}" for v in versions])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "es_node" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.elasticsearch)


@pytest.fixture(scope="session")
def _es_nodes(request: pytest.FixtureRequest) -> Iterator[ElasticsearchNodes]:
    # Start only the versions the selected tests use (``-k es9.2.4`` starts one node).
    wanted = {
        str(item.callspec.params["es_node"])
        for item in request.session.items
        if hasattr(item, "callspec") and "es_node" in item.callspec.params
    }
    nodes = ElasticsearchNodes([v for v in configured_versions() if v in wanted])
    yield nodes
    nodes.stop_all()


@pytest.fixture(scope="session")
def es_node(request: pytest.FixtureRequest, _es_nodes: ElasticsearchNodes) -> EsNode:
    version = str(request.param)
    try:
        return _es_nodes.get(version)
    except PeerUnavailable as exc:
        reason = f"Elasticsearch {version} unavailable: {exc}"
    require_peer(reason)


@pytest.fixture
def es_client(es_node: EsNode) -> Iterator[Elasticsearch]:
    client = Elasticsearch(**es_node.client_kwargs())
    yield client
    client.close()


@pytest.fixture(scope="session")
def es_zip() -> Callable[[str], Path]:
    def get(version: str) -> Path:
        try:
            return fetch_zip(version)
        except PeerUnavailable as exc:
            reason = str(exc)
        require_peer(reason)

    return get
