#!/usr/bin/env python3
"""Self-test of the fault proxy's realistic mode (scripts/aws_realism.py).

    python3 scripts/test_aws_realism.py [-v] [-k NAME]

Starts its own moto on a free loopback port and the proxy in front of it with ``--realism
--time-scale 0.005`` (a 480 s restore takes 2.4 s), drives both with boto3 and checks each simulated
behaviour: states over time, refusals, pending modifications and parameter groups applied by a
reboot, ClientToken semantics, the not-found window, security groups refused while in use, the
Tagging API's lag, expired credentials, forced states, ECS rollouts, faults combined with realism,
time scale 0, and that the proxy without ``--realism`` still passes moto through. Every test
starts from an empty emulator (POST /moto-api/reset through the proxy, which also resets the
layer). Prints one line per test and "N passed, M failed" last; exits non-zero on any failure.
Kills the processes it started. Takes about 55 s.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parent.parent
PROXY_SCRIPT = ROOT / "scripts" / "fault_proxy.py"
REGION = "eu-west-1"
AMI = "ami-04681a1dbd79675a5"
SCALE = 0.005
CREDS = dict(aws_access_key_id="testing", aws_secret_access_key="testing")

for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(var, None)
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


# --- processes ------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("moto exited at start")
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("moto did not answer within 30 s")


def start_proxy(upstream: str, *extra: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, str(PROXY_SCRIPT), "--upstream", upstream, "--port", "0",
                             "--fault-rate", "0", "--max-seconds", "300", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("http://127.0.0.1:"):
        proc.kill()
        raise RuntimeError(f"the proxy printed {line!r}")
    return proc, line


def stop(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# --- helpers --------------------------------------------------------------------------------------

class Env:
    """The emulator and the proxy, and boto3 clients for both."""

    def __init__(self, moto_url: str, proxy_url: str):
        self.moto_url = moto_url
        self.url = proxy_url
        no_retry = Config(retries={"total_max_attempts": 1, "mode": "standard"})
        kw = dict(region_name=REGION, config=no_retry, **CREDS)
        self.ec2, self.rds, self.ecs, self.tag = (
            boto3.client(s, endpoint_url=proxy_url, **kw)
            for s in ("ec2", "rds", "ecs", "resourcegroupstaggingapi"))
        # Straight to moto: to seed what "already exists" and to see moto's own truth.
        self.m_ec2, self.m_rds, self.m_ecs = (boto3.client(s, endpoint_url=moto_url, **kw)
                                              for s in ("ec2", "rds", "ecs"))
        # A client's first call loads models for about a second: not inside a timed window.
        for c in (self.ec2, self.m_ec2):
            c.describe_instances()
        for c in (self.rds, self.m_rds):
            c.describe_db_instances()
            c.describe_db_snapshots()
        for c in (self.ecs, self.m_ecs):
            c.list_clusters()
            code_of(c.describe_services, cluster="warm-up", services=["warm-up"])
        self.tag.get_resources()

    def control(self, path: str, payload: dict | None = None, expect: int = 200) -> dict:
        data = None if payload is None else json.dumps(payload).encode()
        req = urllib.request.Request(self.url + path, data=data, method="GET" if data is None else "POST")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status, body = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
        assert status == expect, f"{path}: HTTP {status} (expected {expect}): {body[:300]!r}"
        return json.loads(body)

    def realism(self, **settings) -> dict:
        return self.control("/__proxy/realism", settings)

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(self.url + "/moto-api/reset", data=b"",
                                                      method="POST"), timeout=10)
        self.realism(time_scale=SCALE, table=None, toggles={k: True for k in TOGGLES},
                     expire_credentials=False, client_token_memory=86400, enabled=True,
                     route53_page_size=3)
        tracked = self.control("/__proxy/realism")["resources"]
        assert tracked == [], f"reset through the proxy left {tracked}"


TOGGLES = ("rds", "ec2", "ec2_not_found", "client_tokens", "ecs", "ecs_not_found", "tagging_lag",
           "sg_dependencies", "route53")


def code_of(fn, *args, **kwargs) -> tuple[str, int] | None:
    """The (error code, HTTP status) a call fails with, or None if it succeeds."""
    try:
        fn(*args, **kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    return None


def states_until(read, final, timeout: float = 15.0, interval: float = 0.03) -> list:
    """Poll `read()` until it returns `final`; the distinct values seen, in order."""
    seen: list = []
    deadline = time.time() + timeout
    while True:
        value = read()
        if not seen or seen[-1] != value:
            seen.append(value)
        if value == final:
            return seen
        if time.time() > deadline:
            raise AssertionError(f"never reached {final!r}; saw {seen}")
        time.sleep(interval)


def seed_db(env: Env, ident: str = "prod-db", protected: bool = False) -> None:
    env.m_rds.create_db_instance(DBInstanceIdentifier=ident, Engine="postgres",
                                 DBInstanceClass="db.t3.micro", MasterUsername="u",
                                 MasterUserPassword="password1", AllocatedStorage=20,
                                 DeletionProtection=protected,
                                 Tags=[{"Key": "Environment", "Value": "production"}])


def db_status(env: Env, ident: str):
    try:
        return env.rds.describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0]["DBInstanceStatus"]
    except ClientError as e:
        return e.response["Error"]["Code"]


def snap_status(env: Env, ident: str):
    try:
        return env.rds.describe_db_snapshots(DBSnapshotIdentifier=ident)["DBSnapshots"][0]["Status"]
    except ClientError as e:
        return e.response["Error"]["Code"]


def ec2_state(env: Env, iid: str):
    try:
        res = env.ec2.describe_instances(InstanceIds=[iid])["Reservations"]
        return res[0]["Instances"][0]["State"]["Name"]
    except ClientError as e:
        return e.response["Error"]["Code"]


def describe_db(env: Env, ident: str = "prod-db") -> dict:
    return env.rds.describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0]


def network(env: Env) -> tuple[str, str]:
    """The default VPC and one of its subnets."""
    vpc = env.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnet = env.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"][0]["SubnetId"]
    return vpc, subnet


def new_sg(env: Env, name: str, vpc: str) -> str:
    return env.ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]


def delete_sg(env: Env, gid: str):
    """None when DeleteSecurityGroup succeeds, else (code, HTTP status)."""
    return code_of(env.ec2.delete_security_group, GroupId=gid)


def snapshot_ready(env: Env, sid: str = "snap-1", db: str = "prod-db") -> None:
    """An available snapshot, made in moto directly (its own lifecycle is tested elsewhere)."""
    env.m_rds.create_db_snapshot(DBSnapshotIdentifier=sid, DBInstanceIdentifier=db)


def service(env: Env, cluster: str = "pre", name: str = "server") -> dict:
    out = env.ecs.describe_services(cluster=cluster, services=[name])
    return out["services"][0] if out["services"] else {"status": "MISSING", "failures": out["failures"]}


def rollout(env: Env, cluster: str = "pre", name: str = "server"):
    s = service(env, cluster, name)
    if s["status"] != "ACTIVE":
        return s["status"]
    return (s["deployments"][0]["rolloutState"], s["runningCount"], len(s["deployments"]))


def ecs_setup(env: Env, desired: int = 2) -> None:
    env.ecs.create_cluster(clusterName="pre", tags=[{"key": "rehearsal:env", "value": "pre"}])
    for image in ("example/server:1", "example/server:2"):
        env.ecs.register_task_definition(family="pre-server", containerDefinitions=[
            {"name": "server", "image": image, "memory": 512}])
    env.ecs.create_service(cluster="pre", serviceName="server", taskDefinition="pre-server:1",
                           desiredCount=desired, launchType="EC2")


# --- tests ----------------------------------------------------------------------------------------

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


@test
def rds_snapshot_creating_then_available(env: Env):
    seed_db(env)
    snap = env.rds.create_db_snapshot(DBSnapshotIdentifier="snap-1", DBInstanceIdentifier="prod-db")
    assert snap["DBSnapshot"]["Status"] == "creating", snap["DBSnapshot"]["Status"]
    assert code_of(env.rds.delete_db_snapshot, DBSnapshotIdentifier="snap-1") == ("InvalidDBSnapshotState", 400)
    assert code_of(env.rds.restore_db_instance_from_db_snapshot, DBInstanceIdentifier="clone",
                   DBSnapshotIdentifier="snap-1") == ("InvalidDBSnapshotState", 400)
    seen = states_until(lambda: snap_status(env, "snap-1"), "available")
    assert seen == ["creating", "available"], seen
    listed = env.rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
    assert [s["Status"] for s in listed] == ["available"], listed


@test
def rds_restore_creating_backing_up_available_without_endpoint(env: Env):
    env.realism(table={"rds_instance": {"create": [["creating", 200], ["backing-up", 100]]}})
    seed_db(env)
    snapshot_ready(env)
    out = env.rds.restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier="pre-db", DBSnapshotIdentifier="snap-1",
        Tags=[{"Key": "rehearsal:env", "Value": "pre"}])["DBInstance"]
    assert out["DBInstanceStatus"] == "creating" and "Endpoint" not in out, out
    db = env.rds.describe_db_instances(DBInstanceIdentifier="pre-db")["DBInstances"][0]
    assert "Endpoint" not in db, db.get("Endpoint")
    # Refused while the restore runs.
    for call, kw in ((env.rds.create_db_snapshot, dict(DBSnapshotIdentifier="x", DBInstanceIdentifier="pre-db")),
                     (env.rds.modify_db_instance, dict(DBInstanceIdentifier="pre-db", BackupRetentionPeriod=3,
                                                       ApplyImmediately=True)),
                     (env.rds.delete_db_instance, dict(DBInstanceIdentifier="pre-db", SkipFinalSnapshot=True)),
                     (env.rds.stop_db_instance, dict(DBInstanceIdentifier="pre-db"))):
        assert code_of(call, **kw) == ("InvalidDBInstanceState", 400), call
    endpoints = set()

    def read():
        d = env.rds.describe_db_instances(DBInstanceIdentifier="pre-db")["DBInstances"][0]
        endpoints.add((d["DBInstanceStatus"], "Endpoint" in d))
        return d["DBInstanceStatus"]

    seen = states_until(read, "available")
    assert seen == ["creating", "backing-up", "available"], seen
    assert endpoints == {("creating", False), ("backing-up", False), ("available", True)}, endpoints
    tags = {t["Key"]: t["Value"] for t in db["TagList"]}
    assert tags == {"rehearsal:env": "pre"}, tags


@test
def rds_modify_available_then_modifying_then_available(env: Env):
    seed_db(env)
    # 1 s of `available` before `modifying`, to look at the trap: a delete right after is accepted.
    env.realism(table={"rds_instance": {"modify": [["available", 100], ["modifying", 100]]}})
    out = env.rds.modify_db_instance(DBInstanceIdentifier="prod-db", BackupRetentionPeriod=5,
                                     ApplyImmediately=True)["DBInstance"]
    assert out["DBInstanceStatus"] == "available", out["DBInstanceStatus"]
    seen = states_until(lambda: db_status(env, "prod-db"), "modifying")
    assert code_of(env.rds.modify_db_instance, DBInstanceIdentifier="prod-db", BackupRetentionPeriod=6,
                   ApplyImmediately=True) == ("InvalidDBInstanceState", 400)
    assert code_of(env.rds.delete_db_instance, DBInstanceIdentifier="prod-db",
                   SkipFinalSnapshot=True) == ("InvalidDBInstanceState", 400)
    seen += states_until(lambda: db_status(env, "prod-db"), "available")[1:]
    assert seen == ["available", "modifying", "available"], seen
    assert env.m_rds.describe_db_instances(DBInstanceIdentifier="prod-db")["DBInstances"][0][
        "BackupRetentionPeriod"] == 5


@test
def rds_modify_shows_old_values_and_pending_ones_until_modified(env: Env):
    seed_db(env)
    env.realism(table={"rds_instance": {"modify": [["available", 60], ["modifying", 100]]}})  # 0.3 s, 0.5 s
    before = describe_db(env)
    assert before["PendingModifiedValues"] == {}, before["PendingModifiedValues"]
    fields = ("DBInstanceClass", "BackupRetentionPeriod", "MultiAZ", "AllocatedStorage", "EngineVersion")
    wanted = {"DBInstanceClass": "db.t3.large", "BackupRetentionPeriod": 7, "MultiAZ": True,
              "AllocatedStorage": 40, "EngineVersion": "16.4"}
    out = env.rds.modify_db_instance(DBInstanceIdentifier="prod-db", DeletionProtection=True,
                                     ApplyImmediately=True, **wanted)["DBInstance"]
    assert {k: out[k] for k in fields} == {k: before[k] for k in fields}, out
    assert out["PendingModifiedValues"] == wanted, out["PendingModifiedValues"]
    assert out["DeletionProtection"] is True, "deletion protection applies at once"
    truth = env.m_rds.describe_db_instances(DBInstanceIdentifier="prod-db")["DBInstances"][0]
    assert {k: truth[k] for k in fields} == wanted, "moto applies at once; the layer shows the old values"

    def read():
        d = describe_db(env)
        return d["DBInstanceStatus"], d["DBInstanceClass"], d["AllocatedStorage"], bool(d["PendingModifiedValues"])

    seen = states_until(read, ("available", "db.t3.large", 40, False))
    assert seen == [("available", "db.t3.micro", 20, True), ("modifying", "db.t3.micro", 20, True),
                    ("available", "db.t3.large", 40, False)], seen
    after = describe_db(env)
    assert {k: after[k] for k in fields} == wanted and after["PendingModifiedValues"] == {}, after


@test
def rds_modify_without_apply_immediately_waits_for_the_maintenance_window(env: Env):
    seed_db(env)
    out = env.rds.modify_db_instance(DBInstanceIdentifier="prod-db", DBInstanceClass="db.t3.large")["DBInstance"]
    assert (out["DBInstanceStatus"], out["DBInstanceClass"]) == ("available", "db.t3.micro"), out
    assert out["PendingModifiedValues"] == {"DBInstanceClass": "db.t3.large"}, out["PendingModifiedValues"]
    time.sleep(0.4)  # longer than the table's modify phases (65 s)
    d = describe_db(env)
    assert (d["DBInstanceStatus"], d["DBInstanceClass"], d["PendingModifiedValues"]) == \
        ("available", "db.t3.micro", {"DBInstanceClass": "db.t3.large"}), d
    tracked = {r["id"]: r for r in env.control("/__proxy/realism")["resources"]}
    assert tracked["prod-db"]["pending_modified_values"] == {"DBInstanceClass": "maintenance window"}, tracked
    # A retention period from one non-zero value to another: as soon as possible, regardless.
    out = env.rds.modify_db_instance(DBInstanceIdentifier="prod-db", BackupRetentionPeriod=3)["DBInstance"]
    assert out["BackupRetentionPeriod"] == 1, out["BackupRetentionPeriod"]
    assert out["PendingModifiedValues"] == {"DBInstanceClass": "db.t3.large", "BackupRetentionPeriod": 3}
    seen = states_until(lambda: (db_status(env, "prod-db"), describe_db(env)["BackupRetentionPeriod"]), ("available", 3))
    assert ("modifying", 1) in seen, seen
    assert describe_db(env)["PendingModifiedValues"] == {"DBInstanceClass": "db.t3.large"}
    # ApplyImmediately applies the queue too.
    env.rds.modify_db_instance(DBInstanceIdentifier="prod-db", ApplyImmediately=True)
    seen = states_until(lambda: (db_status(env, "prod-db"), describe_db(env)["DBInstanceClass"]), ("available", "db.t3.large"))
    assert ("modifying", "db.t3.micro") in seen, seen
    assert describe_db(env)["PendingModifiedValues"] == {}


@test
def rds_parameter_group_pending_reboot_then_in_sync(env: Env):
    env.realism(table={"rds_instance": {"modify": [["available", 40], ["modifying", 100]],
                                        "reboot": [["rebooting", 100]]}})
    seed_db(env)
    env.rds.create_db_parameter_group(DBParameterGroupName="pre-params", DBParameterGroupFamily="postgres16",
                                      Description="pre-release")
    out = env.rds.modify_db_instance(DBInstanceIdentifier="prod-db", DBParameterGroupName="pre-params",
                                     ApplyImmediately=True)["DBInstance"]
    assert out["DBParameterGroups"] == [{"DBParameterGroupName": "pre-params",
                                         "ParameterApplyStatus": "applying"}], out["DBParameterGroups"]

    def read():
        d = describe_db(env)
        return d["DBInstanceStatus"], d["DBParameterGroups"][0]["ParameterApplyStatus"]

    seen = states_until(read, ("modifying", "applying"))
    assert code_of(env.rds.reboot_db_instance, DBInstanceIdentifier="prod-db") == ("InvalidDBInstanceState", 400)
    seen += states_until(read, ("available", "pending-reboot"))[1:]
    assert seen == [("available", "applying"), ("modifying", "applying"), ("available", "pending-reboot")], seen
    time.sleep(0.1)
    assert read() == ("available", "pending-reboot"), "only a reboot applies a new parameter group"
    out = env.rds.reboot_db_instance(DBInstanceIdentifier="prod-db")["DBInstance"]
    assert out["DBInstanceStatus"] == "rebooting", out["DBInstanceStatus"]
    seen = states_until(read, ("available", "in-sync"))
    assert seen == [("rebooting", "pending-reboot"), ("available", "in-sync")], seen
    assert code_of(env.rds.reboot_db_instance, DBInstanceIdentifier="nope") == ("DBInstanceNotFound", 404)
    env.control("/__proxy/realism/force", {"service": "rds", "id": "prod-db", "state": "stopped"})
    assert code_of(env.rds.reboot_db_instance, DBInstanceIdentifier="prod-db") == ("InvalidDBInstanceState", 400)


@test
def rds_delete_deferred_with_final_snapshot(env: Env):
    # The instance stays `deleting` until its final snapshot exists: the longer of the two.
    env.realism(table={"rds_instance": {"delete": [["deleting", 60]]},
                       "rds_snapshot": {"create": [["creating", 160]]}})
    seed_db(env)
    assert code_of(env.rds.delete_db_instance, DBInstanceIdentifier="prod-db") == \
        ("InvalidParameterCombination", 400), "moto accepts a delete with neither option; AWS does not"
    assert code_of(env.rds.delete_db_instance, DBInstanceIdentifier="prod-db", SkipFinalSnapshot=True,
                   FinalDBSnapshotIdentifier="f") == ("InvalidParameterCombination", 400)
    out = env.rds.delete_db_instance(DBInstanceIdentifier="prod-db", SkipFinalSnapshot=False,
                                     FinalDBSnapshotIdentifier="final-1", DeleteAutomatedBackups=True)
    assert out["DBInstance"]["DBInstanceStatus"] == "deleting", out["DBInstance"]
    assert out["DBInstance"]["DBInstanceIdentifier"] == "prod-db"
    assert code_of(env.rds.delete_db_instance, DBInstanceIdentifier="prod-db",
                   SkipFinalSnapshot=True) == ("InvalidDBInstanceState", 400)
    assert snap_status(env, "final-1") == "creating"
    # moto still has it (the real delete is deferred): the proxy's view is AWS's.
    assert env.m_rds.describe_db_instances(DBInstanceIdentifier="prod-db")["DBInstances"]
    seen = states_until(lambda: db_status(env, "prod-db"), "DBInstanceNotFound")
    assert seen == ["deleting", "DBInstanceNotFound"], seen
    assert snap_status(env, "final-1") == "available"
    assert env.rds.describe_db_instances()["DBInstances"] == []
    # The deferred DeleteDBInstance reached moto at the next request.
    assert code_of(env.m_rds.describe_db_instances, DBInstanceIdentifier="prod-db") == ("DBInstanceNotFound", 404)
    assert env.control("/__proxy/realism")["counters"]["deferred_done"] == 1


@test
def rds_delete_refusals_protection_and_skip(env: Env):
    env.realism(table={"rds_instance": {"delete": [["deleting", 100]]}})
    seed_db(env, "guarded", protected=True)
    assert code_of(env.rds.delete_db_instance, DBInstanceIdentifier="guarded", SkipFinalSnapshot=True) == \
        ("InvalidParameterCombination", 400)
    assert code_of(env.rds.delete_db_instance, DBInstanceIdentifier="nope", SkipFinalSnapshot=True) == \
        ("DBInstanceNotFound", 404)
    seed_db(env, "plain")
    env.rds.delete_db_instance(DBInstanceIdentifier="plain", SkipFinalSnapshot=True)
    seen = states_until(lambda: db_status(env, "plain"), "DBInstanceNotFound")
    assert seen == ["deleting", "DBInstanceNotFound"], seen


@test
def rds_delete_snapshot_deleting_then_gone(env: Env):
    env.realism(table={"rds_snapshot": {"delete": [["deleting", 100]]}})  # 0.5 s
    seed_db(env)
    snapshot_ready(env)
    out = env.rds.delete_db_snapshot(DBSnapshotIdentifier="snap-1")
    assert out["DBSnapshot"]["Status"] == "deleting"
    assert code_of(env.rds.restore_db_instance_from_db_snapshot, DBInstanceIdentifier="c",
                   DBSnapshotIdentifier="snap-1") == ("InvalidDBSnapshotState", 400)
    seen = states_until(lambda: snap_status(env, "snap-1"), "DBSnapshotNotFound")
    assert seen == ["deleting", "DBSnapshotNotFound"], seen
    env.rds.describe_db_instances()  # any request: the deferred delete reaches moto
    assert code_of(env.m_rds.describe_db_snapshots, DBSnapshotIdentifier="snap-1") == ("DBSnapshotNotFound", 404)


@test
def rds_stop_start(env: Env):
    env.realism(table={"rds_instance": {"stop": [["stopping", 100]], "delete": [["deleting", 100]]}})
    seed_db(env)
    assert code_of(env.rds.start_db_instance, DBInstanceIdentifier="prod-db") == ("InvalidDBInstanceState", 400)
    out = env.rds.stop_db_instance(DBInstanceIdentifier="prod-db")["DBInstance"]
    assert out["DBInstanceStatus"] == "stopping", out["DBInstanceStatus"]
    seen = states_until(lambda: db_status(env, "prod-db"), "stopped")
    assert seen == ["stopping", "stopped"], seen
    assert code_of(env.rds.modify_db_instance, DBInstanceIdentifier="prod-db", BackupRetentionPeriod=2,
                   ApplyImmediately=True) == ("InvalidDBInstanceState", 400)
    assert code_of(env.rds.create_db_snapshot, DBSnapshotIdentifier="s", DBInstanceIdentifier="prod-db") == \
        ("InvalidDBInstanceState", 400)
    env.rds.start_db_instance(DBInstanceIdentifier="prod-db")
    seen = states_until(lambda: db_status(env, "prod-db"), "available")
    assert seen == ["starting", "available"], seen
    # A stopped instance can be deleted.
    env.rds.stop_db_instance(DBInstanceIdentifier="prod-db")
    states_until(lambda: db_status(env, "prod-db"), "stopped")
    env.rds.delete_db_instance(DBInstanceIdentifier="prod-db", SkipFinalSnapshot=True)
    assert db_status(env, "prod-db") == "deleting"


@test
def rds_forced_states(env: Env):
    env.realism(table={"rds_instance": {"delete": [["deleting", 100]]}})
    seed_db(env, "pre-db")
    env.control("/__proxy/realism/force", {"service": "rds", "id": "pre-db", "state": "incompatible-restore"})
    assert db_status(env, "pre-db") == "incompatible-restore"
    assert code_of(env.rds.delete_db_instance, DBInstanceIdentifier="pre-db", SkipFinalSnapshot=False,
                   FinalDBSnapshotIdentifier="f") == ("InvalidDBInstanceState", 400)
    assert code_of(env.rds.modify_db_instance, DBInstanceIdentifier="pre-db", BackupRetentionPeriod=2,
                   ApplyImmediately=True) == ("InvalidDBInstanceState", 400)
    env.rds.delete_db_instance(DBInstanceIdentifier="pre-db", SkipFinalSnapshot=True)
    assert states_until(lambda: db_status(env, "pre-db"), "DBInstanceNotFound") == ["deleting", "DBInstanceNotFound"]
    # A stopped instance (moto's is running underneath): start goes through the layer.
    seed_db(env, "other-db")
    env.control("/__proxy/realism/force", {"service": "rds", "id": "other-db", "state": "stopped",
                                           "region": REGION})
    assert db_status(env, "other-db") == "stopped"
    out = env.rds.start_db_instance(DBInstanceIdentifier="other-db")["DBInstance"]
    assert out["DBInstanceStatus"] == "starting", out["DBInstanceStatus"]
    assert states_until(lambda: db_status(env, "other-db"), "available") == ["starting", "available"]
    # A forced failed snapshot; clearing the force gives moto's state back.
    snapshot_ready(env, "s2", "other-db")
    env.control("/__proxy/realism/force", {"service": "rds", "kind": "snapshot", "id": "s2", "state": "failed"})
    assert snap_status(env, "s2") == "failed"
    env.control("/__proxy/realism/force", {"service": "rds", "kind": "snapshot", "id": "s2", "state": None})
    assert snap_status(env, "s2") == "available"
    tracked = {(r["kind"], r["id"]): r for r in env.control("/__proxy/realism")["resources"]}
    assert tracked[("rds_instance", "other-db")]["transition"] == "start", tracked


@test
def ec2_not_found_window_then_pending_then_running(env: Env):
    env.realism(table={"consistency": {"not_found_after_create": 150},  # 0.75 s
                       "ec2_instance": {"create": [["pending", 200]]}})
    run = env.ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, InstanceType="t3.micro",
                                TagSpecifications=[{"ResourceType": "instance",
                                                    "Tags": [{"Key": "Name", "Value": "pre-server"}]}])
    iid = run["Instances"][0]["InstanceId"]
    assert run["Instances"][0]["State"]["Name"] == "pending"
    assert code_of(env.ec2.describe_instances, InstanceIds=[iid]) == ("InvalidInstanceID.NotFound", 400)
    assert code_of(env.ec2.create_tags, Resources=[iid], Tags=[{"Key": "a", "Value": "b"}]) == \
        ("InvalidInstanceID.NotFound", 400)
    listed = env.ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["pre-server"]}])
    assert listed["Reservations"] == [], listed["Reservations"]
    seen = states_until(lambda: ec2_state(env, iid), "running")
    assert seen == ["InvalidInstanceID.NotFound", "pending", "running"], seen
    # moto says running at once; state filters follow the simulated state.
    env.realism(table={"ec2_instance": {"create": [["pending", 200]]}})
    iid2 = env.ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]

    def ids(states):
        res = env.ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": states}])
        return {i["InstanceId"] for r in res["Reservations"] for i in r["Instances"]}

    assert ids(["running"]) == {iid}, ids(["running"])
    assert ids(["pending"]) == {iid2}, ids(["pending"])


@test
def ec2_client_token_semantics(env: Env):
    kw = dict(ImageId=AMI, MinCount=1, MaxCount=1, InstanceType="t3.micro", ClientToken="tok-1")
    first = env.ec2.run_instances(**kw)
    iid = first["Instances"][0]["InstanceId"]
    again = env.ec2.run_instances(**kw)
    assert again["Instances"][0]["InstanceId"] == iid
    assert again["ReservationId"] == first["ReservationId"]
    assert code_of(env.ec2.run_instances, **{**kw, "InstanceType": "t3.large"}) == \
        ("IdempotentParameterMismatch", 400)
    count = lambda: sum(len(r["Instances"]) for r in env.m_ec2.describe_instances()["Reservations"])  # noqa: E731
    assert count() == 1, "a replayed token launched another instance"
    states_until(lambda: ec2_state(env, iid), "running")
    env.ec2.terminate_instances(InstanceIds=[iid])
    after = env.ec2.run_instances(**kw)
    assert after["Instances"][0]["InstanceId"] == iid, "a terminated instance's token launched again"
    assert after["Instances"][0]["State"]["Name"] in ("shutting-down", "terminated")
    assert count() == 1
    tokens = env.control("/__proxy/realism")["client_tokens"]
    assert tokens[0]["token"] == "tok-1" and tokens[0]["replays"] == 2, tokens
    # Forgotten client_token_memory (real) seconds after termination: the token launches anew.
    env.realism(client_token_memory=0.2)
    time.sleep(0.3)
    fresh = env.ec2.run_instances(**kw)
    assert fresh["Instances"][0]["InstanceId"] != iid
    assert count() == 2


@test
def ec2_terminate_stop_start(env: Env):
    iid = env.m_ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    env.realism(table={"ec2_instance": {"stop": [["stopping", 100]], "start": [["pending", 100]],
                                        "delete": [["shutting-down", 100]]}})
    assert code_of(env.ec2.modify_instance_attribute, InstanceId=iid, InstanceType={"Value": "t3.large"}) == \
        ("IncorrectInstanceState", 400)
    out = env.ec2.stop_instances(InstanceIds=[iid])["StoppingInstances"][0]
    assert (out["PreviousState"]["Name"], out["CurrentState"]["Name"]) == ("running", "stopping"), out
    assert code_of(env.ec2.start_instances, InstanceIds=[iid]) == ("IncorrectInstanceState", 400)
    assert states_until(lambda: ec2_state(env, iid), "stopped") == ["stopping", "stopped"]
    env.ec2.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "t3.large"})
    env.ec2.start_instances(InstanceIds=[iid])
    assert states_until(lambda: ec2_state(env, iid), "running") == ["pending", "running"]
    # Pending (just launched): cannot be stopped yet.
    iid2 = env.ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    env.realism(table={"consistency": {"not_found_after_create": 0}})
    assert code_of(env.ec2.stop_instances, InstanceIds=[iid2]) == ("IncorrectInstanceState", 400)
    out = env.ec2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]
    assert out["CurrentState"]["Name"] == "shutting-down", out
    assert env.m_ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"][
        "Name"] == "terminated", "moto terminates at once"
    assert states_until(lambda: ec2_state(env, iid), "terminated") == ["shutting-down", "terminated"]


@test
def ec2_launch_uses_the_images_block_device_mapping(env: Env):
    image = env.m_ec2.describe_images(ImageIds=[AMI])["Images"][0]
    kept = [m for m in image["BlockDeviceMappings"] if m["Ebs"].get("DeleteOnTermination") is False]
    assert kept, f"moto's image keeps its root volume: {image['BlockDeviceMappings']}"
    env.realism(table={"consistency": {"not_found_after_create": 0}})
    tags = [{"ResourceType": "volume", "Tags": [{"Key": "made-by", "Value": "launch"}]}]
    iid = env.ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1,
                                TagSpecifications=tags)["Instances"][0]["InstanceId"]
    attached = env.m_ec2.describe_volumes(
        Filters=[{"Name": "attachment.instance-id", "Values": [iid]}])["Volumes"]
    assert [v["Size"] for v in attached] == [kept[0]["Ebs"]["VolumeSize"]], attached
    assert attached[0]["Tags"] == tags[0]["Tags"], attached
    env.ec2.terminate_instances(InstanceIds=[iid])
    left = env.m_ec2.describe_volumes(VolumeIds=[attached[0]["VolumeId"]])["Volumes"][0]
    assert left["State"] == "available", left
    # An explicit mapping is the caller's.
    iid2 = env.ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, BlockDeviceMappings=[
        {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 9, "DeleteOnTermination": True}}],
    )["Instances"][0]["InstanceId"]
    mine = env.m_ec2.describe_volumes(
        Filters=[{"Name": "attachment.instance-id", "Values": [iid2]}])["Volumes"]
    assert [v["Size"] for v in mine] == [9], mine


@test
def ec2_delete_security_group_in_use_by_instances_rules_and_interfaces(env: Env):
    env.realism(table={"ec2_instance": {"delete": [["shutting-down", 100]]}})  # 0.5 s
    vpc, subnet = network(env)
    web, app, db_sg, out = (new_sg(env, n, vpc) for n in ("web", "app", "db", "out"))
    iid = env.ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=subnet,
                                SecurityGroupIds=[web])["Instances"][0]["InstanceId"]
    try:
        env.ec2.delete_security_group(GroupId=web)
        raise AssertionError("a group in use was deleted")
    except ClientError as e:
        err = e.response["Error"]
        assert (err["Code"], err["Message"], e.response["ResponseMetadata"]["HTTPStatusCode"]) == \
            ("DependencyViolation", f"resource {web} has a dependent object", 400), e.response
    env.ec2.terminate_instances(InstanceIds=[iid])
    assert delete_sg(env, web) == ("DependencyViolation", 400), "shutting-down still uses its groups"
    states_until(lambda: ec2_state(env, iid), "terminated")
    assert delete_sg(env, web) is None
    assert code_of(env.m_ec2.describe_security_groups, GroupIds=[web]) == ("InvalidGroup.NotFound", 400)
    # Referenced by another group's rule (ingress or egress).
    rule = [{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": app}]}]
    env.ec2.authorize_security_group_ingress(GroupId=db_sg, IpPermissions=rule)
    assert delete_sg(env, app) == ("DependencyViolation", 400)
    env.ec2.revoke_security_group_ingress(GroupId=db_sg, IpPermissions=rule)
    assert delete_sg(env, app) is None
    rule = [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [{"GroupId": out}]}]
    env.ec2.authorize_security_group_egress(GroupId=db_sg, IpPermissions=rule)
    assert delete_sg(env, out) == ("DependencyViolation", 400)
    env.ec2.revoke_security_group_egress(GroupId=db_sg, IpPermissions=rule)
    assert delete_sg(env, out) is None
    # A network interface of its own.
    eni = env.ec2.create_network_interface(SubnetId=subnet, Groups=[db_sg])["NetworkInterface"]["NetworkInterfaceId"]
    assert delete_sg(env, db_sg) == ("DependencyViolation", 400)
    env.ec2.delete_network_interface(NetworkInterfaceId=eni)
    assert delete_sg(env, db_sg) is None
    # A VPC's default group: CannotDelete (moto deletes it, and then CreateDBInstance fails).
    default = env.ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                        {"Name": "group-name", "Values": ["default"]}])
    assert delete_sg(env, default["SecurityGroups"][0]["GroupId"]) == ("CannotDelete", 400)
    # Switched off: moto's own answer.
    busy = new_sg(env, "busy", vpc)
    env.m_ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=subnet, SecurityGroupIds=[busy])
    assert delete_sg(env, busy) == ("DependencyViolation", 400)
    env.realism(toggles={"sg_dependencies": False})
    assert delete_sg(env, busy) is None


@test
def ec2_delete_security_group_in_use_by_databases_and_ecs(env: Env):
    env.realism(table={"rds_instance": {"modify": [["available", 20], ["modifying", 150]],
                                        "delete": [["deleting", 100]]},
                       "ecs_service": {"delete": [["DRAINING", 100]]},
                       # What outlives a deleted resource has its own test below.
                       "lingering": {"ecs_tasks_stopping": 0, "ecs_task_network_interface": 0,
                                     "rds_network_interface": 0}})
    vpc, subnet = network(env)
    db_a, db_b, svc_sg, task_sg = (new_sg(env, n, vpc) for n in ("db-a", "db-b", "svc", "task"))
    env.m_rds.create_db_instance(DBInstanceIdentifier="prod-db", Engine="postgres", DBInstanceClass="db.t3.micro",
                                 MasterUsername="u", MasterUserPassword="password1", AllocatedStorage=20,
                                 VpcSecurityGroupIds=[db_a])
    assert delete_sg(env, db_a) == ("DependencyViolation", 400)
    env.rds.modify_db_instance(DBInstanceIdentifier="prod-db", VpcSecurityGroupIds=[db_b], ApplyImmediately=True)
    assert describe_db(env)["VpcSecurityGroups"] == [{"VpcSecurityGroupId": db_b, "Status": "active"}]
    assert delete_sg(env, db_a) == ("DependencyViolation", 400), "removed, but not before the modification ends"
    states_until(lambda: db_status(env, "prod-db"), "modifying")
    states_until(lambda: db_status(env, "prod-db"), "available")
    assert delete_sg(env, db_a) is None
    assert delete_sg(env, db_b) == ("DependencyViolation", 400)
    env.rds.delete_db_instance(DBInstanceIdentifier="prod-db", SkipFinalSnapshot=True)
    assert delete_sg(env, db_b) == ("DependencyViolation", 400), "a deleting instance still uses its groups"
    states_until(lambda: db_status(env, "prod-db"), "DBInstanceNotFound")
    assert delete_sg(env, db_b) is None
    # ECS awsvpc: a service's tasks (as the layer shows them; moto runs none) and RunTask's.
    env.ecs.create_cluster(clusterName="pre")
    env.ecs.register_task_definition(family="pre-task", networkMode="awsvpc", containerDefinitions=[
        {"name": "a", "image": "example/a:1", "memory": 64}])
    awsvpc = lambda sg: {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg]}}  # noqa: E731
    env.ecs.create_service(cluster="pre", serviceName="server", taskDefinition="pre-task", desiredCount=1,
                           launchType="FARGATE", networkConfiguration=awsvpc(svc_sg))
    assert delete_sg(env, svc_sg) == ("DependencyViolation", 400)
    env.ecs.delete_service(cluster="pre", service="server", force=True)
    assert delete_sg(env, svc_sg) == ("DependencyViolation", 400), "DRAINING: its tasks still run"
    states_until(lambda: service(env)["status"], "INACTIVE")
    assert delete_sg(env, svc_sg) is None
    task = env.ecs.run_task(cluster="pre", taskDefinition="pre-task", launchType="FARGATE",
                            networkConfiguration=awsvpc(task_sg))["tasks"][0]["taskArn"]
    assert delete_sg(env, task_sg) == ("DependencyViolation", 400)
    env.ecs.stop_task(cluster="pre", task=task)
    assert delete_sg(env, task_sg) is None


@test
def network_interfaces_outlive_stopped_tasks_and_deleted_databases(env: Env):
    env.realism(table={"rds_instance": {"delete": [["deleting", 100]]},  # 0.5 s
                       "ecs_service": {"delete": [["DRAINING", 100]]},
                       "lingering": {"ecs_tasks_stopping": 300,  # 1.5 s from DeleteService
                                     "ecs_task_network_interface": 300,  # then 1.5 s more
                                     "rds_network_interface": 400}})  # 2 s after the DB is gone
    vpc, subnet = network(env)
    db_sg, svc_sg = new_sg(env, "db", vpc), new_sg(env, "svc", vpc)
    env.m_rds.create_db_instance(DBInstanceIdentifier="prod-db", Engine="postgres", DBInstanceClass="db.t3.micro",
                                 MasterUsername="u", MasterUserPassword="password1", AllocatedStorage=20,
                                 VpcSecurityGroupIds=[db_sg])
    env.rds.delete_db_instance(DBInstanceIdentifier="prod-db", SkipFinalSnapshot=True)
    states_until(lambda: db_status(env, "prod-db"), "DBInstanceNotFound")
    assert delete_sg(env, db_sg) == ("DependencyViolation", 400), "the deleted DB's interface lingers"
    seen = states_until(lambda: delete_sg(env, db_sg), None)
    assert seen == [("DependencyViolation", 400), None], seen
    # A Fargate service: once deleted, its tasks hold the cluster until they stop, even when
    # the service is INACTIVE; their interfaces hold its group a while longer.
    env.ecs.create_cluster(clusterName="pre")
    env.ecs.register_task_definition(family="pre-task", networkMode="awsvpc", containerDefinitions=[
        {"name": "a", "image": "example/a:1", "memory": 64}])
    env.ecs.create_service(cluster="pre", serviceName="server", taskDefinition="pre-task", desiredCount=1,
                           launchType="FARGATE", networkConfiguration={
                               "awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [svc_sg]}})
    env.realism(time_scale=0)
    states_until(lambda: rollout(env), ("COMPLETED", 1, 1))
    env.realism(time_scale=SCALE)
    env.ecs.delete_service(cluster="pre", service="server", force=True)
    states_until(lambda: service(env)["status"], "INACTIVE")
    assert code_of(env.ecs.delete_cluster, cluster="pre") == ("ClusterContainsTasksException", 400)
    assert delete_sg(env, svc_sg) == ("DependencyViolation", 400)
    seen = states_until(lambda: code_of(env.ecs.delete_cluster, cluster="pre"), None)
    assert seen == [("ClusterContainsTasksException", 400), None], seen
    assert delete_sg(env, svc_sg) == ("DependencyViolation", 400), "its tasks stopped; their interfaces linger"
    seen = states_until(lambda: delete_sg(env, svc_sg), None)
    assert seen == [("DependencyViolation", 400), None], seen


@test
def ec2_new_security_group_unknown_by_id_for_the_window(env: Env):
    env.realism(table={"consistency": {"not_found_after_create": 200}})  # 1 s
    vpc, _ = network(env)
    gid = new_sg(env, "fresh", vpc)
    rule = [{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}]
    assert code_of(env.ec2.authorize_security_group_ingress, GroupId=gid, IpPermissions=rule) == \
        ("InvalidGroup.NotFound", 400)
    assert code_of(env.ec2.revoke_security_group_egress, GroupId=gid, IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]) == ("InvalidGroup.NotFound", 400)
    assert code_of(env.ec2.describe_security_groups, GroupIds=[gid]) == ("InvalidGroup.NotFound", 400)
    seen = states_until(lambda: code_of(env.ec2.authorize_security_group_ingress, GroupId=gid,
                                        IpPermissions=rule), None)
    assert seen == [("InvalidGroup.NotFound", 400), None], seen
    assert env.ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]["IpPermissions"]


@test
def ecs_deleted_task_definitions_stay_delete_in_progress(env: Env):
    env.realism(table={"lingering": {"ecs_task_definition_delete_in_progress": 200}})  # 1 s
    arn = env.ecs.register_task_definition(
        family="pre-server", containerDefinitions=[{"name": "a", "image": "a:1", "memory": 64}],
        tags=[{"key": "rehearsal:env", "value": "pre"}])["taskDefinition"]["taskDefinitionArn"]
    env.ecs.deregister_task_definition(taskDefinition=arn)
    out = env.ecs.delete_task_definitions(taskDefinitions=[arn])
    assert [t["status"] for t in out["taskDefinitions"]] == ["DELETE_IN_PROGRESS"], out
    assert code_of(env.m_ecs.describe_task_definition, taskDefinition=arn) is not None, "moto forgot it"

    def described():
        try:
            got = env.ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"])
        except ClientError as e:
            return e.response["Error"]["Code"]
        assert got["tags"] == [{"key": "rehearsal:env", "value": "pre"}], got
        return got["taskDefinition"]["status"]
    seen = states_until(described, "ClientException")
    assert seen == ["DELETE_IN_PROGRESS", "ClientException"], seen


@test
def ecs_task_definitions_say_when_they_were_registered(env: Env):
    before = time.time()
    out = env.ecs.register_task_definition(
        family="pre-server", containerDefinitions=[{"name": "a", "image": "a:1", "memory": 64}])
    registered = out["taskDefinition"]["registeredAt"]
    assert before - 1 <= registered.timestamp() <= time.time() + 1, registered
    described = env.ecs.describe_task_definition(taskDefinition="pre-server")["taskDefinition"]
    assert described["registeredAt"] == registered, described
    assert env.m_ecs.describe_task_definition(taskDefinition="pre-server")["taskDefinition"] \
        .get("registeredAt") is None, "moto says it now: the layer is no longer needed for it"


@test
def ecs_rollout_completes_and_not_found_window(env: Env):
    env.realism(table={"consistency": {"not_found_after_create": 100},  # 0.5 s
                       "ecs_service": {"create": [["deploying", 300]]}})  # 1.5 s
    env.ecs.create_cluster(clusterName="pre")
    env.ecs.register_task_definition(family="pre-server", containerDefinitions=[
        {"name": "server", "image": "example/server:1", "memory": 512}])
    created = env.ecs.create_service(cluster="pre", serviceName="server", taskDefinition="pre-server:1",
                                     desiredCount=2, launchType="EC2")["service"]
    assert created["deployments"][0]["rolloutState"] == "IN_PROGRESS" and created["runningCount"] == 0
    missing = env.ecs.describe_services(cluster="pre", services=["server"])
    assert missing["services"] == [] and missing["failures"][0]["reason"] == "MISSING", missing
    seen = states_until(lambda: rollout(env), ("COMPLETED", 2, 1))
    assert seen == ["MISSING", ("IN_PROGRESS", 0, 1), ("COMPLETED", 2, 1)], seen
    s = service(env)
    assert s["desiredCount"] == s["runningCount"] == 2 and s["pendingCount"] == 0, s
    assert any("has reached a steady state" in e["message"] for e in s["events"]), s["events"]
    # When it was created, as AWS says (API_Service.html createdAt): its first deployment's time.
    assert s["createdAt"] == s["deployments"][0]["createdAt"], s
    env.ecs.get_waiter("services_stable").wait(cluster="pre", services=["server"],
                                                WaiterConfig={"Delay": 1, "MaxAttempts": 2})


@test
def ecs_update_new_deployment_and_scaling(env: Env):
    env.realism(table={"ecs_service": {"create": [["deploying", 150]]}})
    ecs_setup(env)
    states_until(lambda: rollout(env), ("COMPLETED", 2, 1))
    out = env.ecs.update_service(cluster="pre", service="server", taskDefinition="pre-server:2")["service"]
    assert [d["status"] for d in out["deployments"]] == ["PRIMARY", "ACTIVE"], out["deployments"]
    assert out["deployments"][0]["taskDefinition"].endswith("task-definition/pre-server:2")
    assert out["deployments"][1]["runningCount"] == 2
    seen = states_until(lambda: rollout(env), ("COMPLETED", 2, 1))
    assert seen == [("IN_PROGRESS", 2, 2), ("COMPLETED", 2, 1)], seen
    assert service(env)["taskDefinition"].endswith("pre-server:2")
    env.ecs.update_service(cluster="pre", service="server", desiredCount=3)
    seen = states_until(lambda: rollout(env), ("COMPLETED", 3, 1))
    assert seen == [("IN_PROGRESS", 2, 1), ("COMPLETED", 3, 1)], seen
    # A service seeded straight into moto (never seen created) is shown as deployed long ago.
    env.m_ecs.create_service(cluster="pre", serviceName="legacy", taskDefinition="pre-server:1", desiredCount=1)
    assert rollout(env, name="legacy") == ("COMPLETED", 1, 1)
    # An INACTIVE task definition is refused (moto takes it).
    env.ecs.deregister_task_definition(taskDefinition="pre-server:1")
    assert code_of(env.ecs.update_service, cluster="pre", service="server",
                   taskDefinition="pre-server:1") == ("ClientException", 400)


@test
def ecs_forced_failed_rollout(env: Env):
    ecs_setup(env)
    env.control("/__proxy/realism/force", {"service": "ecs", "cluster": "pre", "id": "server",
                                           "state": "FAILED", "message": "tasks failed to start: CannotPullContainerError"})
    s = service(env)
    dep = s["deployments"][0]
    assert dep["rolloutState"] == "FAILED" and s["runningCount"] == 0, dep
    assert "circuit breaker" in dep["rolloutStateReason"]
    assert s["events"][0]["message"] == "tasks failed to start: CannotPullContainerError", s["events"]
    env.control("/__proxy/realism/force", {"service": "ecs", "cluster": "pre", "id": "server", "state": None})
    states_until(lambda: rollout(env), ("COMPLETED", 2, 1))


@test
def ecs_failed_update_is_rolled_back_by_the_circuit_breaker(env: Env):
    env.realism(table={"ecs_service": {"create": [["deploying", 100]]},  # 0.5 s
                       "circuit_breaker": {"failed_after": 200, "rollback": 200}})  # 1 s, 1 s
    ecs_setup(env)
    states_until(lambda: rollout(env), ("COMPLETED", 2, 1))
    first = service(env)["deployments"][0]["id"]
    # Forced on a completed deployment: the next one fails (this one stays as it is).
    env.control("/__proxy/realism/force", {"service": "ecs", "cluster": "pre", "id": "server", "state": "FAILED"})
    assert rollout(env) == ("COMPLETED", 2, 1)
    env.ecs.update_service(cluster="pre", service="server", taskDefinition="pre-server:2")

    def phase():
        s = service(env)
        return (s["taskDefinition"].rsplit("/", 1)[1],
                [(d["status"], d["taskDefinition"].rsplit("/", 1)[1], d["rolloutState"]) for d in s["deployments"]])
    seen = states_until(phase, ("pre-server:1", [("PRIMARY", "pre-server:1", "COMPLETED")]))
    assert seen == [
        ("pre-server:2", [("PRIMARY", "pre-server:2", "IN_PROGRESS"), ("ACTIVE", "pre-server:1", "COMPLETED")]),
        ("pre-server:1", [("PRIMARY", "pre-server:1", "IN_PROGRESS"), ("ACTIVE", "pre-server:2", "FAILED")]),
        ("pre-server:1", [("PRIMARY", "pre-server:1", "COMPLETED")]),
    ], seen
    s = service(env)
    assert s["runningCount"] == s["desiredCount"] == 2, s
    rolled_back = s["deployments"][0]["id"]
    assert rolled_back != first
    messages = [e["message"] for e in s["events"]]
    failed_id = next(m.split("(deployment ")[1].split(")")[0] for m in messages if "deployment failed" in m)
    assert messages[:4] == [
        "(service server) has reached a steady state.",
        f"(service server) (deployment {rolled_back}) deployment completed.",
        f"(service server) rolling back to deployment {first}.",
        f"(service server) (deployment {failed_id}) deployment failed: tasks failed to start.",
    ], messages
    # During the rollback the failed deployment said why.
    env.control("/__proxy/realism/force", {"service": "ecs", "cluster": "pre", "id": "server", "state": None})


@test
def ecs_create_service_over_an_active_one_is_not_idempotent(env: Env):
    ecs_setup(env)
    assert code_of(env.ecs.create_service, cluster="pre", serviceName="server", taskDefinition="pre-server:2",
                   desiredCount=1) == ("InvalidParameterException", 400)
    assert service(env)["taskDefinition"].endswith("pre-server:1"), "moto kept the first"
    env.ecs.create_service(cluster="pre", serviceName="other", taskDefinition="pre-server:2", desiredCount=1)


@test
def ecs_failure_forced_before_the_service_exists_fails_its_first_rollout(env: Env):
    env.control("/__proxy/realism/force", {"service": "ecs", "cluster": "pre", "id": "server",
                                           "region": REGION, "state": "FAILED",
                                           "message": "(service server) tasks failed to start."})
    ecs_setup(env)
    s = service(env)
    assert s["deployments"][0]["rolloutState"] == "FAILED", s["deployments"]
    assert s["events"][0]["message"] == "(service server) tasks failed to start.", s["events"]


@test
def ecs_task_definitions_are_described_with_ecs_defaults(env: Env):
    env.ecs.register_task_definition(family="pre-web", networkMode="awsvpc",
                                     containerDefinitions=[{"name": "web", "image": "w:1", "memory": 512,
                                                            "portMappings": [{"containerPort": 8080}]}])
    td = env.ecs.describe_task_definition(taskDefinition="pre-web")["taskDefinition"]
    c = td["containerDefinitions"][0]
    assert c["portMappings"] == [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}], c
    assert (c["cpu"], c["essential"], c["environment"], c["mountPoints"]) == (0, True, [], []), c
    raw = env.m_ecs.describe_task_definition(taskDefinition="pre-web")["taskDefinition"]
    assert "hostPort" not in raw["containerDefinitions"][0]["portMappings"][0], "moto leaves it out"


@test
def ecs_delete_draining_then_inactive_and_cluster_refusals(env: Env):
    env.realism(table={"ecs_service": {"delete": [["DRAINING", 200]]}})  # 1 s
    ecs_setup(env, desired=1)
    again = env.ecs.create_cluster(clusterName="pre", tags=[{"key": "other", "value": "x"}])["cluster"]
    assert again["status"] == "ACTIVE"
    assert again["tags"] == [{"key": "rehearsal:env", "value": "pre"}], again["tags"]
    assert env.m_ecs.describe_clusters(clusters=["pre"], include=["TAGS"])["clusters"][0]["tags"] == \
        [{"key": "rehearsal:env", "value": "pre"}], "the repeated CreateCluster reached moto"
    assert code_of(env.ecs.delete_cluster, cluster="pre") == ("ClusterContainsServicesException", 400)
    env.ecs.update_service(cluster="pre", service="server", desiredCount=0)
    out = env.ecs.delete_service(cluster="pre", service="server", force=True)["service"]
    assert out["status"] == "DRAINING", out["status"]
    assert env.ecs.list_services(cluster="pre")["serviceArns"] == [], "ListServices hides DRAINING"
    assert len(env.m_ecs.list_services(cluster="pre")["serviceArns"]) == 1
    assert code_of(env.ecs.update_service, cluster="pre", service="server", desiredCount=1) == \
        ("ServiceNotActiveException", 400)
    assert code_of(env.ecs.delete_cluster, cluster="pre") == ("ClusterContainsServicesException", 400)
    seen = states_until(lambda: service(env)["status"], "INACTIVE")
    assert seen == ["DRAINING", "INACTIVE"], seen
    env.ecs.get_waiter("services_inactive").wait(cluster="pre", services=["server"],
                                                  WaiterConfig={"Delay": 1, "MaxAttempts": 2})
    assert env.ecs.delete_cluster(cluster="pre")["cluster"]["status"] == "INACTIVE"


@test
def tagging_lag(env: Env):
    env.realism(table={"consistency": {"tagging_lag": 200}})  # 1 s
    env.m_ecs.register_task_definition(family="old", containerDefinitions=[{"name": "a", "image": "a", "memory": 8}],
                                       tags=[{"key": "rehearsal:env", "value": "pre"}])
    arn = env.ecs.register_task_definition(family="new", containerDefinitions=[
        {"name": "a", "image": "a", "memory": 8}], tags=[{"key": "rehearsal:env", "value": "pre"}])[
        "taskDefinition"]["taskDefinitionArn"]

    def listed():
        out = env.tag.get_resources(TagFilters=[{"Key": "rehearsal:env", "Values": ["pre"]}],
                                    ResourceTypeFilters=["ecs:task-definition"])
        return sorted(m["ResourceARN"].rsplit("/", 1)[-1] for m in out["ResourceTagMappingList"])

    seen = states_until(listed, ["new:1", "old:1"])
    assert seen == [["old:1"], ["new:1", "old:1"]], seen
    assert arn.endswith("new:1")


@test
def tagging_lag_security_groups(env: Env):
    env.realism(table={"consistency": {"tagging_lag": 100}})  # 0.5 s
    vpc, _ = network(env)
    spec = [{"ResourceType": "security-group", "Tags": [{"Key": "rehearsal:env", "Value": "pre"}]}]
    old = env.m_ec2.create_security_group(GroupName="old", Description="o", VpcId=vpc,
                                          TagSpecifications=spec)["GroupId"]
    new = env.ec2.create_security_group(GroupName="new", Description="n", VpcId=vpc,
                                        TagSpecifications=spec)["GroupId"]
    assert env.ec2.describe_security_groups(GroupIds=[new])["SecurityGroups"], "no lifecycle: it exists at once"

    def listed():
        out = env.tag.get_resources(TagFilters=[{"Key": "rehearsal:env", "Values": ["pre"]}],
                                    ResourceTypeFilters=["ec2:security-group"])
        return sorted(m["ResourceARN"].rsplit("/", 1)[-1] for m in out["ResourceTagMappingList"])

    seen = states_until(listed, sorted([old, new]))
    assert seen == [[old], sorted([old, new])], seen


@test
def expired_credentials_in_each_protocol(env: Env):
    seed_db(env)
    env.realism(expire_credentials=True)
    assert code_of(env.ec2.describe_instances) == ("RequestExpired", 400)
    assert code_of(env.rds.describe_db_instances) == ("ExpiredToken", 403)
    assert code_of(env.ecs.list_clusters) == ("ExpiredTokenException", 400)
    assert code_of(env.tag.get_resources) == ("ExpiredTokenException", 400)
    urllib.request.urlopen(env.url + "/moto-api/", timeout=5)  # not an AWS call: not refused
    env.realism(expire_credentials=False)
    assert code_of(env.rds.describe_db_instances) is None
    env.realism(credentials_expire_in=0.4)
    assert code_of(env.ecs.list_clusters) is None
    time.sleep(0.5)
    assert code_of(env.ecs.list_clusters) == ("ExpiredTokenException", 400)
    assert env.control("/__proxy/realism")["credentials"]["expired"] is True


@test
def faults_combine_with_realism(env: Env):
    seed_db(env)
    retrying = Config(retries={"max_attempts": 10, "mode": "standard"})
    rds = boto3.client("rds", endpoint_url=env.url, region_name=REGION, config=retrying, **CREDS)
    before = env.control("/__proxy/stats")["faults"]["total"]
    env.control("/__proxy/config", {"fault_rate": 0.4, "seed": 3, "plain_503_share": 0.25})
    try:
        # (The retries' back-off may outlast `creating`: its answer says it, the rest may not.)
        out = rds.create_db_snapshot(DBSnapshotIdentifier="snap-f", DBInstanceIdentifier="prod-db")
        assert out["DBSnapshot"]["Status"] == "creating", out["DBSnapshot"]["Status"]
        seen = states_until(lambda: rds.describe_db_snapshots(DBSnapshotIdentifier="snap-f")[
            "DBSnapshots"][0]["Status"], "available")
        assert set(seen) <= {"creating", "available"}, seen
        assert code_of(rds.delete_db_instance, DBInstanceIdentifier="prod-db") == \
            ("InvalidParameterCombination", 400)
    finally:
        env.control("/__proxy/config", {"fault_rate": 0.0})
    assert env.control("/__proxy/stats")["faults"]["total"] > before, "no fault was injected"


@test
def time_scale_zero_is_instant_but_still_aws(env: Env):
    seed_db(env)
    env.realism(time_scale=0)
    env.rds.create_db_snapshot(DBSnapshotIdentifier="snap-0", DBInstanceIdentifier="prod-db")
    assert snap_status(env, "snap-0") == "available"
    db = env.rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="c0", DBSnapshotIdentifier="snap-0")
    assert db["DBInstance"]["DBInstanceIdentifier"] == "c0"
    d = env.rds.describe_db_instances(DBInstanceIdentifier="c0")["DBInstances"][0]
    assert d["DBInstanceStatus"] == "available" and "Endpoint" in d, d
    assert code_of(env.rds.delete_db_instance, DBInstanceIdentifier="c0") == ("InvalidParameterCombination", 400)
    env.rds.delete_db_instance(DBInstanceIdentifier="c0", SkipFinalSnapshot=True)
    assert db_status(env, "c0") == "DBInstanceNotFound"
    kw = dict(ImageId=AMI, MinCount=1, MaxCount=1, ClientToken="zero")
    iid = env.ec2.run_instances(**kw)["Instances"][0]["InstanceId"]
    assert ec2_state(env, iid) == "running"
    assert env.ec2.run_instances(**kw)["Instances"][0]["InstanceId"] == iid
    env.ecs.create_cluster(clusterName="z", tags=[{"key": "k", "value": "1"}])
    assert env.ecs.create_cluster(clusterName="z")["cluster"]["tags"] == [{"key": "k", "value": "1"}]
    # Changes for the maintenance window wait, even at scale 0; ApplyImmediately applies them at once.
    out = env.rds.modify_db_instance(DBInstanceIdentifier="prod-db", DBInstanceClass="db.t3.large")["DBInstance"]
    assert out["PendingModifiedValues"] == {"DBInstanceClass": "db.t3.large"}, out["PendingModifiedValues"]
    env.rds.modify_db_instance(DBInstanceIdentifier="prod-db", ApplyImmediately=True)
    d = describe_db(env)
    assert (d["DBInstanceClass"], d["PendingModifiedValues"]) == ("db.t3.large", {}), d


@test
def control_endpoint_shapes(env: Env):
    out = env.control("/__proxy/realism")
    for key in ("enabled", "time_scale", "toggles", "credentials", "resources", "client_tokens",
                "deferred", "counters", "table"):
        assert key in out, key
    assert out["time_scale"] == SCALE and set(out["toggles"]) == set(TOGGLES)
    assert out["table"]["rds_instance"]["create"] == [["creating", 480], ["backing-up", 120]], \
        "the table is read from src/provider/lifecycles.toml"
    env.control("/__proxy/realism", {"toggles": {"nope": True}}, expect=400)
    env.control("/__proxy/realism", {"time_scale": -1}, expect=400)
    env.control("/__proxy/realism/force", {"service": "s3", "id": "x", "state": "y"}, expect=400)
    env.control("/__proxy/realism/nothing", {}, expect=404)
    # Switched off, the layer passes moto through.
    env.realism(enabled=False)
    seed_db(env)
    env.rds.create_db_snapshot(DBSnapshotIdentifier="raw", DBInstanceIdentifier="prod-db")
    assert snap_status(env, "raw") == "available"
    env.realism(enabled=True, toggles={"rds": False})
    env.rds.create_db_snapshot(DBSnapshotIdentifier="raw2", DBInstanceIdentifier="prod-db")
    assert snap_status(env, "raw2") == "available"


@test
def route53_create_of_an_existing_record_and_delete_of_other_values_are_refused(env: Env):
    no_retry = Config(retries={"total_max_attempts": 1, "mode": "standard"})
    r53, m_r53 = (boto3.client("route53", endpoint_url=u, region_name=REGION, config=no_retry, **CREDS)
                  for u in (env.url, env.moto_url))
    zone = m_r53.create_hosted_zone(Name="example.com", CallerReference=f"t-{time.time()}")["HostedZone"]["Id"]

    def batch(action: str, value: str, ttl: int = 60) -> dict:
        return {"Changes": [{"Action": action, "ResourceRecordSet": {
            "Name": "pre.example.com", "Type": "A", "TTL": ttl, "ResourceRecords": [{"Value": value}]}}]}

    def a_records() -> list:
        return [x["Value"] for s in m_r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
                if s["Type"] == "A" for x in s["ResourceRecords"]]

    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch=batch("CREATE", "10.0.0.1"))
    try:
        r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch=batch("CREATE", "10.0.0.2"))
        raise AssertionError("a CREATE of an existing record was accepted")
    except ClientError as e:
        assert e.response["Error"]["Code"] == "InvalidChangeBatch", e.response
        assert "pre.example.com." in e.response["Error"]["Message"], e.response
        assert "already exists" in e.response["Error"]["Message"], e.response
    assert code_of(r53.change_resource_record_sets, HostedZoneId=zone,
                   ChangeBatch=batch("DELETE", "10.0.0.9")) == ("InvalidChangeBatch", 400)
    assert code_of(r53.change_resource_record_sets, HostedZoneId=zone,
                   ChangeBatch=batch("DELETE", "10.0.0.1", ttl=300)) == ("InvalidChangeBatch", 400)
    assert a_records() == ["10.0.0.1"], "refused batches change nothing"
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch=batch("DELETE", "10.0.0.1"))
    assert a_records() == []


@test
def route53_record_sets_are_listed_in_small_pages(env: Env):
    no_retry = Config(retries={"total_max_attempts": 1, "mode": "standard"})
    r53 = boto3.client("route53", endpoint_url=env.url, region_name=REGION, config=no_retry, **CREDS)
    zone = r53.create_hosted_zone(Name="example.com", CallerReference=f"p-{time.time()}")["HostedZone"]["Id"]
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [
        {"Action": "CREATE", "ResourceRecordSet": {"Name": f"r{i}.example.com", "Type": "A", "TTL": 60,
                                                   "ResourceRecords": [{"Value": f"10.0.0.{i}"}]}}
        for i in range(5)]})
    first = r53.list_resource_record_sets(HostedZoneId=zone)
    assert len(first["ResourceRecordSets"]) == 3 and first["IsTruncated"], first
    names, page = [], first
    while True:
        names += [(s["Name"], s["Type"]) for s in page["ResourceRecordSets"]]
        if not page["IsTruncated"]:
            break
        page = r53.list_resource_record_sets(HostedZoneId=zone, StartRecordName=page["NextRecordName"],
                                             StartRecordType=page["NextRecordType"])
    assert len(names) == len(set(names)) == 7, names  # SOA, NS and the five
    env.realism(route53_page_size=100)
    assert not r53.list_resource_record_sets(HostedZoneId=zone)["IsTruncated"]
    assert r53.list_resource_record_sets(HostedZoneId=zone, MaxItems="1")["IsTruncated"], "asked for less"


def without_realism(moto_url: str) -> None:
    proc, url = start_proxy(moto_url)
    try:
        env = Env(moto_url, url)
        env.control("/__proxy/realism", expect=404)
        urllib.request.urlopen(urllib.request.Request(url + "/moto-api/reset", data=b"", method="POST"))
        seed_db(env)
        snap = env.rds.create_db_snapshot(DBSnapshotIdentifier="s", DBInstanceIdentifier="prod-db")
        assert snap["DBSnapshot"]["Status"] == "available", "moto's answer should pass through untouched"
        assert env.control("/__proxy/stats")["realism"] is False
    finally:
        stop(proc)


# --- runner ---------------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-k", default="", help="run only the tests whose name contains this")
    ap.add_argument("-v", action="store_true", help="show the proxy's realism snapshot on failure")
    args = ap.parse_args()
    started = time.time()
    moto = proxy = None
    passed = failed = 0
    try:
        moto, moto_url = start_moto()
        proxy, proxy_url = start_proxy(moto_url, "--realism", "--time-scale", str(SCALE))
        env = Env(moto_url, proxy_url)
        tests = [(t.__name__, lambda t=t: t(env)) for t in TESTS]
        tests.append(("proxy_without_realism_passes_moto_through", lambda: without_realism(moto_url)))
        for name, run in tests:
            if args.k not in name:
                continue
            t0 = time.time()
            try:
                env.reset()
                run()
            except Exception as exc:  # noqa: BLE001 (report every failure, go on)
                failed += 1
                print(f"FAIL {name} ({time.time() - t0:.1f}s)")
                detail = traceback.format_exc() if not isinstance(exc, AssertionError) else \
                    "".join(traceback.format_exception_only(exc)) + "".join(traceback.format_tb(exc.__traceback__)[-1:])
                print("     " + detail.strip().replace("\n", "\n     "))
                if args.v:
                    print(json.dumps(env.control("/__proxy/realism")["resources"], indent=1))
            else:
                passed += 1
                print(f"ok   {name} ({time.time() - t0:.1f}s)")
    finally:
        stop(proxy)
        stop(moto)
    print(f"\n{passed} passed, {failed} failed in {time.time() - started:.1f}s")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
