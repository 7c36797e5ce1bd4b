"""The Dagster webserver loads workspace.yaml and shows the billing assets with their partitions; a backfill
launched as the UI's Jobs page launches it runs under that job (docs/operations.md, "Backfilling from the UI")."""
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from billing_jobs.definitions import defs
from tests.servers import free_port

QUERY = """{ assetNodes { assetKey { path } groupName partitionDefinition { name } }
             workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"""


@pytest.fixture(scope="module")
def webserver(tmp_path_factory):
    home = tmp_path_factory.mktemp("webserver")
    port = free_port()
    # Stripe's settings set, empty, as every Dagster process needs them (README): a job's run plan resolves them
    env = {**os.environ, "DAGSTER_HOME": str(home / "dagster"), "BILLING_HOME": str(home), "BILLING_FIRST_MONTH": "2024-01",
           "STRIPE_API_KEY": "", "STRIPE_API_BASE": ""}
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


def graphql(url: str, query: str, **variables) -> dict:
    request = urllib.request.Request(f"{url}/graphql", data=json.dumps({"query": query, "variables": variables}).encode(),
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


REPOSITORY = {"repositoryLocationName": "billing_jobs.definitions", "repositoryName": "__repository__"}
LAUNCH = """mutation Launch($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
              __typename ... on LaunchBackfillSuccess { backfillId launchedRunIds } ... on PythonError { message } } }"""
BACKFILL = """query Backfill($id: String!) { partitionBackfillOrError(backfillId: $id) {
                ... on PartitionBackfill { jobName isAssetBackfill } } }"""
RUNS = """query Runs($ids: [String!]) { runsOrError(filter: {runIds: $ids}) {
            ... on Runs { results { jobName status tags { key value } } } } }"""


def from_the_jobs_page(job: str, partitions: list[str]) -> dict:
    """What the UI sends for Jobs, JOB, "Materialize all...", some partitions, "Launch backfill" (as read from its
    own request): the job's partition set and its assets."""
    assets = [{"path": key.path} for key in sorted(defs.resolve_job_def(job).asset_layer.selected_asset_keys)]
    return {"selector": {"partitionSetName": f"{job}_partition_set", "repositorySelector": REPOSITORY},
            "assetSelection": assets, "partitionNames": partitions, "tags": [{"key": "dagster/from_ui", "value": "true"}]}


def launch(url: str, params: dict) -> dict:
    answer = graphql(url, LAUNCH, params=params)["launchPartitionBackfill"]
    assert answer["__typename"] == "LaunchBackfillSuccess", answer
    return answer


def backfill_of(url: str, params: dict) -> dict:
    """The backfill as the UI lists it, before the daemon (not running here) makes its runs."""
    return graphql(url, BACKFILL, id=launch(url, params)["backfillId"])["partitionBackfillOrError"]


def runs_of(url: str, params: dict) -> list[dict]:
    """The runs of the same backfill, made at once by Dagster's synchronous submission (the daemon's function for a
    job backfill, partition by partition: the daemon makes one run of a range of days); with no daemon they stay
    queued, so nothing runs."""
    ids = launch(url, {**params, "forceSynchronousSubmission": True})["launchedRunIds"]
    return graphql(url, RUNS, ids=ids)["runsOrError"]["results"]


def tags(run: dict) -> dict:
    return {tag["key"]: tag["value"] for tag in run["tags"]}


def test_a_backfill_from_a_jobs_page_runs_under_that_job(webserver):
    months = from_the_jobs_page("month_end_close", ["2024-02", "2024-03"])
    assert backfill_of(webserver, months) == {"jobName": "month_end_close", "isAssetBackfill": False}
    assert sorted((run["jobName"], run["status"], tags(run)["dagster/partition"]) for run in runs_of(webserver, months)) == [
        ("month_end_close", "QUEUED", "2024-02"), ("month_end_close", "QUEUED", "2024-03")]

    days = from_the_jobs_page("ingest_usage", ["2024-01-01", "2024-01-02"])
    assert backfill_of(webserver, days) == {"jobName": "ingest_usage", "isAssetBackfill": False}
    assert {(run["jobName"], run["status"]) for run in runs_of(webserver, days)} == {("ingest_usage", "QUEUED")}


def test_a_backfill_from_the_asset_graph_has_no_job(webserver):
    """Why the runbook sends operators to the Jobs page: Dagster runs an asset graph selection under its hidden
    __ASSET_JOB, so the backfill has no job and each partition it makes shows "Job: None"."""
    graph = {"assetSelection": [{"path": ["monthly_usage"]}], "partitionNames": ["2024-02"]}
    assert backfill_of(webserver, graph) == {"jobName": None, "isAssetBackfill": True}


def test_every_partitioned_asset_is_backfilled_under_a_named_job():
    """So that the Jobs page serves every backfill: each partitioned asset is in a job of its partitions."""
    repository = defs.get_repository_def()
    in_jobs = {key: job.partitions_def for job in repository.get_all_jobs() if not job.name.startswith("__")
               for key in job.asset_layer.selected_asset_keys}
    partitioned = {key: node.partitions_def for key, node in ((key, repository.asset_graph.get(key))
                                                               for key in repository.asset_graph.get_all_asset_keys())
                   if node.partitions_def is not None}
    assert partitioned and {key: in_jobs.get(key) for key in partitioned} == partitioned
