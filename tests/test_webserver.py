"""The Dagster webserver loads workspace.yaml and shows the billing assets with their partitions."""
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.servers import free_port

QUERY = """{ assetNodes { assetKey { path } groupName partitionDefinition { name } }
             workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"""


@pytest.fixture(scope="module")
def webserver(tmp_path_factory):
    home = tmp_path_factory.mktemp("webserver")
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home / "dagster"), "BILLING_HOME": str(home)}
    (home / "dagster").mkdir()
    (home / "dagster" / "dagster.yaml").write_text(Path("billing_jobs/dagster.yaml").read_text())
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-webserver")), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/server_info", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        process.terminate()
        pytest.fail("dagster-webserver did not start")
    yield url
    process.terminate()
    process.wait(timeout=30)


def graphql(url: str, query: str) -> dict:
    request = urllib.request.Request(f"{url}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(request, timeout=60).read())["data"]


def test_the_ui_shows_the_assets_and_their_partitions(webserver):
    data = graphql(webserver, QUERY)
    [location] = data["workspaceOrError"]["locationEntries"]
    assert location["loadStatus"] == "LOADED"
    nodes = {"/".join(n["assetKey"]["path"]): n for n in data["assetNodes"]}
    assert {"usage_events", "daily_usage", "monthly_usage", "usage_metrics"} <= set(nodes)
    assert nodes["usage_events"]["partitionDefinition"] is not None
    assert nodes["monthly_usage"]["groupName"] == "metering"
