"""AWS's lifecycles and refusals, simulated in front of moto: the fault proxy's realistic mode.

    python3 scripts/fault_proxy.py --upstream http://127.0.0.1:PORT --port 0 --fault-rate 0 \\
        --realism --time-scale 0.01 [--lifecycles src/provider/lifecycles.toml]

moto is instant, forgiving and consistent; AWS is none of those. With ``--realism`` the proxy keeps
moto's state as the truth and *overlays* what AWS would show on top of it: every resource created,
modified or deleted through the proxy passes through the phases of ``src/provider/lifecycles.toml``
(the contract shared with the fake provider and the benchmark), scaled by ``--time-scale S``
(``0.01`` makes a 480 s restore take 4.8 s; ``0`` makes every transition instant while every
*semantic* fix below still applies). Requests that the simulated state refuses are answered by the
proxy in the service's own wire format, without reaching moto. Faults (``--fault-rate``) are
decided first and combine with realism. Standard library only.

Simulated behaviours (each handler cites the AWS page it models, again, in a comment):

RDS (awsQuery, 2014-10-31)
  1. CreateDBSnapshot: ``creating`` for ``rds_snapshot.create``, then ``available``; refused with
     ``InvalidDBInstanceState`` unless the instance is ``available``.
     https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_CreateSnapshot.html
     https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBSnapshot.html
  2. RestoreDBInstanceFromDBSnapshot (and CreateDBInstance): refused with
     ``InvalidDBSnapshotState`` while the snapshot is not ``available``; the instance is
     ``creating`` then ``backing-up`` (``rds_instance.create``) then ``available``, with no
     ``<Endpoint>`` until then. moto's copying of the source's tags and deletion protection is
     left alone (rehearsal passes explicit tags).
     https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_RestoreFromSnapshot.html
     https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/accessing-monitoring.html
  3. ModifyDBInstance: ``available`` for a moment, then ``modifying`` (``rds_instance.modify``),
     then ``available``; refused with ``InvalidDBInstanceState`` unless ``available`` (AWS accepts
     a few changes on a stopped instance; this layer keeps it simple and refuses them all).
     https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.DBInstance.Modifying.html
  4. DeleteDBInstance: refused with ``InvalidDBInstanceState`` while the instance is busy
     (creating, backing-up, modifying, starting, stopping, deleting, ...); in ``failed``,
     ``incompatible-restore`` or ``incompatible-network`` only with ``SkipFinalSnapshot=true``;
     refused with ``InvalidParameterCombination`` without ``SkipFinalSnapshot`` or a
     ``FinalDBSnapshotIdentifier`` (moto accepts that), or with both. Accepted from ``available``,
     ``stopped`` and the other failure states. The proxy answers the delete itself (status
     ``deleting``), shows ``deleting`` for ``rds_instance.delete`` (or until the final snapshot
     exists, whichever is longer), then ``DBInstanceNotFound``; the real DeleteDBInstance reaches
     moto when the phase is over (at the next request). A final snapshot is made in moto at once
     and reports ``creating`` then ``available``.
     https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DeleteDBInstance.html
  5. DeleteDBSnapshot: ``deleting`` (``rds_snapshot.delete``) then gone (deferred like 4);
     refused with ``InvalidDBSnapshotState`` while ``creating``.
     https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_DeleteSnapshot.html
  6. StopDBInstance / StartDBInstance: ``stopping`` then ``stopped``; ``starting`` then
     ``available``; each refused with ``InvalidDBInstanceState`` from the wrong state.
     https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_StopInstance.html
     https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_StartInstance.html
 15. ModifyDBInstance shows its changes as pending (moto applies them at once; it stays the truth,
     the layer shows the old values over it). DBInstanceClass, AllocatedStorage,
     BackupRetentionPeriod, MultiAZ, EngineVersion, LicenseModel, Iops, StorageThroughput,
     StorageType, CACertificateIdentifier and DBSubnetGroup(Name) keep their old values in the
     DBInstance while the new ones are listed under ``<PendingModifiedValues>`` (the API
     reference's element names; the password as ``<MasterUserPassword>****``); every DBInstance
     carries a ``<PendingModifiedValues>``, empty when nothing waits (as AWS describes them).
     With ApplyImmediately the changes (and any queued earlier) are applied when the
     ``rds_instance.modify`` phases end; without it they wait for the maintenance window, which
     never comes here: pending until a later ModifyDBInstance with ApplyImmediately, and the
     status stays ``available``. What AWS applies "asynchronously, as soon as possible" whatever
     ApplyImmediately says runs the modify phases even without it: VpcSecurityGroupIds,
     DBParameterGroupName (16), MasterUserPassword, and BackupRetentionPeriod from one non-zero
     value to another (pending until the phases end). VpcSecurityGroups show the new groups at
     once, ``active`` (the API reference: "Currently, the only valid status is active"), but the
     removed ones still count as in use by the instance for DeleteSecurityGroup (17) until the
     phases end. DeletionProtection, CopyTagsToSnapshot, AutoMinorVersionUpgrade, the
     maintenance window and everything not listed show moto's new value at once (DeletionProtection
     "occurs immediately" and "ignores the apply immediately setting"). DBPortNumber and
     NewDBInstanceIdentifier are left as moto applies them.
     https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.DBInstance.Modifying.html
     https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ModifyInstance.Settings.html
     https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBInstance.html
     https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_PendingModifiedValues.html
     https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_VpcSecurityGroupMembership.html
 16. A new DB parameter group takes effect after a reboot. After a ModifyDBInstance that changes
     DBParameterGroupName the new name shows at once ("The parameter group name itself is changed
     immediately"), with ``DBParameterGroups/DBParameterGroup/ParameterApplyStatus`` ``applying``
     while the modify phases run, then ``pending-reboot`` until a RebootDBInstance has finished,
     then ``in-sync`` (moto: ``in-sync`` at once). RebootDBInstance: ``rebooting``
     (``rds_instance.reboot``, default ``[["rebooting", 60]]`` when the table has no such key)
     then ``available``; refused with ``InvalidDBInstanceState`` unless ``available``. A reboot
     accepted during the ``available`` moment before ``modifying`` runs first, and the rest of the
     modification after it.
     https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithParamGroups.html
     https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBParameterGroupStatus.html
     https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_RebootInstance.html
     https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_RebootDBInstance.html
EC2 (ec2 query, 2016-11-15)
  7. RunInstances: ``pending`` (``ec2_instance.create``) then ``running``. For
     ``consistency.not_found_after_create`` seconds an instance is unknown to calls naming it
     (``InvalidInstanceID.NotFound``) and missing from listings.
     https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-lifecycle.html
     https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html
     RunInstances without ``BlockDeviceMapping`` launches with the image's mapping (moto
     attaches one root volume deleted with the instance): moto's images keep their root volume
     (``DeleteOnTermination`` false), so it outlives the instance, detached and ``available``.
     https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/block-device-mapping-concepts.html
  8. RunInstances ``ClientToken``: same token and parameters → the original response again
     (same ids, current states, nothing launched, even after termination); same token with other
     parameters → ``IdempotentParameterMismatch``. Remembered while any of its instances exists
     and for ``consistency.client_token_memory`` *real* seconds after they are all terminated:
     this one is a guarantee ("at least 24 hours"), not a delay, so it is not scaled (at S=0 it
     would vanish); change it with the control endpoint.
     https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html
  9. TerminateInstances: ``shutting-down`` then ``terminated``. StopInstances: ``stopping`` then
     ``stopped`` (refused with ``IncorrectInstanceState`` from pending, shutting-down,
     terminated); StartInstances: ``pending`` then ``running`` (refused from stopping,
     shutting-down, terminated); ModifyInstanceAttribute of the instance type only when stopped.
     https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Stop_Start.html
     https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-resize.html
 17. DeleteSecurityGroup is refused with ``DependencyViolation`` ("resource sg-... has a dependent
     object", HTTP 400, EC2's ``<Response><Errors>`` format) while the group is in use (moto
     deletes it): by an instance that is not ``terminated`` as the layer shows it (one
     ``shutting-down`` still uses its groups), by an RDS instance that is not gone (its
     VpcSecurityGroups, and for the modify phases the groups a ModifyDBInstance removed), by an
     ECS service with an awsvpc configuration that is DRAINING or has tasks running or pending
     as the layer shows it, by a network interface that belongs to no instance and to no stopped
     ECS task (RunTask's awsvpc tasks, interfaces made by hand), or by a rule
     (IpPermissions or IpPermissionsEgress UserIdGroupPairs) of another group in the same VPC.
     The default group of a VPC is refused with ``CannotDelete`` (moto deletes it, and then
     CreateDBInstance fails with HTTP 500).
     https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSecurityGroup.html

Route 53 (restXml, 2013-04-01)
 18. ChangeResourceRecordSets checks each change against the zone as it is, which moto does not:
     a CREATE of a name and type that exist is refused with ``InvalidChangeBatch`` ("Tried to
     create resource record set [name='x.', type='A'] but it already exists"; moto adds a second
     record beside it), and a DELETE whose TTL and values are not exactly the record's current
     ones (or of a record that does not exist) with ``InvalidChangeBatch`` too. The batch is
     refused whole, as AWS applies it all or nothing.
     https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html
     https://docs.aws.amazon.com/Route53/latest/APIReference/API_Change.html
     https://docs.aws.amazon.com/vpc/latest/userguide/deleting-security-groups.html
     https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
     Security groups made through the proxy exist at once (no lifecycle) and are listed at once;
     the Tagging API's lag (13) applies to them, and the not-found window by id (21).
 20. What outlives a deleted resource (``[lingering]``): the tasks a DeleteService or a scale-in
     stops hold the cluster for ``ecs_tasks_stopping`` (DeleteCluster refused with
     ``ClusterContainsTasksException``, even once the service is INACTIVE); then an awsvpc task's
     network interface holds the service's security groups for ``ecs_task_network_interface``
     more, and a deleted DB instance's for ``rds_network_interface`` after it is gone
     (DeleteSecurityGroup refused with ``DependencyViolation``, 17).
     https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html
     https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteCluster.html
     https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/requester-managed-eni.html
 21. For ``consistency.not_found_after_create`` seconds after CreateSecurityGroup, calls naming the
     group by id (DescribeSecurityGroups GroupId.N, Authorize/RevokeSecurityGroupIngress/Egress,
     DeleteSecurityGroup) answer ``InvalidGroup.NotFound``.
     https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html
ECS (JSON 1.1)
 10. Services finish deploying: after the ``ecs_service.create`` deploying phase (from CreateService,
     or from an UpdateService that changes the task definition, forces a new deployment or
     changes the desired count) DescribeServices shows ``runningCount == desiredCount``, one
     PRIMARY deployment with ``rolloutState`` COMPLETED and a steady-state event (what the
     ``services-stable`` waiter wants). During a new deployment the old one is listed as ACTIVE.
     Services the proxy did not see created are shown as deployed long ago. A control hook makes
     a rollout FAILED (deployment circuit breaker) with an event message. A service carries the
     ``createdAt`` AWS gives it (moto leaves it out): its first deployment's.
     https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Service.html
     UpdateService is refused with ``ServiceNotActiveException`` for a DRAINING/INACTIVE service
     and with ``ClientException`` for an INACTIVE task definition (moto accepts both).
     https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html
     https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html
     https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html
     ECS has the same eventual consistency as EC2: for ``consistency.not_found_after_create``
     seconds a new service is a ``MISSING`` failure of DescribeServices.
     https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServices.html
 11. DeleteService: ``DRAINING`` (``ecs_service.delete``) then ``INACTIVE`` (moto: INACTIVE at
     once); ListServices lists ACTIVE services only (moto lists all). DeleteCluster is refused with ``ClusterContainsServicesException`` while the
     cluster has ACTIVE or DRAINING services (moto deletes it).
     https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteService.html
     https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteCluster.html
 12. CreateCluster of a name that is ACTIVE answers 200 with the existing cluster, unchanged
     (moto replaces it, tags included).
     https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateCluster.html
 18. RegisterTaskDefinition and DescribeTaskDefinition answer with the defaults ECS fills in
     (empty lists, cpu 0, essential, protocol tcp, the host port under awsvpc), which moto
     leaves out in part.
 19. DeleteTaskDefinitions: the revision describes as ``DELETE_IN_PROGRESS`` (with its tags) for
     ``lingering.ecs_task_definition_delete_in_progress`` (moto forgets it at once).
     https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteTaskDefinitions.html
 22. The deployment circuit breaker with rollback (``[circuit_breaker]``): a failure forced on a
     service applies to its deployment in progress, or, if that one has completed, to the next
     one, and stays until cleared. A deployment from UpdateService that has a COMPLETED one
     before it is IN_PROGRESS for ``failed_after`` seconds, then FAILED and listed ACTIVE under a
     new PRIMARY deployment of the previous task definition (IN_PROGRESS for ``rollback``
     seconds, then COMPLETED and alone); the service's taskDefinition is the PRIMARY's. Events:
     "(deployment X) deployment failed: tasks failed to start.", "rolling back to deployment
     Y.", then "(deployment Z) deployment completed." and "has reached a steady state.". A
     CreateService's first deployment has nothing to roll back to: FAILED at once, and stays.
     https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html
 23. CreateService of a name that is ACTIVE in the cluster: ``InvalidParameterException``
     "Creation of service was not idempotent." (moto replaces the service).
     https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html
 25. RegisterTaskDefinition and DescribeTaskDefinition say when the revision was registered
     (``registeredAt``, the time of the RegisterTaskDefinition; moto answers null).
     https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_TaskDefinition.html
 24. ListResourceRecordSets answers at most ``route53_page_size`` records a page (control
     endpoint; default 3, AWS's is up to 300), with IsTruncated and NextRecordName/Type, so
     clients must follow the pages.
     https://docs.aws.amazon.com/Route53/latest/APIReference/API_ListResourceRecordSets.html
Tagging (``tag:GetResources``)
 13. A resource created through the proxy less than ``consistency.tagging_lag`` seconds ago is
     not listed yet (RDS instances and snapshots, EC2 instances and security groups, ECS
     clusters, services and task definitions).
     https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/overview.html
Credentials
 14. Once expired (control endpoint), every AWS API request is refused as AWS refuses an expired
     session token: EC2 ``RequestExpired`` (HTTP 400: EC2 has no ExpiredToken code; its error list
     says RequestExpired "can also occur if the credentials have expired"), awsQuery services
     such as RDS ``ExpiredToken`` (HTTP 403, ``<Type>Sender</Type>``), JSON services such as ECS
     and the Tagging API ``ExpiredTokenException`` (HTTP 400, as ECS answers it).
     https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
     https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/CommonErrors.html
     https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_use-resources.html

Time: every duration of the table is AWS seconds. The layer keeps a virtual AWS clock that runs
1/S times as fast as the real one (S=0: instant), so changing S at run time speeds up or slows
down transitions already under way. Consistency windows (not-found, tagging lag) scale too; the
client-token memory and credential expiry are real seconds.

Control endpoints (served by the proxy):
    GET  /__proxy/realism         what the layer tracks: settings, resources with their current
                                  simulated state, client tokens, deferred calls, counters, table
    POST /__proxy/realism         JSON, every key optional:
                                  {"enabled": true, "time_scale": 0.01,
                                   "toggles": {"rds": true, "ec2": true, "ec2_not_found": true,
                                               "client_tokens": true, "ecs": true,
                                               "ecs_not_found": true, "tagging_lag": true,
                                               "sg_dependencies": true},
                                   "expire_credentials": true,      (false: valid again)
                                   "credentials_expire_in": 5.0,    (real seconds; null: never)
                                   "client_token_memory": 86400,    (real seconds)
                                   "route53_page_size": 3,          (records a page, 24)
                                   "table": {"consistency": {"tagging_lag": 60}},  (deep-merged
                                            over the file for new transitions; null: the file)
                                   "reset": true}                   (forget everything tracked)
    POST /__proxy/realism/force   put a resource into a state, until its next transition:
                                  {"service": "rds", "id": "prerelease-db", "state": "stopped"}
                                  {"service": "rds", "id": "prerelease-db",
                                   "state": "incompatible-restore"}
                                  {"service": "rds", "kind": "snapshot", "id": "s", "state": "failed"}
                                  {"service": "ec2", "id": "i-0123", "state": "stopped"}
                                  {"service": "ecs", "cluster": "prerelease", "id": "server",
                                   "state": "FAILED", "message": "tasks failed to start"}
                                  (also before the service exists: its first rollout fails;
                                  on a deployment that completed: the next one fails, 22)
                                  optional "region" (default: every region); "state": null clears.
    POST /__proxy/realism/reset   forget everything tracked (also done on POST /moto-api/reset);
                                  settings (time scale, toggles, credentials) stay.
Every answer is the GET's JSON. Bad input: HTTP 400 {"error": "..."}.
"""

from __future__ import annotations

import copy
import json
import random
import re
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Callable

DEFAULT_LIFECYCLES = Path(__file__).resolve().parent.parent / "src" / "provider" / "lifecycles.toml"

# Used for any key the file lacks (the file is the contract; this is a copy of its figures).
DEFAULT_TABLE: dict = {
    "rds_snapshot": {
        "create": [["creating", 300]], "ready": "available", "delete": [["deleting", 30]],
        "failed": ["failed"],
    },
    "rds_instance": {
        "create": [["creating", 480], ["backing-up", 120]], "ready": "available",
        "modify": [["available", 5], ["modifying", 60]], "delete": [["deleting", 300]],
        # Not in lifecycles.toml (yet): RebootDBInstance, "a momentary outage, during which the DB
        # instance status is set to rebooting" (API_RebootDBInstance.html).
        "reboot": [["rebooting", 60]],
        "stop": [["stopping", 60]], "stopped": "stopped", "start": [["starting", 120]],
        "failed": ["failed", "incompatible-restore", "incompatible-network", "restore-error",
                   "inaccessible-encryption-credentials", "incompatible-option-group",
                   "incompatible-parameters", "storage-full"],
    },
    "ec2_instance": {
        "create": [["pending", 60]], "ready": "running", "delete": [["shutting-down", 60]],
        "gone": "terminated", "stop": [["stopping", 30]], "stopped": "stopped",
        "start": [["pending", 30]], "failed": [],
    },
    "ecs_cluster": {"create": [], "ready": "ACTIVE", "delete": [], "gone": "INACTIVE",
                    "failed": ["FAILED"]},
    "ecs_task_definition": {"create": [], "ready": "ACTIVE", "delete": [],
                            "gone": ["INACTIVE", "DELETE_IN_PROGRESS"], "failed": []},
    "ecs_service": {"create": [["deploying", 120]], "ready": "ACTIVE",
                    "delete": [["DRAINING", 30]], "gone": "INACTIVE", "failed": []},
    "circuit_breaker": {"failed_after": 300, "rollback": 120},
    "lingering": {"ecs_tasks_stopping": 90, "ecs_task_network_interface": 300,
                  "rds_network_interface": 600, "ecs_task_definition_delete_in_progress": 3600},
    "consistency": {"not_found_after_create": 5, "tagging_lag": 30, "client_token_memory": 86400},
}

DEFAULT_TOGGLES = {
    "rds": True,  # RDS lifecycles, refusals and pending modifications (1-6, 15, 16)
    "ec2": True,  # EC2 lifecycles and refusals (7, 9); with it off, ec2_not_found is off too
    "ec2_not_found": True,  # EC2 not-found window (7)
    "client_tokens": True,  # RunInstances ClientToken (8), with or without "ec2"
    "ecs": True,  # ECS rollouts, draining and refusals (10-12); off: ecs_not_found too
    "ecs_not_found": True,  # ECS DescribeServices MISSING window (10)
    "tagging_lag": True,  # Tagging API lag (13)
    "sg_dependencies": True,  # DeleteSecurityGroup refusals (17)
    "route53": True,  # ChangeResourceRecordSets checks (18), small ListResourceRecordSets pages (24)
}

RDS_VERSION = "2014-10-31"
RDS_NS = "http://rds.amazonaws.com/doc/2014-10-31/"
EC2_VERSION = "2016-11-15"
ECS_PREFIX = "AmazonEC2ContainerServiceV20141113."
ROUTE53_NS = "https://route53.amazonaws.com/doc/2013-04-01/"
RRSET_PATH = re.compile(r"^/2013-04-01/hostedzone/([^/?]+)/rrset/?$")
GONE = "(gone)"
INSTANT_RATE = 1e9  # virtual seconds per real second at time scale 0
ROUTE53_PAGE = 3  # 24: records per ListResourceRecordSets page (AWS: up to 300)

EC2_STATE_CODES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48,
                   "stopping": 64, "stopped": 80}
RDS_DELETE_NEEDS_SKIP = ("failed", "incompatible-restore", "incompatible-network")

# 15: ModifyDBInstance settings that wait (with ApplyImmediately until the modification ends,
# without it until the maintenance window), in the order of the API reference's
# PendingModifiedValues: its element -> (the DBInstance element that keeps the old value, the
# value's path inside that element or None for its text). MasterUserPassword is never described.
# https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_PendingModifiedValues.html
PENDING_FIELDS: dict[str, tuple[str | None, str | None]] = {
    "DBInstanceClass": ("DBInstanceClass", None),
    "AllocatedStorage": ("AllocatedStorage", None),
    "MasterUserPassword": (None, None),
    "BackupRetentionPeriod": ("BackupRetentionPeriod", None),
    "MultiAZ": ("MultiAZ", None),
    "EngineVersion": ("EngineVersion", None),
    "LicenseModel": ("LicenseModel", None),
    "Iops": ("Iops", None),
    "StorageThroughput": ("StorageThroughput", None),
    "StorageType": ("StorageType", None),
    "CACertificateIdentifier": ("CACertificateIdentifier", None),
    "DBSubnetGroupName": ("DBSubnetGroup", "DBSubnetGroupName"),
}

SCOPE_RE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")

Response = tuple  # (status: int, headers: list[tuple[str, str]], body: bytes)


class UpstreamError(Exception):
    """The emulator could not be reached (the proxy answers 502)."""


# --- the table ------------------------------------------------------------------------------------

def deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def load_table(path: str | Path | None = None) -> dict:
    """The lifecycle table: DEFAULT_TABLE with the file's values over it."""
    import tomllib  # Python 3.11+; imported here so that the plain fault proxy runs on older ones

    p = Path(path) if path else DEFAULT_LIFECYCLES
    if not p.exists():
        if path:
            raise FileNotFoundError(f"no lifecycle table at {p}")
        return copy.deepcopy(DEFAULT_TABLE)
    with open(p, "rb") as f:
        return deep_merge(DEFAULT_TABLE, tomllib.load(f))


# --- time -----------------------------------------------------------------------------------------

class Clock:
    """AWS time: runs 1/scale times as fast as the real (monotonic) clock; scale 0 is instant."""

    def __init__(self, scale: float):
        self.scale = float(scale)
        self.real0 = time.monotonic()
        self.v0 = 0.0

    def now(self) -> float:
        dt = time.monotonic() - self.real0
        return self.v0 + (dt / self.scale if self.scale > 0 else dt * INSTANT_RATE)

    def set_scale(self, scale: float) -> None:
        v = self.now()
        self.real0 = time.monotonic()
        self.v0 = v
        self.scale = float(scale)

    def real_seconds(self, virtual: float) -> float:
        return virtual * self.scale


class Lifecycle:
    """Phases [(state, seconds)] from a virtual start time, then `final` (GONE: no longer exists).
    A forced lifecycle is its final state until replaced."""

    __slots__ = ("name", "phases", "start", "final", "forced")

    def __init__(self, name: str, phases, start: float, final: str, forced: bool = False):
        self.name = name
        self.phases = [(str(s), float(d)) for s, d in phases]
        self.start = start
        self.final = final
        self.forced = forced

    def total(self) -> float:
        return sum(d for _, d in self.phases)

    def end(self) -> float:
        return self.start + self.total()

    def active(self, now: float) -> bool:
        return self.forced or now < self.end()

    def state(self, now: float) -> str:
        if self.forced:
            return self.final
        t = now - self.start
        for s, d in self.phases:
            if t < d:
                return s
            t -= d
        return self.final


class Record:
    """What the layer knows of one resource (moto keeps the rest)."""

    def __init__(self, kind: str, region: str, ident: str):
        self.kind = kind
        self.region = region
        self.id = ident
        self.arn: str | None = None
        self.lifecycle: Lifecycle | None = None
        self.created: float | None = None  # virtual time of its creation (consistency windows)
        self.endpoint_after: float | None = None  # RDS: no Endpoint before this virtual time
        self.extra: dict = {}


# --- wire formats ---------------------------------------------------------------------------------

def _rid() -> str:
    return str(uuid.uuid4())


def query_error(code: str, message: str, status: int = 400, xmlns: str | None = RDS_NS,
                kind: str = "Sender") -> Response:
    ns = f' xmlns="{xmlns}"' if xmlns else ""
    rid = _rid()
    body = (f"<ErrorResponse{ns}><Error><Type>{kind}</Type><Code>{code}</Code>"
            f"<Message>{_esc(message)}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>")
    return status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", rid)], body.encode()


def ec2_error(code: str, message: str, status: int = 400) -> Response:
    rid = _rid()
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Response><Errors><Error><Code>{code}</Code><Message>{_esc(message)}</Message>"
            f"</Error></Errors><RequestID>{rid}</RequestID></Response>")
    return status, [("Content-Type", "text/xml;charset=UTF-8")], body.encode()


def json_error(code: str, message: str, status: int = 400) -> Response:
    rid = _rid()
    body = json.dumps({"__type": code, "message": message}, separators=(",", ":"))
    return status, [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code),
                    ("x-amzn-RequestId", rid)], body.encode()


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_ROOT_XMLNS = re.compile(rb'^(\s*(?:<\?xml[^>]*\?>\s*)?<[A-Za-z_][\w.-]*)(\s+xmlns="([^"]*)")')


class XmlDoc:
    """An XML answer with its default namespace taken off the root (so that paths stay plain and
    ElementTree's global prefix registry is never touched); `dump` puts it back."""

    def __init__(self, body: bytes):
        m = _ROOT_XMLNS.match(body)
        self.ns = m.group(3).decode() if m else None
        self.decl = body.lstrip().startswith(b"<?xml")
        self.root = ET.fromstring(body[:m.start(2)] + body[m.end(2):] if m else body)

    def dump(self) -> bytes:
        out = ET.tostring(self.root, encoding="unicode")
        if self.ns:
            out = re.sub(r"^<([A-Za-z_][\w.-]*)", lambda m: f'<{m.group(1)} xmlns="{self.ns}"', out,
                         count=1)
        if self.decl:
            out = '<?xml version="1.0" encoding="UTF-8"?>\n' + out
        return out.encode()


def set_text(el: ET.Element, tag: str, value: str) -> None:
    child = el.find(tag)
    if child is None:
        child = ET.SubElement(el, tag)
    child.text = value


def _value_of(el: ET.Element | None, path: str | None) -> str | None:
    if el is None:
        return None
    return el.findtext(path) if path else el.text


def _pending_values_element(db: ET.Element) -> ET.Element:
    """A DBInstance's <PendingModifiedValues> (where AWS puts it: after the maintenance window)."""
    pmv = db.find("PendingModifiedValues")
    if pmv is None:
        pmv = ET.Element("PendingModifiedValues")
        kids = list(db)
        at = next((i + 1 for i, c in enumerate(kids) if c.tag == "PreferredMaintenanceWindow"), len(kids))
        db.insert(at, pmv)
    return pmv


def _vpc_groups(db: ET.Element) -> list[str]:
    return [g.text or "" for g in db.findall("VpcSecurityGroups/VpcSecurityGroupMembership/VpcSecurityGroupId")]


def _parameter_group(db: ET.Element) -> str | None:
    return db.findtext("DBParameterGroups/DBParameterGroup/DBParameterGroupName")


def rds_document(op: str, members: list[ET.Element]) -> bytes:
    """A well-formed <OpResponse><OpResult>members</OpResult><ResponseMetadata/></OpResponse>."""
    root = ET.Element(f"{op}Response")
    result = ET.SubElement(root, f"{op}Result")
    for m in members:
        result.append(m)
    md = ET.SubElement(root, "ResponseMetadata")
    ET.SubElement(md, "RequestId").text = _rid()
    body = ET.tostring(root, encoding="unicode")
    return body.replace(f"<{op}Response>", f'<{op}Response xmlns="{RDS_NS}">', 1).encode()


def _aws_task_definition_defaults(td: dict) -> None:
    """18: what ECS fills in when it describes a task definition, where moto leaves it out: empty
    lists, ``cpu`` 0, ``essential`` true, protocol ``tcp``, and under ``awsvpc`` (and ``host``) a
    host port equal to the container port ("the hostPort can either be left blank or set to the
    same value as the containerPort", and ECS describes it set).
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PortMapping.html
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html"""
    same_port = td.get("networkMode") in ("awsvpc", "host")
    for key in ("volumes", "placementConstraints"):
        td.setdefault(key, [])
    for c in td.get("containerDefinitions") or []:
        for key in ("portMappings", "environment", "mountPoints", "volumesFrom", "systemControls"):
            c.setdefault(key, [])
        c.setdefault("cpu", 0)
        c.setdefault("essential", True)
        for p in c["portMappings"]:
            p.setdefault("protocol", "tcp")
            if same_port and "containerPort" in p:
                p.setdefault("hostPort", p["containerPort"])


def _name_of(ident: str | None) -> str | None:
    """A name from a name or an ARN (`...:cluster/NAME`, `...:service/CLUSTER/NAME`)."""
    if ident and ident.startswith("arn:"):
        return ident.split(":", 5)[-1].rsplit("/", 1)[-1]
    return ident


def _service_cluster_from_arn(arn: str) -> str | None:
    # arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME (new format) or service/NAME (old)
    rest = arn.split(":", 5)[-1]
    parts = rest.split("/")
    return parts[1] if len(parts) == 3 else None


# --- one request ----------------------------------------------------------------------------------

class Call:
    """An AWS API request as the layer sees it."""

    def __init__(self, service: str, protocol: str, operation: str | None, method: str, path: str,
                 headers: list[tuple[str, str]], body: bytes):
        self.service = service
        self.protocol = protocol
        self.operation = operation
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.region = "us-east-1"
        for k, v in headers:
            if k.lower() == "authorization":
                m = SCOPE_RE.search(v)
                if m:
                    self.region = m.group(1)
        self.params: list[tuple[str, str]] = []
        self.json: dict = {}
        if protocol in ("ec2", "query"):
            try:
                text = body.decode("utf-8") if body else urllib.parse.urlsplit(path).query
                self.params = urllib.parse.parse_qsl(text, keep_blank_values=True)
            except (UnicodeDecodeError, ValueError):
                self.params = []
        elif protocol == "json" and body:
            try:
                self.json = json.loads(body)
            except ValueError:
                self.json = {}

    def p(self, name: str, default=None):
        for k, v in self.params:
            if k == name:
                return v
        return default

    def indexed(self, prefix: str) -> list[str]:
        """Values of PREFIX.1, PREFIX.2, ... (EC2 lists)."""
        pat = re.compile(re.escape(prefix) + r"\.\d+$")
        return [v for k, v in self.params if pat.match(k)]

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def with_params(self, params: list[tuple[str, str]]) -> "Call":
        body = urllib.parse.urlencode(params).encode()
        c = Call(self.service, self.protocol, self.operation, "POST", "/", _form_headers(self.headers),
                 body)
        return c

    def for_service(self, service: str) -> "Call":
        """This request's credentials, addressed to another service (for a look at its state)."""
        protocol = {"ec2": "ec2", "ecs": "json"}.get(service, "query")
        headers = [(k, v) for k, v in _scoped_headers(self.headers, service, self.region)
                   if k.lower() != "x-amz-target"]
        c = Call(service, protocol, None, "POST", "/", headers, b"")
        c.region = self.region
        return c

    def with_json(self, target_op: str, payload: dict) -> "Call":
        prefix = (self.header("X-Amz-Target") or ECS_PREFIX).rsplit(".", 1)[0] + "."
        headers = [(k, v) for k, v in self.headers
                   if k.lower() not in ("x-amz-target", "content-type", "content-length")]
        headers += [("X-Amz-Target", prefix + target_op),
                    ("Content-Type", "application/x-amz-json-1.1")]
        return Call(self.service, "json", target_op, "POST", "/", headers, json.dumps(payload).encode())


def _scoped_headers(headers: list[tuple[str, str]], service: str, region: str) -> list[tuple[str, str]]:
    """The headers with the SigV4 credential scope naming `service` (moto routes a request by it)."""
    out, signed = [], False
    for k, v in headers:
        if k.lower() == "authorization" and SCOPE_RE.search(v):
            v = re.sub(r"(Credential=[^/,\s]+/\d{8}/[^/,\s]+/)[^/,\s]+(/aws4_request)",
                       lambda m: m.group(1) + service + m.group(2), v, count=1)
            signed = True
        out.append((k, v))
    if not signed:
        out = [(k, v) for k, v in out if k.lower() != "authorization"]
        out.append(("Authorization", f"AWS4-HMAC-SHA256 Credential=testing/20200101/{region}/{service}/"
                                     "aws4_request, SignedHeaders=host, Signature=0"))
    return out


def _form_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    out = [(k, v) for k, v in headers if k.lower() not in ("content-type", "content-length")]
    out.append(("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"))
    return out


# --- the layer ------------------------------------------------------------------------------------

class Realism:
    """The realistic layer. `upstream(method, path, headers, body) -> (status, headers, body)`
    sends one request to moto (raising UpstreamError when it cannot)."""

    def __init__(self, table: dict, time_scale: float, upstream: Callable, log: Callable | None = None):
        if time_scale < 0:
            raise ValueError("the time scale must be >= 0")
        self.base_table = table
        self.overrides: dict = {}
        self.table = table
        self.clock = Clock(time_scale)
        self.upstream = upstream
        self.log = log or (lambda msg: None)
        self.lock = threading.RLock()
        self.tick_lock = threading.Lock()
        self.enabled = True
        self.toggles = dict(DEFAULT_TOGGLES)
        self.creds_expire_at: float | None = None  # time.monotonic() value
        self.token_memory = float(table["consistency"]["client_token_memory"])
        self.route53_page = ROUTE53_PAGE
        self.counters = {"requests": 0, "answered_by_layer": 0, "upstream_calls": 0,
                         "refused": 0, "rewritten": 0, "deferred_done": 0, "deferred_failed": 0}
        self.reset()

    # --- state ------------------------------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            self.records: dict[tuple[str, str, str], Record] = {}
            self.arn_created: dict[str, float] = {}
            # 25: when each task-definition revision was registered, in seconds since the epoch.
            self.registered_at: dict[str, float] = {}
            self.tokens: dict[tuple[str, str], dict] = {}
            self.token_locks: dict[tuple[str, str], threading.Lock] = {}
            self.deferred: list[dict] = []

    def _phases(self, kind: str, what: str) -> list:
        return self.table.get(kind, {}).get(what, []) or []

    def _total(self, kind: str, what: str) -> float:
        return sum(float(d) for _, d in self._phases(kind, what))

    def _gone(self, kind: str) -> list[str]:
        """The states a kind reports once gone: `gone` is one state or a list (lifecycles.toml)."""
        gone = self.table.get(kind, {}).get("gone") or DEFAULT_TABLE.get(kind, {}).get("gone") or []
        return [gone] if isinstance(gone, str) else [str(g) for g in gone]

    def _lingering(self, key: str) -> float:
        return float(self.table.get("lingering", {}).get(key, DEFAULT_TABLE["lingering"][key]))

    def _consistency(self, key: str) -> float:
        return float(self.table.get("consistency", {}).get(key, DEFAULT_TABLE["consistency"][key]))

    def _rec(self, kind: str, region: str, ident: str) -> Record | None:
        return self.records.get((kind, region, ident)) or self.records.get((kind, "*", ident))

    def _new(self, kind: str, region: str, ident: str) -> Record:
        """A fresh record for a resource just created (replacing whatever was known of the id)."""
        rec = Record(kind, region, ident)
        self.records.pop((kind, "*", ident), None)
        self.records[(kind, region, ident)] = rec
        return rec

    def _get_or_new(self, kind: str, region: str, ident: str) -> Record:
        rec = self._rec(kind, region, ident)
        if rec is None:
            rec = Record(kind, region, ident)
            self.records[(kind, region, ident)] = rec
        return rec

    @staticmethod
    def _overlay(rec: Record | None, moto_state: str | None, now: float) -> str | None:
        """The state AWS would show: the simulated one while a transition is under way, forced, or
        over (gone); otherwise moto's, which then agrees."""
        if rec is None or rec.lifecycle is None:
            return moto_state
        lc = rec.lifecycle
        if lc.forced or lc.final == GONE or lc.active(now):
            return lc.state(now)
        return moto_state

    def _in_window(self, rec: Record | None, now: float) -> bool:
        return (rec is not None and rec.created is not None
                and now < rec.created + self._consistency("not_found_after_create"))

    # --- plumbing ---------------------------------------------------------------------------------

    def _send(self, call: Call) -> Response:
        with self.lock:
            self.counters["upstream_calls"] += 1
        status, headers, body = self.upstream(call.method, call.path, call.headers, call.body)
        return status, [(k, v) for k, v in headers if k.lower() != "content-length"], body

    def _refuse(self, resp: Response) -> Response:
        with self.lock:
            self.counters["refused"] += 1
            self.counters["answered_by_layer"] += 1
        return resp

    def _defer(self, due: float, label: str, call: Call) -> None:
        with self.lock:
            self.deferred.append({"due": due, "label": label, "call": call})

    def _tick(self) -> None:
        """Send the deferred calls whose time has come (the real deletes), in order."""
        with self.tick_lock:
            now = self.clock.now()
            with self.lock:
                due = sorted((d for d in self.deferred if d["due"] <= now), key=lambda d: d["due"])
                self.deferred = [d for d in self.deferred if d["due"] > now]
            for d in due:
                try:
                    status, _, body = self._send(d["call"])
                except UpstreamError as exc:
                    status, body = 502, str(exc).encode()
                with self.lock:
                    self.counters["deferred_done" if status < 300 else "deferred_failed"] += 1
                if status >= 300:
                    self.log(f"realism: deferred {d['label']} answered {status}: {body[:300]!r}")

    # --- entry point ------------------------------------------------------------------------------

    def handle(self, service: str, protocol: str, operation: str | None, method: str, path: str,
               headers: list[tuple[str, str]], body: bytes) -> Response | None:
        """The answer to an AWS API request, or None to let the proxy forward it untouched."""
        if not self.enabled:
            return None
        with self.lock:
            self.counters["requests"] += 1
        call = Call(service, protocol, operation, method, path, headers, body)
        expired = self._credentials_error(call)
        if expired is not None:
            return self._refuse(expired)
        self._tick()
        if service == "route53" and RRSET_PATH.match(path.split("?")[0]):
            # REST: the method and path name the operation
            operation = "ChangeResourceRecordSets" if method == "POST" else "ListResourceRecordSets"
            call.operation = operation
        handler = HANDLERS.get((service, operation))
        if handler is None:
            return None
        toggle, fn = handler
        if toggle and not self.toggles.get(toggle, True):
            return None
        return fn(self, call)

    # --- 14: credentials --------------------------------------------------------------------------

    def _credentials_error(self, call: Call) -> Response | None:
        if self.creds_expire_at is None or time.monotonic() < self.creds_expire_at:
            return None
        msg = "The security token included in the request is expired"
        if call.protocol == "ec2":
            # EC2 answers an expired session token with RequestExpired, HTTP 400: "If you're using
            # temporary security credentials, this error can also occur if the credentials have
            # expired." https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
            return ec2_error("RequestExpired", "Request has expired.")
        if call.protocol == "json":
            # JSON services: ExpiredTokenException (ECS sends it with HTTP 400).
            # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/CommonErrors.html
            return json_error("ExpiredTokenException", msg, 400)
        if call.protocol == "rest":
            # REST-XML services (S3): <Error><Code>ExpiredToken</Code>..., HTTP 400.
            body = ("<Error><Code>ExpiredToken</Code><Message>The provided token has expired."
                    f"</Message><RequestId>{_rid()}</RequestId></Error>")
            return 400, [("Content-Type", "application/xml")], body.encode()
        # awsQuery services (RDS, IAM, STS...): ExpiredToken, HTTP 403.
        # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/CommonErrors.html
        return query_error("ExpiredToken", msg, 403,
                           RDS_NS if call.service == "rds" else None)

    # --- RDS helpers ------------------------------------------------------------------------------

    def _rds(self, call: Call, params: list[tuple[str, str]]) -> Response:
        return self._send(call.with_params(params + [("Version", RDS_VERSION)]))

    def _rds_instance(self, call: Call, ident: str) -> tuple[ET.Element | None, str | None, Response | None]:
        """moto's description of a DB instance and the state AWS would show; or the error to
        answer (not found, also when the layer knows it is gone)."""
        with self.lock:
            rec = self._rec("rds_instance", call.region, ident)
            if self._overlay(rec, None, self.clock.now()) == GONE:
                return None, None, query_error("DBInstanceNotFound", f"DBInstance {ident} not found.", 404)
        status, headers, body = self._rds(call, [("Action", "DescribeDBInstances"),
                                                 ("DBInstanceIdentifier", ident)])
        if status != 200:
            return None, None, (status, headers, body)
        el = XmlDoc(body).root.find(".//DBInstance")
        if el is None:
            return None, None, query_error("DBInstanceNotFound", f"DBInstance {ident} not found.", 404)
        with self.lock:
            state = self._overlay(self._rec("rds_instance", call.region, ident),
                                  el.findtext("DBInstanceStatus"), self.clock.now())
        return el, state, None

    def _rds_snapshot(self, call: Call, ident: str) -> tuple[ET.Element | None, str | None, Response | None]:
        with self.lock:
            rec = self._rec("rds_snapshot", call.region, ident)
            if self._overlay(rec, None, self.clock.now()) == GONE:
                return None, None, query_error("DBSnapshotNotFound", f"DBSnapshot {ident} not found.", 404)
        status, headers, body = self._rds(call, [("Action", "DescribeDBSnapshots"),
                                                 ("DBSnapshotIdentifier", ident)])
        if status != 200:
            return None, None, (status, headers, body)
        el = XmlDoc(body).root.find(".//DBSnapshot")
        if el is None:
            return None, None, query_error("DBSnapshotNotFound", f"DBSnapshot {ident} not found.", 404)
        with self.lock:
            state = self._overlay(self._rec("rds_snapshot", call.region, ident),
                                  el.findtext("Status"), self.clock.now())
        return el, state, None

    def _rewrite_rds(self, call: Call, resp: Response) -> Response:
        """Every DBInstance/DBSnapshot of an answer as AWS would show it now."""
        status, headers, body = resp
        if status != 200 or not body:
            return resp
        doc = XmlDoc(body)
        now = self.clock.now()
        changed = False
        with self.lock:
            for parent in list(doc.root.iter()):
                for child in list(parent):
                    if child.tag == "DBInstance":
                        ident = child.findtext("DBInstanceIdentifier") or ""
                        rec = self._rec("rds_instance", call.region, ident)
                        state = self._overlay(rec, child.findtext("DBInstanceStatus"), now)
                        if state == GONE:
                            parent.remove(child)
                        else:
                            set_text(child, "DBInstanceStatus", state or "")
                            if rec is not None and rec.endpoint_after is not None and now < rec.endpoint_after:
                                ep = child.find("Endpoint")
                                if ep is not None:
                                    child.remove(ep)
                            self._show_pending(child, rec, now)
                        changed = True
                    elif child.tag == "DBSnapshot":
                        ident = child.findtext("DBSnapshotIdentifier") or ""
                        rec = self._rec("rds_snapshot", call.region, ident)
                        state = self._overlay(rec, child.findtext("Status"), now)
                        if state == GONE:
                            parent.remove(child)
                        else:
                            set_text(child, "Status", state or "")
                        changed = True
        if not changed:
            return resp
        with self.lock:
            self.counters["rewritten"] += 1
        return status, headers, doc.dump()

    # --- 15/16: pending modifications and parameter groups -----------------------------------

    @staticmethod
    def _purge_pending(rec: Record, now: float) -> None:
        """Forget the modifications that have been applied by now."""
        pending = rec.extra.get("pending") or {}
        for tag in [t for t, item in pending.items() if item["until"] is not None and now >= item["until"]]:
            del pending[tag]
        old = rec.extra.get("old_groups")
        if old and now >= old["until"]:
            rec.extra.pop("old_groups", None)

    @staticmethod
    def _param_status(ps: dict, now: float) -> str:
        # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBParameterGroupStatus.html
        if ps["applying_until"] is not None and now < ps["applying_until"]:
            return "applying"
        if ps["in_sync_at"] is not None and now >= ps["in_sync_at"]:
            return "in-sync"
        return "pending-reboot"

    def _show_pending(self, db: ET.Element, rec: Record | None, now: float) -> None:
        """15/16: a DBInstance (moto's, changes applied) as AWS shows it while changes wait: the
        old values in place, the new ones under PendingModifiedValues, and the parameter group's
        apply status. Call with the lock held."""
        pmv = _pending_values_element(db)
        if rec is None:
            return
        self._purge_pending(rec, now)
        pending = rec.extra.get("pending") or {}
        for tag, (element, path) in PENDING_FIELDS.items():
            item = pending.get(tag)
            if item is None:
                continue
            if element is None:
                set_text(pmv, tag, "****")  # "the MasterUserPassword element exists in the
                continue                    # PendingModifiedValues element" until it is done
            current = db.find(element)
            new = _value_of(current, path)
            if new == _value_of(item["old"], path):
                del pending[tag]  # changed back (in moto): nothing waits any more
                continue
            at = list(db).index(current) if current is not None else list(db).index(pmv)
            if current is not None:
                db.remove(current)
            if item["old"] is not None:
                db.insert(at, copy.deepcopy(item["old"]))
            if new is not None:
                set_text(pmv, tag, new)
        ps = rec.extra.get("param_status")
        if ps:
            status = self._param_status(ps, now)
            for group in db.findall("DBParameterGroups/DBParameterGroup"):
                if group.findtext("DBParameterGroupName") == ps["name"]:
                    set_text(group, "ParameterApplyStatus", status)
            if status == "in-sync":
                rec.extra.pop("param_status", None)

    def _invalid_instance(self, ident: str, state: str, what: str) -> Response:
        return self._refuse(query_error(
            "InvalidDBInstanceState",
            f"DB instance {ident} is {state}: {what}"))

    # --- RDS handlers -----------------------------------------------------------------------------

    def rds_describe_instances(self, call: Call) -> Response:
        ident = call.p("DBInstanceIdentifier")
        if ident:
            with self.lock:
                if self._overlay(self._rec("rds_instance", call.region, ident), None,
                                 self.clock.now()) == GONE:
                    # Deleted: gone from DescribeDBInstances (moto may not have caught up yet).
                    return self._refuse(query_error("DBInstanceNotFound",
                                                    f"DBInstance {ident} not found.", 404))
        resp = self._rewrite_rds(call, self._send(call))
        if ident and resp[0] == 200 and XmlDoc(resp[2]).root.find(".//DBInstance") is None:
            # Its deletion ended while moto answered: by id, AWS says not found.
            return query_error("DBInstanceNotFound", f"DBInstance {ident} not found.", 404)
        return resp

    def rds_describe_snapshots(self, call: Call) -> Response:
        ident = call.p("DBSnapshotIdentifier")
        if ident:
            with self.lock:
                if self._overlay(self._rec("rds_snapshot", call.region, ident), None,
                                 self.clock.now()) == GONE:
                    return self._refuse(query_error("DBSnapshotNotFound",
                                                    f"DBSnapshot {ident} not found.", 404))
        resp = self._rewrite_rds(call, self._send(call))
        if ident and resp[0] == 200 and XmlDoc(resp[2]).root.find(".//DBSnapshot") is None:
            return query_error("DBSnapshotNotFound", f"DBSnapshot {ident} not found.", 404)
        return resp

    def rds_create_snapshot(self, call: Call) -> Response:
        # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_CreateSnapshot.html and
        # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBSnapshot.html:
        # InvalidDBInstanceState "The specified DB instance isn't in the available state."
        iid = call.p("DBInstanceIdentifier") or ""
        _, state, err = self._rds_instance(call, iid)
        if err is not None:
            return err
        if state != "available":
            return self._invalid_instance(iid, state, "a snapshot can be taken only when it is available")
        resp = self._send(call)
        if resp[0] == 200:
            snap = XmlDoc(resp[2]).root.find(".//DBSnapshot")
            if snap is not None:
                self._track_snapshot_creation(call.region, snap.findtext("DBSnapshotIdentifier") or "",
                                              snap.findtext("DBSnapshotArn"))
        return self._rewrite_rds(call, resp)

    def _track_snapshot_creation(self, region: str, sid: str, arn: str | None) -> None:
        with self.lock:
            now = self.clock.now()
            rec = self._new("rds_snapshot", region, sid)
            rec.arn = arn
            rec.created = now
            rec.lifecycle = Lifecycle("create", self._phases("rds_snapshot", "create"), now,
                                      self.table["rds_snapshot"].get("ready", "available"))
            if arn:
                self.arn_created[arn] = now

    def rds_create_instance(self, call: Call) -> Response:
        # Restore: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_RestoreFromSnapshot.html
        # (no endpoint until available) and API_RestoreDBInstanceFromDBSnapshot.html
        # (InvalidDBSnapshotState "The state of the DB snapshot doesn't allow deletion" /
        # "isn't available"); statuses from
        # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/accessing-monitoring.html
        if call.operation == "RestoreDBInstanceFromDBSnapshot":
            sid = call.p("DBSnapshotIdentifier") or ""
            with self.lock:
                rec = self._rec("rds_snapshot", call.region, sid)
                state = self._overlay(rec, None, self.clock.now())
            if state == GONE:
                return self._refuse(query_error("DBSnapshotNotFound", f"DBSnapshot {sid} not found.", 404))
            if state is not None and state != "available":
                return self._refuse(query_error(
                    "InvalidDBSnapshotState",
                    f"DB snapshot {sid} is {state}: a DB instance can be restored only from an "
                    "available snapshot"))
        resp = self._send(call)
        if resp[0] == 200:
            el = XmlDoc(resp[2]).root.find(".//DBInstance")
            if el is not None:
                with self.lock:
                    now = self.clock.now()
                    rec = self._new("rds_instance", call.region, el.findtext("DBInstanceIdentifier") or "")
                    rec.arn = el.findtext("DBInstanceArn")
                    rec.created = now
                    rec.lifecycle = Lifecycle("create", self._phases("rds_instance", "create"), now,
                                              self.table["rds_instance"].get("ready", "available"))
                    rec.endpoint_after = rec.lifecycle.end()
                    if rec.arn:
                        self.arn_created[rec.arn] = now
        return self._rewrite_rds(call, resp)

    def rds_modify_instance(self, call: Call) -> Response:
        # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.DBInstance.Modifying.html
        # With ApplyImmediately the instance is still `available` for a moment, then `modifying`.
        # AWS accepts a few changes on a stopped instance; refused here unless available.
        iid = call.p("DBInstanceIdentifier") or ""
        before, state, err = self._rds_instance(call, iid)
        if err is not None:
            return err
        if state != "available":
            return self._invalid_instance(iid, state, "it can be modified only when it is available")
        resp = self._send(call)
        if resp[0] == 200:
            after = XmlDoc(resp[2]).root.find(".//DBInstance")
            if after is not None:
                self._track_modification(call, iid, before, after)
        return self._rewrite_rds(call, resp)

    def _track_modification(self, call: Call, iid: str, before: ET.Element, after: ET.Element) -> None:
        """15/16: what moto changed at once, and when AWS would apply it."""
        # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBInstance.html:
        # ApplyImmediately applies "the modifications in this request and any pending
        # modifications ... as soon as possible"; without it "changes to the DB instance are
        # applied during the next maintenance window". VpcSecurityGroupIds, MasterUserPassword and
        # a BackupRetentionPeriod "from one non-zero value to another non-zero value" are
        # "asynchronously applied as soon as possible" either way; DBParameterGroupName "itself
        # is changed immediately". DeletionProtection "occurs immediately" (Settings table,
        # USER_ModifyInstance.Settings.html).
        apply_now = (call.p("ApplyImmediately") or "false").lower() == "true"
        with self.lock:
            now = self.clock.now()
            rec = self._get_or_new("rds_instance", call.region, iid)
            self._purge_pending(rec, now)
            pending = rec.extra.setdefault("pending", {})
            soon = False  # something AWS applies as soon as possible, whatever ApplyImmediately says
            for tag, (element, path) in PENDING_FIELDS.items():
                if element is None:
                    continue
                old_el, new_el = before.find(element), after.find(element)
                old, new = _value_of(old_el, path), _value_of(new_el, path)
                if old == new:
                    continue
                asap = tag == "BackupRetentionPeriod" and old not in (None, "0") and new != "0"
                item = pending.setdefault(tag, {"old": copy.deepcopy(old_el), "until": None})
                item["asap"] = asap
                soon = soon or asap
            if call.p("MasterUserPassword"):
                pending["MasterUserPassword"] = {"old": None, "until": None, "asap": True}
                soon = True
            removed = set(_vpc_groups(before)) - set(_vpc_groups(after))
            groups_changed = set(_vpc_groups(before)) != set(_vpc_groups(after))
            new_group = _parameter_group(after)
            group_changed = new_group is not None and new_group != _parameter_group(before)
            if not (apply_now or soon or groups_changed or group_changed):
                return  # all of it waits for the maintenance window: the status stays available
            lc = Lifecycle("modify", self._phases("rds_instance", "modify"), now,
                           self.table["rds_instance"].get("ready", "available"))
            rec.lifecycle = lc
            end = lc.end()
            for item in pending.values():
                if apply_now or item.get("asap"):
                    item["until"] = end
            if removed:
                still = set((rec.extra.get("old_groups") or {}).get("ids", []))
                rec.extra["old_groups"] = {"ids": sorted(still | removed), "until": end}
            if group_changed:
                rec.extra["param_status"] = {"name": new_group, "applying_until": end, "in_sync_at": None}

    def rds_reboot_instance(self, call: Call) -> Response:
        # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_RebootDBInstance.html:
        # "a momentary outage, during which the DB instance status is set to rebooting";
        # InvalidDBInstanceState "The DB instance isn't in a valid state". The user guide
        # (USER_RebootInstance.html): the instance must be available to be rebooted.
        # USER_WorkingWithParamGroups.html: a newly associated parameter group's static
        # parameters take effect at the reboot (pending-reboot, then in-sync).
        iid = call.p("DBInstanceIdentifier") or ""
        _, state, err = self._rds_instance(call, iid)
        if err is not None:
            return err
        if state != "available":
            return self._invalid_instance(iid, state, "only an available instance can be rebooted")
        resp = self._send(call)
        if resp[0] == 200:
            with self.lock:
                now = self.clock.now()
                rec = self._get_or_new("rds_instance", call.region, iid)
                reboot = [(str(st), float(d)) for st, d in
                          (self._phases("rds_instance", "reboot") or DEFAULT_TABLE["rds_instance"]["reboot"])]
                took = sum(d for _, d in reboot)
                rest = []
                lc = rec.lifecycle
                if lc is not None and not lc.forced and lc.final != GONE and lc.active(now):
                    # Accepted in the `available` moment before a modification: the reboot first,
                    # then the rest of the modification, whose changes wait that much longer.
                    t = now - lc.start
                    for st, d in lc.phases:
                        if t < d:
                            rest.append((st, d - max(t, 0.0)))
                        t -= d
                    for item in (rec.extra.get("pending") or {}).values():
                        if item["until"] is not None and item["until"] > now:
                            item["until"] += took
                    for key, field in (("old_groups", "until"), ("param_status", "applying_until")):
                        entry = rec.extra.get(key)
                        if entry and entry.get(field) is not None and entry[field] > now:
                            entry[field] += took
                rec.lifecycle = Lifecycle("reboot", reboot + rest, now,
                                          self.table["rds_instance"].get("ready", "available"))
                ps = rec.extra.get("param_status")
                if ps and self._param_status(ps, now) == "pending-reboot":
                    ps["in_sync_at"] = now + took
        return self._rewrite_rds(call, resp)

    def rds_stop_instance(self, call: Call) -> Response:
        # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_StopInstance.html
        # "The status of the DB instance changes to stopping and then stopped."
        iid = call.p("DBInstanceIdentifier") or ""
        _, state, err = self._rds_instance(call, iid)
        if err is not None:
            return err
        if state != "available":
            return self._invalid_instance(iid, state, "only an available instance can be stopped")
        resp = self._send(call)
        if resp[0] == 200:
            with self.lock:
                rec = self._get_or_new("rds_instance", call.region, iid)
                rec.lifecycle = Lifecycle("stop", self._phases("rds_instance", "stop"), self.clock.now(),
                                          self.table["rds_instance"].get("stopped", "stopped"))
        return self._rewrite_rds(call, resp)

    def rds_start_instance(self, call: Call) -> Response:
        # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_StartInstance.html
        iid = call.p("DBInstanceIdentifier") or ""
        el, state, err = self._rds_instance(call, iid)
        if err is not None:
            return err
        if state != "stopped":
            return self._invalid_instance(iid, state, "only a stopped instance can be started")
        with self.lock:
            rec = self._get_or_new("rds_instance", call.region, iid)
            forced = rec.lifecycle is not None and rec.lifecycle.forced
        if forced:
            # Stopped by the control hook only: moto's instance runs already, so the layer answers.
            resp = (200, [("Content-Type", "text/xml")], rds_document("StartDBInstance", [el]))
            with self.lock:
                self.counters["answered_by_layer"] += 1
        else:
            resp = self._send(call)
        if resp[0] == 200:
            with self.lock:
                rec.lifecycle = Lifecycle("start", self._phases("rds_instance", "start"),
                                          self.clock.now(),
                                          self.table["rds_instance"].get("ready", "available"))
        return self._rewrite_rds(call, resp)

    def rds_delete_instance(self, call: Call) -> Response:
        # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DeleteDBInstance.html:
        # "If you request a final DB snapshot the status of the Amazon RDS DB instance is deleting
        # until the DB snapshot is created." "When a DB instance is in a failure state and has a
        # status of failed, incompatible-restore, or incompatible-network, you can only delete it
        # when you skip creation of the final snapshot with the SkipFinalSnapshot parameter."
        # SkipFinalSnapshot: "If you don't enable this parameter, you must specify the
        # FinalDBSnapshotIdentifier parameter."
        iid = call.p("DBInstanceIdentifier") or ""
        skip = (call.p("SkipFinalSnapshot") or "false").lower() == "true"
        final = call.p("FinalDBSnapshotIdentifier")
        if not skip and not final:
            return self._refuse(query_error(
                "InvalidParameterCombination",
                "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified."))
        if skip and final:
            return self._refuse(query_error(
                "InvalidParameterCombination",
                "FinalDBSnapshotIdentifier cannot be specified when SkipFinalSnapshot is true."))
        el, state, err = self._rds_instance(call, iid)
        if err is not None:
            return err
        failed = [str(s) for s in self.table["rds_instance"].get("failed", [])]
        if state == "deleting":
            return self._refuse(query_error("InvalidDBInstanceState",
                                            f"Instance {iid} is already being deleted."))
        if state in RDS_DELETE_NEEDS_SKIP and not skip:
            return self._invalid_instance(
                iid, state, "an instance in a failure state can be deleted only with SkipFinalSnapshot")
        if state not in ("available", "stopped") and state not in failed:
            return self._invalid_instance(iid, state, "it can be deleted when it is available, "
                                          "stopped or failed")
        if (el.findtext("DeletionProtection") or "").lower() == "true":
            return self._refuse(query_error(
                "InvalidParameterCombination",
                "Cannot delete protected DB Instance, please disable deletion protection and try again."))
        duration = self._total("rds_instance", "delete")
        if final:
            status, headers, body = self._rds(call, [("Action", "CreateDBSnapshot"),
                                                     ("DBSnapshotIdentifier", final),
                                                     ("DBInstanceIdentifier", iid)])
            if status != 200:
                return status, headers, body  # e.g. DBSnapshotAlreadyExists, as AWS answers
            snap = XmlDoc(body).root.find(".//DBSnapshot")
            self._track_snapshot_creation(call.region, final,
                                          snap.findtext("DBSnapshotArn") if snap is not None else None)
            duration = max(duration, self._total("rds_snapshot", "create"))
        with self.lock:
            now = self.clock.now()
            rec = self._get_or_new("rds_instance", call.region, iid)
            phase = (self._phases("rds_instance", "delete") or [["deleting", 0]])[0][0]
            rec.lifecycle = Lifecycle("delete", [(phase, duration)], now, GONE)
            # 20: its network interface outlives it (and uses its groups) for a while.
            rec.extra["enis"] = {"groups": _vpc_groups(el),
                                 "until": now + duration + self._lingering("rds_network_interface")}
        # The real delete reaches moto when the phase is over (the final snapshot exists already).
        params = [(k, v) for k, v in call.params
                  if k not in ("SkipFinalSnapshot", "FinalDBSnapshotIdentifier")]
        self._defer(now + duration, f"rds DeleteDBInstance {iid}",
                    call.with_params(params + [("SkipFinalSnapshot", "true")]))
        set_text(el, "DBInstanceStatus", phase)
        with self.lock:
            self._show_pending(el, rec, now)
            self.counters["answered_by_layer"] += 1
        return 200, [("Content-Type", "text/xml")], rds_document("DeleteDBInstance", [el])

    def rds_delete_snapshot(self, call: Call) -> Response:
        # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_DeleteSnapshot.html and
        # API_DeleteDBSnapshot.html: InvalidDBSnapshotState "The state of the DB snapshot doesn't
        # allow deletion."
        sid = call.p("DBSnapshotIdentifier") or ""
        el, state, err = self._rds_snapshot(call, sid)
        if err is not None:
            return err
        if state != "available" and state not in self.table["rds_snapshot"].get("failed", []):
            return self._refuse(query_error(
                "InvalidDBSnapshotState",
                f"The state of the DB snapshot doesn't allow deletion: {sid} is {state}."))
        duration = self._total("rds_snapshot", "delete")
        phase = (self._phases("rds_snapshot", "delete") or [["deleting", 0]])[0][0]
        with self.lock:
            now = self.clock.now()
            rec = self._get_or_new("rds_snapshot", call.region, sid)
            rec.lifecycle = Lifecycle("delete", [(phase, duration)], now, GONE)
        self._defer(now + duration, f"rds DeleteDBSnapshot {sid}", call.with_params(call.params))
        set_text(el, "Status", phase)
        with self.lock:
            self.counters["answered_by_layer"] += 1
        return 200, [("Content-Type", "text/xml")], rds_document("DeleteDBSnapshot", [el])

    # --- EC2 helpers ------------------------------------------------------------------------------

    def _ec2(self, call: Call, params: list[tuple[str, str]]) -> Response:
        return self._send(call.with_params(params + [("Version", EC2_VERSION)]))

    def _not_found_ids(self, call: Call, ids: list[str]) -> Response | None:
        """7: the ids still inside their not-found window, as EC2 reports them."""
        if not ids or not self.toggles.get("ec2_not_found", True):
            return None
        now = self.clock.now()
        with self.lock:
            missing = [i for i in ids if self._in_window(self._rec("ec2_instance", call.region, i), now)]
        if not missing:
            return None
        # https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html: "if you run a
        # command to modify or describe the resource that you just created, its ID might not have
        # propagated throughout the system, and you will get an error".
        if len(missing) == 1:
            msg = f"The instance ID '{missing[0]}' does not exist"
        else:
            msg = f"The instance IDs '{', '.join(missing)}' do not exist"
        return self._refuse(ec2_error("InvalidInstanceID.NotFound", msg))

    def _ec2_states(self, call: Call, ids: list[str]) -> tuple[dict[str, str], Response | None]:
        """The state AWS would show for each instance (moto's, overlaid)."""
        params = [("Action", "DescribeInstances")] + [(f"InstanceId.{n}", i) for n, i in enumerate(ids, 1)]
        status, headers, body = self._ec2(call, params)
        if status != 200:
            return {}, (status, headers, body)
        states = {}
        now = self.clock.now()
        with self.lock:
            for item in XmlDoc(body).root.iter("item"):
                iid = item.findtext("instanceId")
                name = item.findtext("instanceState/name")
                if iid and name:
                    states[iid] = self._overlay(self._rec("ec2_instance", call.region, iid), name, now)
        return states, None

    def _set_state(self, el: ET.Element | None, name: str) -> None:
        if el is None:
            return
        set_text(el, "code", str(EC2_STATE_CODES.get(name, 0)))
        set_text(el, "name", name)

    def _rewrite_ec2_items(self, call: Call, body: bytes, before: dict[str, str] | None = None,
                           kept: dict[str, str] | None = None) -> bytes:
        """instanceState/currentState of every instance item as AWS would show it now (`kept`:
        instances a Stop/Start/Terminate left as they were; `before`: their previous states)."""
        doc = XmlDoc(body)
        now = self.clock.now()
        with self.lock:
            for item in doc.root.iter("item"):
                iid = item.findtext("instanceId")
                if not iid or not iid.startswith("i-"):
                    continue
                rec = self._rec("ec2_instance", call.region, iid)
                for tag in ("instanceState", "currentState"):
                    el = item.find(tag)
                    if el is not None:
                        if kept and iid in kept:
                            self._set_state(el, kept[iid])
                        else:
                            self._set_state(el, self._overlay(rec, el.findtext("name"), now))
                if before and iid in before:
                    self._set_state(item.find("previousState"), before[iid])
        return doc.dump()

    # --- EC2 handlers -----------------------------------------------------------------------------

    def ec2_run_instances(self, call: Call) -> Response:
        # https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html: "If you retry
        # a request that completed successfully using the same client token and the same
        # parameters, the retry succeeds without performing any further actions"; with different
        # parameters it "fails with an IdempotentParameterMismatch error". RunInstances: the
        # token is valid "for at least 24 hours after the termination of the instance".
        if not self.toggles.get("ec2", True) and not self.toggles.get("client_tokens", True):
            return None
        token = call.p("ClientToken") if self.toggles.get("client_tokens", True) else None
        if not token:
            return self._run(call, None)
        key = (call.region, token)
        with self.lock:
            lock = self.token_locks.setdefault(key, threading.Lock())
        with lock:  # a retry racing the original waits for it, and then gets its answer
            fingerprint = sorted((k, v) for k, v in call.params if k != "ClientToken")
            with self.lock:
                entry = self.tokens.get(key)
                if entry is not None and self._token_expired(entry):
                    self.tokens.pop(key, None)
                    entry = None
            if entry is None:
                return self._run(call, (key, fingerprint))
            if entry["fingerprint"] != fingerprint:
                return self._refuse(ec2_error(
                    "IdempotentParameterMismatch",
                    "Arguments on this idempotent request are inconsistent with arguments used in "
                    "previous request(s)."))
            with self.lock:
                entry["replays"] += 1
                self.counters["answered_by_layer"] += 1
            # "The only information that might vary in the response is the state of the instance."
            return 200, entry["headers"], self._rewrite_ec2_items(call, entry["body"])

    def _token_expired(self, entry: dict) -> bool:
        ends = entry["terminated"]
        if not ends or len(ends) < len(entry["instance_ids"]):
            return False
        return time.monotonic() > max(ends.values()) + self.token_memory

    def _with_image_mapping(self, call: Call) -> Call:
        """RunInstances without a BlockDeviceMapping launches with the image's (moto ignores it
        and attaches one root volume that goes with the instance): a volume the image's mapping
        keeps (DeleteOnTermination false) outlives its instance, detached and `available`.
        https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/block-device-mapping-concepts.html"""
        if any(k.startswith("BlockDeviceMapping.") for k, _ in call.params):
            return call
        image = call.p("ImageId")
        if not image:
            return call
        status, _, body = self._ec2(call.for_service("ec2"),
                                    [("Action", "DescribeImages"), ("ImageId.1", image)])
        if status != 200:
            return call
        params = list(call.params)
        n = 0
        for item in XmlDoc(body).root.iter("item"):
            device = item.findtext("deviceName")
            ebs = item.find("ebs")
            if not device or ebs is None:
                continue
            n += 1
            params.append((f"BlockDeviceMapping.{n}.DeviceName", device))
            for field, name in (("snapshotId", "SnapshotId"), ("volumeSize", "VolumeSize"),
                                ("volumeType", "VolumeType"),
                                ("deleteOnTermination", "DeleteOnTermination")):
                value = ebs.findtext(field)
                if value:
                    params.append((f"BlockDeviceMapping.{n}.Ebs.{name}", value))
        return call.with_params(params) if n else call

    def _run(self, call: Call, token: tuple | None) -> Response:
        # https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-lifecycle.html:
        # pending, then running.
        if self.toggles.get("ec2", True):
            call = self._with_image_mapping(call)
        resp = self._send(call)
        if resp[0] != 200:
            return resp
        doc = XmlDoc(resp[2])
        owner = doc.root.findtext("ownerId") or "123456789012"
        ids = []
        with self.lock:
            now = self.clock.now()
            for item in doc.root.iter("item"):
                iid = item.findtext("instanceId")
                if not iid or not iid.startswith("i-") or item.find("instanceState") is None:
                    continue
                ids.append(iid)
                rec = self._new("ec2_instance", call.region, iid)
                rec.created = now
                rec.arn = f"arn:aws:ec2:{call.region}:{owner}:instance/{iid}"
                rec.lifecycle = Lifecycle("create", self._phases("ec2_instance", "create"), now,
                                          self.table["ec2_instance"].get("ready", "running"))
                self.arn_created[rec.arn] = now
            if token is not None:
                key, fingerprint = token
                self.tokens[key] = {"fingerprint": fingerprint, "headers": resp[1], "body": resp[2],
                                    "instance_ids": ids, "terminated": {}, "replays": 0,
                                    "created": time.monotonic()}
                for iid in ids:
                    self.records[("ec2_instance", call.region, iid)].extra["token"] = key
        return resp[0], resp[1], self._rewrite_ec2_items(call, resp[2])

    def ec2_describe_instances(self, call: Call) -> Response:
        ids = call.indexed("InstanceId")
        missing = self._not_found_ids(call, ids)
        if missing is not None:
            return missing
        # moto filters instance-state-name on its own (instant) states: ask it for every state
        # and filter on the simulated ones here.
        wanted: list[tuple[str, set[str]]] = []
        params = list(call.params)
        for k, v in call.params:
            m = re.fullmatch(r"Filter\.(\d+)\.Name", k)
            if m and v in ("instance-state-name", "instance-state-code"):
                n = m.group(1)
                prefix = f"Filter.{n}.Value."
                wanted.append((v, {val for key, val in call.params if key.startswith(prefix)}))
                params = [(a, b) for a, b in params if not a.startswith(prefix)]
                every = EC2_STATE_CODES.keys() if v == "instance-state-name" else \
                    [str(c) for c in EC2_STATE_CODES.values()]
                params += [(f"{prefix}{j}", s) for j, s in enumerate(every, 1)]
        resp = self._send(call.with_params(params) if wanted else call)
        if resp[0] != 200:
            return resp
        doc = XmlDoc(resp[2])
        now = self.clock.now()
        window = self.toggles.get("ec2_not_found", True)
        with self.lock:
            rset = doc.root.find("reservationSet")
            for reservation in list(rset) if rset is not None else []:
                iset = reservation.find("instancesSet")
                if iset is None:
                    continue
                for item in list(iset):
                    iid = item.findtext("instanceId") or ""
                    rec = self._rec("ec2_instance", call.region, iid)
                    if window and self._in_window(rec, now):
                        iset.remove(item)  # not yet visible to listings
                        continue
                    st = item.find("instanceState")
                    name = self._overlay(rec, st.findtext("name") if st is not None else None, now)
                    self._set_state(st, name)
                    for fname, values in wanted:
                        value = name if fname == "instance-state-name" else str(EC2_STATE_CODES.get(name))
                        if value not in values:
                            iset.remove(item)
                            break
                if len(iset) == 0:
                    rset.remove(reservation)
            self.counters["rewritten"] += 1
        return resp[0], resp[1], doc.dump()

    def ec2_terminate_instances(self, call: Call) -> Response:
        # https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-lifecycle.html:
        # shutting-down, then terminated (listed for about an hour).
        return self._ec2_transition(call, "delete", allowed=None,
                                    unchanged=("shutting-down", "terminated"),
                                    final=self._gone("ec2_instance")[0])

    def ec2_stop_instances(self, call: Call) -> Response:
        # https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Stop_Start.html: stopping, then
        # stopped; IncorrectInstanceState from a state it cannot be stopped from
        # (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
        return self._ec2_transition(call, "stop", allowed=("running", "stopping", "stopped"),
                                    unchanged=("stopping", "stopped"),
                                    final=self.table["ec2_instance"].get("stopped", "stopped"),
                                    verb="stopped")

    def ec2_start_instances(self, call: Call) -> Response:
        # https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Stop_Start.html: pending, then running.
        return self._ec2_transition(call, "start", allowed=("stopped", "pending", "running"),
                                    unchanged=("pending", "running"),
                                    final=self.table["ec2_instance"].get("ready", "running"),
                                    verb="started")

    def _ec2_transition(self, call: Call, what: str, allowed, unchanged, final: str,
                        verb: str = "") -> Response:
        ids = call.indexed("InstanceId")
        missing = self._not_found_ids(call, ids)
        if missing is not None:
            return missing
        before, err = self._ec2_states(call, ids)
        if err is not None:
            return err
        if allowed is not None:
            bad = [i for i in ids if before.get(i) not in allowed]
            if bad:
                return self._refuse(ec2_error(
                    "IncorrectInstanceState",
                    f"The instance '{bad[0]}' is not in a state from which it can be {verb}."))
        resp = self._send(call)
        if resp[0] != 200:
            return resp
        kept = {}
        with self.lock:
            now = self.clock.now()
            for iid in ids:
                if before.get(iid) in unchanged:
                    kept[iid] = before[iid]  # already on its way: nothing restarts
                    continue
                rec = self._get_or_new("ec2_instance", call.region, iid)
                rec.lifecycle = Lifecycle(what, self._phases("ec2_instance", what), now, final)
                if what == "delete" and rec.extra.get("token") in self.tokens:
                    self.tokens[rec.extra["token"]]["terminated"][iid] = time.monotonic()
        return resp[0], resp[1], self._rewrite_ec2_items(call, resp[2], before, kept)

    def ec2_modify_attribute(self, call: Call) -> Response | None:
        # https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-resize.html: "You must
        # stop your instance before you can change its instance type."
        iid = call.p("InstanceId") or ""
        missing = self._not_found_ids(call, [iid])
        if missing is not None:
            return missing
        if call.p("InstanceType.Value") is None and call.p("Attribute") != "instanceType":
            return None
        states, err = self._ec2_states(call, [iid])
        if err is not None:
            return err
        if states.get(iid) != "stopped":
            return self._refuse(ec2_error(
                "IncorrectInstanceState",
                f"The instance '{iid}' is not in the 'stopped' state."))
        return None

    def ec2_by_instance_id(self, call: Call) -> Response | None:
        """Other calls naming instances: only the not-found window."""
        ids = call.indexed("InstanceId") + call.indexed("ResourceId")
        if call.p("InstanceId"):
            ids.append(call.p("InstanceId"))
        return self._not_found_ids(call, [i for i in ids if i.startswith("i-")])

    # --- 17: security groups ----------------------------------------------------------------------

    def ec2_create_security_group(self, call: Call) -> Response:
        # A security group exists as soon as CreateSecurityGroup returns; like every new resource
        # it reaches the Tagging API a little later (13), and calls naming it by id (21).
        resp = self._send(call)
        if resp[0] == 200:
            root = XmlDoc(resp[2]).root
            gid = root.findtext("groupId")
            arn = root.findtext("securityGroupArn")
            if gid and not arn:
                _, _, body = self._ec2(call, [("Action", "DescribeSecurityGroups"), ("GroupId.1", gid)])
                owner = XmlDoc(body).root.findtext("securityGroupInfo/item/ownerId") or "123456789012"
                arn = f"arn:aws:ec2:{call.region}:{owner}:security-group/{gid}"
            self._track_arn(arn)
            if gid:
                with self.lock:
                    self._new("security_group", call.region, gid).created = self.clock.now()
        return resp

    def ec2_security_group_by_id(self, call: Call) -> Response | None:
        """21: a group created less than ``consistency.not_found_after_create`` ago is unknown to
        calls naming it by id (Describe with GroupId.N, Authorize/Revoke, Delete)."""
        # https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html: "if you run
        # a command to modify or describe the resource that you just created, its ID might not
        # have propagated throughout the system, and you will get an error".
        if not self.toggles.get("ec2", True):
            return None
        ids = call.indexed("GroupId") + ([call.p("GroupId")] if call.p("GroupId") else [])
        now = self.clock.now()
        with self.lock:
            missing = [g for g in ids if self._in_window(self._rec("security_group", call.region, g), now)]
        if not missing:
            return None
        return self._refuse(ec2_error("InvalidGroup.NotFound",
                                      f"The security group '{missing[0]}' does not exist"))

    def ec2_delete_security_group(self, call: Call) -> Response | None:
        # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSecurityGroup.html: "If
        # you attempt to delete a security group that is associated with an instance or network
        # interface, is referenced by another security group in the same VPC, or has a VPC
        # association, the operation fails with DependencyViolation."
        # https://docs.aws.amazon.com/vpc/latest/userguide/deleting-security-groups.html: it
        # "can't be the default security group for a VPC" (CannotDelete, errors-overview.html).
        gid, name = call.p("GroupId"), call.p("GroupName")
        if (not gid and not name) or (call.p("DryRun") or "").lower() == "true":
            return None
        if self.toggles.get("ec2_not_found", True) and (unknown := self.ec2_security_group_by_id(call)):
            return unknown
        status, _, body = self._ec2(call, [("Action", "DescribeSecurityGroups"),
                                           ("GroupId.1", gid) if gid else ("GroupName.1", name)])
        if status != 200:
            return None  # moto answers (InvalidGroup.NotFound and the like)
        group = XmlDoc(body).root.find("securityGroupInfo/item")
        if group is None:
            return None
        gid = group.findtext("groupId") or gid
        if group.findtext("groupName") == "default" and group.findtext("vpcId"):
            return self._refuse(ec2_error(
                "CannotDelete", f'the specified group: "{gid}" name: "default" cannot be deleted by a user'))
        user = self._sg_user(call, gid, group.findtext("vpcId"))
        if user is None:
            return None
        self.log(f"realism: DeleteSecurityGroup {gid} refused: in use by {user}")
        return self._refuse(ec2_error("DependencyViolation", f"resource {gid} has a dependent object"))

    def _sg_user(self, call: Call, gid: str, vpc: str | None) -> str | None:
        """What uses a security group, as AWS would see it now (None: nothing)."""
        # 20: network interfaces that outlive what they served: a deleted service's stopped
        # awsvpc tasks', and a deleted DB instance's (requester-managed: only RDS removes it).
        # https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/requester-managed-eni.html
        now = self.clock.now()
        with self.lock:
            for (kind, region, ident), rec in self.records.items():
                enis = rec.extra.get("enis")
                if (kind in ("ecs_service", "rds_instance") and region in (call.region, "*") and enis
                        and now < enis["until"] and gid in enis["groups"]):
                    what = "a stopped task of ECS service" if kind == "ecs_service" else "deleted DB instance"
                    return f"the network interface of {what} {ident}"
        # Instances: every state but terminated (shutting-down ones still hold their interfaces).
        status, _, body = self._ec2(call, [("Action", "DescribeInstances"),
                                           ("Filter.1.Name", "instance.group-id"),
                                           ("Filter.1.Value.1", gid)])
        if status == 200:
            now = self.clock.now()
            with self.lock:
                for item in XmlDoc(body).root.findall("reservationSet/item/instancesSet/item"):
                    iid = item.findtext("instanceId")
                    name = item.findtext("instanceState/name")
                    if not iid or not name:
                        continue
                    state = self._overlay(self._rec("ec2_instance", call.region, iid), name, now)
                    if state not in self._gone("ec2_instance"):
                        return f"instance {iid} ({state})"
        # Rules of the other groups of its VPC.
        params = [("Action", "DescribeSecurityGroups")]
        if vpc:
            params += [("Filter.1.Name", "vpc-id"), ("Filter.1.Value.1", vpc)]
        status, _, body = self._ec2(call, params)
        if status == 200:
            info = XmlDoc(body).root.find("securityGroupInfo")
            for other in list(info) if info is not None else []:
                oid = other.findtext("groupId")
                if oid == gid or (vpc and other.findtext("vpcId") not in (None, vpc)):
                    continue
                for perms in ("ipPermissions", "ipPermissionsEgress"):
                    for pair in other.findall(f"{perms}/item/groups/item"):
                        if pair.findtext("groupId") == gid:
                            return f"a rule of {oid}"
        # RDS instances that are not gone, and the groups a modification is still removing.
        rds = call.for_service("rds")
        status, _, body = self._rds(rds, [("Action", "DescribeDBInstances")])
        if status == 200:
            now = self.clock.now()
            with self.lock:
                for db in XmlDoc(body).root.iter("DBInstance"):
                    ident = db.findtext("DBInstanceIdentifier") or ""
                    rec = self._rec("rds_instance", call.region, ident)
                    if self._overlay(rec, db.findtext("DBInstanceStatus"), now) == GONE:
                        continue
                    groups = set(_vpc_groups(db))
                    if rec is not None:
                        self._purge_pending(rec, now)
                        groups |= set((rec.extra.get("old_groups") or {}).get("ids", []))
                    if gid in groups:
                        return f"DB instance {ident}"
        # ECS services with tasks (as the layer shows them), or draining them.
        ecs = call.for_service("ecs")
        st, out = self._ecs(ecs, "ListClusters", {})
        clusters = out.get("clusterArns") or [] if st == 200 else []
        for cluster in clusters:
            st, out = self._ecs(ecs, "ListServices", {"cluster": cluster, "maxResults": 100})
            arns = out.get("serviceArns") or [] if st == 200 else []
            for i in range(0, len(arns), 10):
                st, desc = self._ecs(ecs, "DescribeServices", {"cluster": cluster, "services": arns[i:i + 10]})
                if st != 200:
                    continue
                now = self.clock.now()
                with self.lock:
                    for svc in desc.get("services") or []:
                        vpc_conf = (svc.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
                        if gid not in (vpc_conf.get("securityGroups") or []):
                            continue
                        svc = self._render_service(call.region, svc, now)
                        tasks = int(svc.get("runningCount") or 0) + int(svc.get("pendingCount") or 0)
                        if svc.get("status") == "DRAINING" or (svc.get("status") == "ACTIVE" and tasks):
                            return f"ECS service {svc.get('serviceName')} ({svc.get('status')})"
        # Other network interfaces: not an instance's (see above), not a stopped ECS task's.
        status, _, body = self._ec2(call, [("Action", "DescribeNetworkInterfaces"),
                                           ("Filter.1.Name", "group-id"), ("Filter.1.Value.1", gid)])
        if status == 200:
            loose = [eni.findtext("networkInterfaceId")
                     for eni in XmlDoc(body).root.findall("networkInterfaceSet/item")
                     if eni.findtext("networkInterfaceId") and not eni.findtext("attachment/instanceId")]
            if loose:
                stopped = set()
                for cluster in clusters:
                    st, out = self._ecs(ecs, "ListTasks", {"cluster": cluster, "desiredStatus": "STOPPED"})
                    arns = out.get("taskArns") or [] if st == 200 else []
                    for i in range(0, len(arns), 100):
                        st, desc = self._ecs(ecs, "DescribeTasks", {"cluster": cluster, "tasks": arns[i:i + 100]})
                        for task in desc.get("tasks") or [] if st == 200 else []:
                            for att in task.get("attachments") or []:
                                for d in att.get("details") or []:
                                    if d.get("name") == "networkInterfaceId":
                                        stopped.add(d.get("value"))
                for eni in loose:
                    if eni not in stopped:
                        return f"network interface {eni}"
        return None

    # --- ECS helpers ------------------------------------------------------------------------------

    def _ecs(self, call: Call, op: str, payload: dict) -> tuple[int, dict]:
        status, _, body = self._send(call.with_json(op, payload))
        try:
            return status, json.loads(body or b"{}")
        except ValueError:
            return status, {}

    def _service_key(self, region: str, cluster: str | None, service: str | None) -> tuple:
        if service and service.startswith("arn:"):
            cluster = _service_cluster_from_arn(service) or cluster
        return ("ecs_service", region, f"{_name_of(cluster) or 'default'}/"
                                       f"{_name_of(service)}")

    def _service_rec(self, region: str, svc: dict) -> Record | None:
        cluster = _name_of(svc.get("clusterArn"))
        kind, reg, ident = self._service_key(region, cluster, svc.get("serviceName"))
        return self._rec(kind, reg, ident)

    def _render_service(self, region: str, svc: dict, now: float) -> dict:
        """10/11: a service as AWS would show it now (moto's never finish deploying)."""
        rec = self._service_rec(region, svc)
        name = svc.get("serviceName")
        if rec is not None and svc.get("createdAt") is None and rec.extra.get("created_at"):
            svc["createdAt"] = rec.extra["created_at"]
        if rec is not None and rec.lifecycle is not None and rec.lifecycle.name == "delete":
            state = rec.lifecycle.state(now)
            svc["status"] = state
            svc["runningCount"] = 0
            svc["pendingCount"] = 0
            return svc
        if svc.get("status") != "ACTIVE":
            return svc
        desired = int(svc.get("desiredCount") or 0)
        moto_dep = dict((svc.get("deployments") or [{}])[0])
        dep = rec.extra.get("deployment") if rec is not None else None
        failed = rec.extra.get("failed") if rec is not None else None
        if failed and failed.get("armed"):
            failed = None  # 22: waits for the next deployment
        events = list(rec.extra.get("events", [])) if rec is not None else []
        primary = dict(moto_dep)
        primary.update(status="PRIMARY", desiredCount=desired, failedTasks=0)
        if dep:
            primary.update(id=dep["id"], taskDefinition=dep["taskDefinition"],
                           createdAt=dep["createdAt"], updatedAt=dep["createdAt"])
        deployments = [primary]
        pid = primary.get("id", "ecs-svc/0")
        back = rec.extra.get("rollback_to") if rec is not None else None
        if failed and back and dep and failed.get("fail_at") is not None:
            return self._render_rollback(svc, rec, primary, moto_dep, failed, back, now)
        if failed:
            # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html
            primary.update(runningCount=0, pendingCount=0, failedTasks=max(desired, 1),
                           rolloutState="FAILED",
                           rolloutStateReason="ECS deployment circuit breaker: tasks failed to start.")
            events = [{"id": failed["id"], "createdAt": failed["at"], "message": failed["message"]}] + events
        elif dep and now < dep["start"] + dep["duration"]:
            running = min(int(dep["from_running"]), desired)
            primary.update(runningCount=running, pendingCount=desired - running,
                           rolloutState="IN_PROGRESS",
                           rolloutStateReason=f"ECS deployment {pid} in progress.")
            old = rec.extra.get("old")
            if old:
                deployments.append(old)
        else:
            primary.update(runningCount=desired, pendingCount=0, rolloutState="COMPLETED",
                           rolloutStateReason=f"ECS deployment {pid} completed.")
            if dep is not None:
                if "completed_at" not in dep:
                    dep["completed_at"] = time.time()
                    rec.extra.setdefault("events", [])[:0] = [
                        {"id": _rid(), "createdAt": dep["completed_at"],
                         "message": f"(service {name}) has reached a steady state."},
                        {"id": _rid(), "createdAt": dep["completed_at"],
                         "message": f"(service {name}) (deployment {pid}) deployment completed."},
                    ]
                    events = list(rec.extra["events"])
        svc["deployments"] = deployments
        svc["runningCount"] = sum(int(d.get("runningCount") or 0) for d in deployments)
        svc["pendingCount"] = sum(int(d.get("pendingCount") or 0) for d in deployments)
        if primary.get("taskDefinition"):
            svc["taskDefinition"] = primary["taskDefinition"]
        svc["events"] = events + list(svc.get("events") or [])
        return svc

    def _render_rollback(self, svc: dict, rec: Record, primary: dict, moto_dep: dict, failed: dict,
                         back: dict, now: float) -> dict:
        """22: a deployment the circuit breaker stops, rolled back to the last COMPLETED one."""
        # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html:
        # the failed deployment's rolloutState is FAILED, and with rollback "Amazon ECS rolls
        # back to the last completed deployment": a new PRIMARY deployment of its task
        # definition, the failed one ACTIVE until the rollback completes.
        name = svc.get("serviceName")
        desired = int(svc.get("desiredCount") or 0)
        fid = primary.get("id")
        fail_at, done_at = failed["fail_at"], failed["fail_at"] + self._circuit("rollback")
        events = rec.extra.setdefault("events", [])
        if now < fail_at:
            primary.update(runningCount=0, pendingCount=desired, rolloutState="IN_PROGRESS",
                           rolloutStateReason=f"ECS deployment {fid} in progress.")
            deployments = [primary] + ([rec.extra["old"]] if rec.extra.get("old") else [])
        else:
            rb = failed.get("rollback")
            if rb is None:
                rb = failed["rollback"] = {"id": f"ecs-svc/{random.randrange(10**18, 10**19)}",
                                           "createdAt": time.time()}
                events[:0] = [
                    {"id": _rid(), "createdAt": rb["createdAt"],
                     "message": f"(service {name}) rolling back to deployment {back['id']}."},
                    {"id": failed["id"], "createdAt": rb["createdAt"],
                     "message": failed["message"] if failed.get("given") else
                     f"(service {name}) (deployment {fid}) deployment failed: tasks failed to start."},
                ]
            gone = dict(primary, status="ACTIVE", runningCount=0, pendingCount=0,
                        failedTasks=max(desired, 1), rolloutState="FAILED",
                        rolloutStateReason="ECS deployment circuit breaker: tasks failed to start.")
            new = dict(moto_dep, status="PRIMARY", id=rb["id"], taskDefinition=back["taskDefinition"],
                       desiredCount=desired, failedTasks=0, createdAt=rb["createdAt"],
                       updatedAt=rb["createdAt"])
            if now < done_at:
                running = min(int(back.get("running") or 0), desired)
                new.update(runningCount=running, pendingCount=desired - running, rolloutState="IN_PROGRESS",
                           rolloutStateReason=f"ECS deployment {rb['id']} in progress.")
                deployments = [new, gone]
            else:
                new.update(runningCount=desired, pendingCount=0, rolloutState="COMPLETED",
                           rolloutStateReason=f"ECS deployment {rb['id']} completed.")
                deployments = [new]
                if "completed_at" not in rb:
                    rb["completed_at"] = time.time()
                    events[:0] = [
                        {"id": _rid(), "createdAt": rb["completed_at"],
                         "message": f"(service {name}) has reached a steady state."},
                        {"id": _rid(), "createdAt": rb["completed_at"],
                         "message": f"(service {name}) (deployment {rb['id']}) deployment completed."},
                    ]
        svc["deployments"] = deployments
        svc["runningCount"] = sum(int(d.get("runningCount") or 0) for d in deployments)
        svc["pendingCount"] = sum(int(d.get("pendingCount") or 0) for d in deployments)
        svc["taskDefinition"] = deployments[0].get("taskDefinition") or svc.get("taskDefinition")
        svc["events"] = list(events) + list(svc.get("events") or [])
        return svc

    def _circuit(self, key: str) -> float:
        return float(self.table.get("circuit_breaker", {}).get(key, DEFAULT_TABLE["circuit_breaker"][key]))

    def _arm_failure(self, rec: Record, now: float) -> None:
        """22: a forced failure of a deployment that has one to roll back to trips the circuit
        breaker `circuit_breaker.failed_after` seconds into it (at once if that is past)."""
        failed, dep = rec.extra.get("failed"), rec.extra.get("deployment")
        if failed and failed.get("armed"):
            return
        if failed and dep and rec.extra.get("rollback_to"):
            failed["fail_at"] = max(dep["start"] + self._circuit("failed_after"), now)
            failed.pop("rollback", None)

    def _resolve_td(self, call: Call, td: str) -> tuple[str | None, str | None]:
        status, out = self._ecs(call, "DescribeTaskDefinition", {"taskDefinition": td})
        if status != 200:
            return None, None
        t = out.get("taskDefinition") or {}
        return t.get("taskDefinitionArn"), t.get("status")

    def _json_response(self, status: int, obj: dict) -> Response:
        return status, [("Content-Type", "application/x-amz-json-1.1"),
                        ("x-amzn-RequestId", _rid())], json.dumps(obj).encode()

    # --- ECS handlers -----------------------------------------------------------------------------

    def ecs_create_cluster(self, call: Call) -> Response:
        # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateCluster.html: a
        # CreateCluster of an existing ACTIVE name returns that cluster (moto replaces it).
        name = call.json.get("clusterName") or "default"
        status, out = self._ecs(call, "DescribeClusters", {"clusters": [name], "include": ["TAGS"]})
        if status == 200:
            for c in out.get("clusters") or []:
                if c.get("status") == "ACTIVE":
                    with self.lock:
                        self.counters["answered_by_layer"] += 1
                    return self._json_response(200, {"cluster": c})
        resp = self._send(call)
        if resp[0] == 200:
            self._track_arn((json.loads(resp[2]).get("cluster") or {}).get("clusterArn"))
        return resp

    def _track_arn(self, arn: str | None) -> None:
        if arn:
            with self.lock:
                self.arn_created[arn] = self.clock.now()

    def ecs_register_task_definition(self, call: Call) -> Response:
        resp = self._send(call)
        if resp[0] == 200:
            out = json.loads(resp[2])
            self._track_arn((out.get("taskDefinition") or {}).get("taskDefinitionArn"))
            if out.get("taskDefinition"):
                arn = out["taskDefinition"].get("taskDefinitionArn")
                if arn:
                    with self.lock:
                        self.registered_at[arn] = time.time()
                self._registered_at(out["taskDefinition"])
                _aws_task_definition_defaults(out["taskDefinition"])
                return self._json_response(200, out)
        return resp

    def _registered_at(self, td: dict) -> None:
        """25: ``registeredAt`` as ECS says it, where moto leaves it null."""
        with self.lock:
            at = self.registered_at.get(td.get("taskDefinitionArn") or "")
        if at is not None and not td.get("registeredAt"):
            td["registeredAt"] = at

    def ecs_describe_task_definition(self, call: Call) -> Response:
        # 18: a task definition as ECS describes it, with the defaults it fills in.
        resp = self._send(call)
        if resp[0] != 200:
            return self._deleted_task_definition(call) or resp
        out = json.loads(resp[2])
        if out.get("taskDefinition"):
            self._registered_at(out["taskDefinition"])
            _aws_task_definition_defaults(out["taskDefinition"])
            with self.lock:
                self.counters["rewritten"] += 1
        return self._json_response(200, out)

    def ecs_delete_task_definitions(self, call: Call) -> Response:
        # 19: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteTaskDefinitions.html
        # "the task definition status moves from INACTIVE to DELETE_IN_PROGRESS", and stays so
        # while any task or deployment refers to it; it can still be described (moto forgets it
        # at once). Kept here, with its tags, for `lingering.ecs_task_definition_delete_in_progress`.
        kept = {}
        for ident in call.json.get("taskDefinitions") or []:
            st, out = self._ecs(call, "DescribeTaskDefinition", {"taskDefinition": ident, "include": ["TAGS"]})
            if st == 200 and (out.get("taskDefinition") or {}).get("taskDefinitionArn"):
                kept[out["taskDefinition"]["taskDefinitionArn"]] = out
        resp = self._send(call)
        if resp[0] != 200:
            return resp
        result = json.loads(resp[2])
        with self.lock:
            now = self.clock.now()
            for td in result.get("taskDefinitions") or []:
                arn = td.get("taskDefinitionArn")
                if arn not in kept:
                    continue
                rec = self._new("ecs_task_definition", call.region, arn)
                rec.arn = arn
                rec.extra["described"] = kept[arn]
                rec.lifecycle = Lifecycle(
                    "delete", [("DELETE_IN_PROGRESS", self._lingering("ecs_task_definition_delete_in_progress"))],
                    now, GONE)
                td["status"] = "DELETE_IN_PROGRESS"
            self.counters["rewritten"] += 1
        return self._json_response(200, result)

    def _deleted_task_definition(self, call: Call) -> Response | None:
        """19: a revision deleted less than its DELETE_IN_PROGRESS time ago, as ECS describes it."""
        ident = call.json.get("taskDefinition") or ""
        now = self.clock.now()
        with self.lock:
            for (kind, region, arn), rec in self.records.items():
                if kind != "ecs_task_definition" or region not in (call.region, "*"):
                    continue
                if not (arn == ident or arn.endswith("/" + ident)) or "described" not in rec.extra:
                    continue
                if rec.lifecycle is None or rec.lifecycle.state(now) == GONE:
                    return None
                out = copy.deepcopy(rec.extra["described"])
                out["taskDefinition"]["status"] = rec.lifecycle.state(now)
                out["taskDefinition"].setdefault("deregisteredAt", time.time())
                _aws_task_definition_defaults(out["taskDefinition"])
                if "TAGS" not in (call.json.get("include") or []):
                    out.pop("tags", None)
                self.counters["answered_by_layer"] += 1
                return self._json_response(200, out)
        return None

    def ecs_delete_cluster(self, call: Call) -> Response:
        # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteCluster.html:
        # ClusterContainsServicesException "You can't delete a cluster that contains services."
        cluster = call.json.get("cluster") or "default"
        status, out = self._ecs(call, "ListServices", {"cluster": cluster, "maxResults": 100})
        arns = out.get("serviceArns") or [] if status == 200 else []
        busy = []
        for i in range(0, len(arns), 10):
            st, desc = self._ecs(call, "DescribeServices", {"cluster": cluster, "services": arns[i:i + 10]})
            if st != 200:
                continue
            now = self.clock.now()
            with self.lock:
                for svc in desc.get("services") or []:
                    svc = self._render_service(call.region, svc, now)
                    if svc.get("status") in ("ACTIVE", "DRAINING"):
                        busy.append(svc.get("serviceName"))
        if busy:
            return self._refuse(json_error(
                "ClusterContainsServicesException",
                "The Cluster cannot be deleted while Services are active."))
        # 20: ClusterContainsTasksException "You can't delete a cluster that has active tasks":
        # the tasks of a deleted service, until they are STOPPED (the service may be INACTIVE).
        name = _name_of(cluster)
        now = self.clock.now()
        with self.lock:
            stopping = [i for (k, r, i), rec in self.records.items()
                        if k == "ecs_service" and r in (call.region, "*") and i.startswith(f"{name}/")
                        and now < rec.extra.get("tasks_stopped_at", 0.0)]
        if stopping:
            self.log(f"realism: DeleteCluster {name} refused: tasks of {stopping} still stopping")
            return self._refuse(json_error(
                "ClusterContainsTasksException",
                "The Cluster cannot be deleted while Tasks are active."))
        return self._send(call)

    def ecs_create_service(self, call: Call) -> Response:
        # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html
        # 23: a name ACTIVE in the cluster is refused (moto replaces the service):
        # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html
        # (InvalidParameterException "Creation of service was not idempotent.").
        cluster, name = call.json.get("cluster") or "default", call.json.get("serviceName")
        if name:
            st, out = self._ecs(call, "DescribeServices", {"cluster": cluster, "services": [name]})
            with self.lock:
                now = self.clock.now()
                taken = [svc for svc in (out.get("services") or [] if st == 200 else [])
                         if self._render_service(call.region, copy.deepcopy(svc), now).get("status") == "ACTIVE"]
            if taken:
                return self._refuse(json_error("InvalidParameterException",
                                               "Creation of service was not idempotent."))
        resp = self._send(call)
        if resp[0] != 200:
            return resp
        out = json.loads(resp[2])
        svc = out.get("service") or {}
        with self.lock:
            now = self.clock.now()
            kind, region, ident = self._service_key(call.region, _name_of(svc.get("clusterArn")),
                                                    svc.get("serviceName"))
            # A failure forced before the service existed is its first rollout's (a test's way to
            # make a new service's tasks fail to start).
            before = self._rec(kind, region, ident) or self.records.get((kind, "*", ident))
            failed = before.extra.get("failed") if before is not None else None
            rec = self._new(kind, region, ident)
            rec.extra["failed"] = dict(failed, at=time.time(), armed=False) if failed else None
            rec.arn = svc.get("serviceArn")
            rec.created = now
            dep = (svc.get("deployments") or [{}])[0]
            rec.extra["deployment"] = {
                "id": dep.get("id") or f"ecs-svc/{random.randrange(10**18, 10**19)}",
                "taskDefinition": svc.get("taskDefinition"), "createdAt": dep.get("createdAt", time.time()),
                "start": now, "duration": self._total("ecs_service", "create"), "from_running": 0}
            rec.extra["old"] = None
            rec.extra["events"] = []
            rec.extra["created_at"] = rec.extra["deployment"]["createdAt"]
            if rec.arn:
                self.arn_created[rec.arn] = now
            out["service"] = self._render_service(call.region, svc, now)
            self.counters["rewritten"] += 1
        return self._json_response(200, out)

    def ecs_update_service(self, call: Call) -> Response:
        # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html:
        # a new task definition (or forceNewDeployment) starts a new deployment; the desired count
        # alone scales the current one. ServiceNotActiveException for a service that is not ACTIVE.
        cluster = call.json.get("cluster") or "default"
        service = call.json.get("service") or ""
        status, out = self._ecs(call, "DescribeServices", {"cluster": cluster, "services": [service]})
        if status != 200:
            return self._send(call)
        services = out.get("services") or []
        if not services:
            return self._refuse(json_error("ServiceNotFoundException", "Service not found."))
        now = self.clock.now()
        with self.lock:
            before = self._render_service(call.region, copy.deepcopy(services[0]), now)
        if before.get("status") != "ACTIVE":
            return self._refuse(json_error("ServiceNotActiveException", "Service was not ACTIVE."))
        new_td = call.json.get("taskDefinition")
        td_arn = None
        if new_td:
            td_arn, td_status = self._resolve_td(call, new_td)
            if td_status == "INACTIVE":
                return self._refuse(json_error("ClientException", "TaskDefinition is inactive"))
        resp = self._send(call)
        if resp[0] != 200:
            return resp
        result = json.loads(resp[2])
        svc = result.get("service") or {}
        with self.lock:
            now = self.clock.now()
            kind, region, ident = self._service_key(call.region, _name_of(svc.get("clusterArn")),
                                                    svc.get("serviceName"))
            rec = self._get_or_new(kind, region, ident)
            rec.arn = rec.arn or svc.get("serviceArn")
            prev = before["deployments"][0] if before.get("deployments") else {}
            desired = call.json.get("desiredCount")
            td_changed = bool(td_arn) and td_arn != before.get("taskDefinition")
            if td_changed or call.json.get("forceNewDeployment"):
                if prev.get("rolloutState") == "COMPLETED":
                    rec.extra["rollback_to"] = {"id": prev.get("id"), "running": prev.get("runningCount"),
                                                "taskDefinition": before.get("taskDefinition")}
                old = dict(prev)
                old.update(status="ACTIVE", desiredCount=int(prev.get("runningCount") or 0),
                           pendingCount=0)
                rec.extra["old"] = old if old.get("runningCount") else None
                rec.extra["deployment"] = {
                    "id": f"ecs-svc/{random.randrange(10**18, 10**19)}",
                    "taskDefinition": td_arn or before.get("taskDefinition"), "createdAt": time.time(),
                    "start": now, "duration": self._total("ecs_service", "create"), "from_running": 0}
                # A forced failure stays until cleared: the new deployment fails too (22).
                if rec.extra.get("failed"):
                    rec.extra["failed"]["armed"] = False
                self._arm_failure(rec, now)
            elif desired is not None and int(desired) != int(before.get("desiredCount") or 0):
                tasks = int(before.get("runningCount") or 0) + int(before.get("pendingCount") or 0)
                self._tasks_stop(rec, before, tasks - int(desired), now)
                dep = dict(rec.extra.get("deployment") or {
                    "id": prev.get("id"), "taskDefinition": before.get("taskDefinition"),
                    "createdAt": prev.get("createdAt", time.time())})
                dep.pop("completed_at", None)
                dep.update(start=now, duration=self._total("ecs_service", "create"),
                           from_running=int(before.get("runningCount") or 0))
                rec.extra["deployment"] = dep
                rec.extra["old"] = None
            rec.extra.setdefault("events", [])
            result["service"] = self._render_service(call.region, svc, now)
            self.counters["rewritten"] += 1
        return self._json_response(200, result)

    def ecs_delete_service(self, call: Call) -> Response:
        # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteService.html: "the
        # service status moves from ACTIVE to DRAINING, and the service is no longer visible in
        # the console or in ListServices. After all tasks have transitioned to STOPPED, the
        # service status moves from DRAINING to INACTIVE."
        cluster = call.json.get("cluster") or "default"
        st, out = self._ecs(call, "DescribeServices", {"cluster": cluster,
                                                       "services": [call.json.get("service") or ""]})
        with self.lock:
            before = [self._render_service(call.region, copy.deepcopy(svc), self.clock.now())
                      for svc in (out.get("services") or [] if st == 200 else [])]
        resp = self._send(call)
        if resp[0] != 200:
            return resp
        result = json.loads(resp[2])
        svc = result.get("service") or {}
        with self.lock:
            now = self.clock.now()
            kind, region, ident = self._service_key(call.region, _name_of(svc.get("clusterArn")),
                                                    svc.get("serviceName"))
            rec = self._get_or_new(kind, region, ident)
            if rec.lifecycle is None or rec.lifecycle.name != "delete":
                rec.lifecycle = Lifecycle("delete", self._phases("ecs_service", "delete"), now,
                                          self._gone("ecs_service")[0])
                # 20: its tasks stop (the cluster holds them until they are STOPPED), then an
                # awsvpc task's network interface lingers in the service's security groups.
                # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html
                # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-networking.html
                for b in before:
                    if b.get("status") == "ACTIVE":
                        self._tasks_stop(rec, b, int(b.get("runningCount") or 0)
                                         + int(b.get("pendingCount") or 0), now)
            result["service"] = self._render_service(call.region, svc, now)
            self.counters["rewritten"] += 1
        return self._json_response(200, result)

    def _tasks_stop(self, rec: Record, svc: dict, count: int, now: float) -> None:
        """20: `count` tasks of a service stop now (scaled in or deleted): the cluster holds them
        until they are STOPPED, and an awsvpc task's network interface lingers after that."""
        if count <= 0:
            return
        stopped = now + self._lingering("ecs_tasks_stopping")
        rec.extra["tasks_stopped_at"] = max(stopped, rec.extra.get("tasks_stopped_at", 0.0))
        vpc = (svc.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
        if vpc.get("securityGroups"):
            until = stopped + self._lingering("ecs_task_network_interface")
            old = rec.extra.get("enis") or {"groups": [], "until": 0.0}
            rec.extra["enis"] = {"groups": sorted(set(old["groups"]) | set(vpc["securityGroups"])),
                                 "until": max(until, old["until"])}

    def ecs_list_services(self, call: Call) -> Response:
        # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteService.html: a
        # deleted service "is no longer visible in the console or in the ListServices API
        # operation"; moto keeps listing DRAINING and INACTIVE services.
        resp = self._send(call)
        if resp[0] != 200:
            return resp
        result = json.loads(resp[2])
        arns = result.get("serviceArns") or []
        cluster = call.json.get("cluster") or "default"
        active = set()
        for i in range(0, len(arns), 10):
            st, desc = self._ecs(call, "DescribeServices", {"cluster": cluster, "services": arns[i:i + 10]})
            if st != 200:
                return resp
            now = self.clock.now()
            with self.lock:
                for svc in desc.get("services") or []:
                    if self._render_service(call.region, svc, now).get("status") == "ACTIVE":
                        active.add(svc.get("serviceArn"))
        result["serviceArns"] = [a for a in arns if a in active]
        with self.lock:
            self.counters["rewritten"] += 1
        return self._json_response(200, result)

    def ecs_describe_services(self, call: Call) -> Response:
        resp = self._send(call)
        if resp[0] != 200:
            return resp
        result = json.loads(resp[2])
        now = self.clock.now()
        window = self.toggles.get("ecs_not_found", True)
        with self.lock:
            kept = []
            for svc in result.get("services") or []:
                rec = self._service_rec(call.region, svc)
                if window and self._in_window(rec, now):
                    # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServices.html
                    # (eventual consistency): not visible yet.
                    result.setdefault("failures", []).append(
                        {"arn": svc.get("serviceArn"), "reason": "MISSING"})
                    continue
                kept.append(self._render_service(call.region, svc, now))
            result["services"] = kept
            self.counters["rewritten"] += 1
        return self._json_response(200, result)

    # --- 13: tagging ------------------------------------------------------------------------------

    def tagging_get_resources(self, call: Call) -> Response:
        # https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/overview.html:
        # new resources and tag changes take a while to appear in the Tagging API.
        resp = self._send(call)
        if resp[0] != 200:
            return resp
        result = json.loads(resp[2])
        now = self.clock.now()
        lag = self._consistency("tagging_lag")
        with self.lock:
            result["ResourceTagMappingList"] = [
                m for m in result.get("ResourceTagMappingList") or []
                if not (m.get("ResourceARN") in self.arn_created
                        and now < self.arn_created[m["ResourceARN"]] + lag)]
            self.counters["rewritten"] += 1
        return self._json_response(200, result)

    # --- control ----------------------------------------------------------------------------------

    def control(self, method: str, path: str, body: bytes) -> tuple[int, dict]:
        """The /__proxy/realism endpoints: (HTTP status, JSON answer)."""
        path = path.rstrip("/")
        try:
            cfg = json.loads(body or b"{}") if method == "POST" else {}
            if not isinstance(cfg, dict):
                raise ValueError("the body must be a JSON object")
            if path == "/__proxy/realism" and method in ("GET", "HEAD"):
                self._tick()
            elif path == "/__proxy/realism" and method == "POST":
                self.configure(cfg)
            elif path == "/__proxy/realism/force" and method == "POST":
                self.force(cfg)
            elif path == "/__proxy/realism/reset" and method == "POST":
                self.reset()
            else:
                return 404, {"error": f"no such proxy endpoint: {method} {path}"}
        except (ValueError, TypeError, KeyError) as exc:
            return 400, {"error": str(exc)}
        return 200, self.snapshot()

    def configure(self, cfg: dict) -> None:
        unknown = set(cfg) - {"enabled", "time_scale", "toggles", "expire_credentials",
                              "credentials_expire_in", "client_token_memory", "table", "reset",
                              "route53_page_size"}
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}")
        with self.lock:
            if "time_scale" in cfg:
                scale = float(cfg["time_scale"])
                if scale < 0:
                    raise ValueError("time_scale must be >= 0")
                self.clock.set_scale(scale)
            if "enabled" in cfg:
                self.enabled = bool(cfg["enabled"])
            for k, v in (cfg.get("toggles") or {}).items():
                if k not in DEFAULT_TOGGLES:
                    raise ValueError(f"unknown toggle {k!r}; known: {sorted(DEFAULT_TOGGLES)}")
                self.toggles[k] = bool(v)
            if "expire_credentials" in cfg:
                self.creds_expire_at = time.monotonic() if cfg["expire_credentials"] else None
            if "credentials_expire_in" in cfg:
                v = cfg["credentials_expire_in"]
                self.creds_expire_at = None if v is None else time.monotonic() + float(v)
            if "client_token_memory" in cfg:
                self.token_memory = float(cfg["client_token_memory"])
            if "route53_page_size" in cfg:
                size = int(cfg["route53_page_size"])
                if not 1 <= size <= 300:
                    raise ValueError("route53_page_size must be 1 to 300")
                self.route53_page = size
            if "table" in cfg:
                self.overrides = cfg["table"] or {}
                if not isinstance(self.overrides, dict):
                    raise ValueError("table must be a JSON object")
                self.table = deep_merge(self.base_table, self.overrides)
                if "client_token_memory" not in cfg:
                    self.token_memory = float(self.table["consistency"]["client_token_memory"])
            if cfg.get("reset"):
                self.reset()

    def force(self, cfg: dict) -> None:
        service = cfg.get("service")
        ident = cfg.get("id")
        if not ident:
            raise ValueError("force needs an id")
        state = cfg.get("state")
        region = cfg.get("region")
        with self.lock:
            if service == "rds" or service == "ec2":
                kind = {"rds": "rds_instance", "ec2": "ec2_instance"}[service]
                if service == "rds" and cfg.get("kind") in ("snapshot", "db_snapshot", "rds_snapshot"):
                    kind = "rds_snapshot"
                recs = self._matching(kind, ident, region)
                for rec in recs:
                    rec.lifecycle = None if state is None else Lifecycle("forced", [], 0.0, str(state),
                                                                         forced=True)
                    rec.created = None
            elif service == "ecs":
                cluster = cfg.get("cluster") or "default"
                _, reg, key = self._service_key(region or "*", cluster, ident)
                recs = self._matching("ecs_service", key, region)
                for rec in recs:
                    if state in (None, "COMPLETED", "ACTIVE"):
                        rec.extra["failed"] = None
                    elif str(state).upper() == "FAILED":
                        name = key.split("/", 1)[1]
                        now = self.clock.now()
                        dep = rec.extra.get("deployment")
                        rec.extra["failed"] = {
                            "id": _rid(), "at": time.time(), "given": bool(cfg.get("message")),
                            "message": cfg.get("message")
                            or f"(service {name}) deployment failed: tasks failed to start.",
                            # 22: a deployment that has completed does not fail: the next one will.
                            "armed": bool(dep) and now >= dep["start"] + dep["duration"]}
                        self._arm_failure(rec, now)
                    else:
                        raise ValueError("an ECS service can be forced to FAILED or cleared (null)")
                    rec.created = None
            else:
                raise ValueError("service must be rds, ec2 or ecs")

    def _matching(self, kind: str, ident: str, region: str | None) -> list[Record]:
        if region:
            return [self._get_or_new(kind, region, ident)]
        recs = [r for (k, _, i), r in self.records.items() if k == kind and i == ident]
        return recs or [self._get_or_new(kind, "*", ident)]

    def snapshot(self) -> dict:
        with self.lock:
            now = self.clock.now()
            resources = []
            for (kind, region, ident), rec in sorted(self.records.items()):
                lc = rec.lifecycle
                item = {"kind": kind, "region": region, "id": ident, "arn": rec.arn,
                        "state": None, "transition": None, "forced": False}
                if lc is not None:
                    st = lc.state(now)
                    item.update(state=None if st == GONE else st, gone=st == GONE,
                                transition=lc.name, forced=lc.forced,
                                active=lc.active(now),
                                remaining_seconds=None if lc.forced else
                                round(self.clock.real_seconds(max(0.0, lc.end() - now)), 3))
                if self._in_window(rec, now):
                    item["not_found_window"] = True
                if kind == "rds_instance":
                    pending = {tag: ("maintenance window" if it["until"] is None else
                                     round(self.clock.real_seconds(max(0.0, it["until"] - now)), 3))
                               for tag, it in (rec.extra.get("pending") or {}).items()
                               if it["until"] is None or now < it["until"]}
                    if pending:
                        item["pending_modified_values"] = pending
                    if rec.extra.get("param_status"):
                        item["parameter_apply_status"] = self._param_status(rec.extra["param_status"], now)
                if kind == "ecs_service":
                    dep = rec.extra.get("deployment")
                    item["deployment"] = None if not dep else {
                        "id": dep["id"], "taskDefinition": dep["taskDefinition"],
                        "rollout": "FAILED" if (rec.extra.get("failed") or {}).get("armed") is False else
                        ("IN_PROGRESS" if now < dep["start"] + dep["duration"] else "COMPLETED")}
                resources.append(item)
            tokens = []
            for (region, token), e in self.tokens.items():
                ends = e["terminated"]
                expires = None
                if len(ends) >= len(e["instance_ids"]) and ends:
                    expires = round(max(ends.values()) + self.token_memory - time.monotonic(), 3)
                tokens.append({"region": region, "token": token, "instance_ids": e["instance_ids"],
                               "replays": e["replays"], "expires_in_seconds": expires})
            creds = {"expired": self.creds_expire_at is not None and time.monotonic() >= self.creds_expire_at,
                     "expires_in_seconds": None if self.creds_expire_at is None else
                     round(self.creds_expire_at - time.monotonic(), 3)}
            return {
                "enabled": self.enabled,
                "time_scale": self.clock.scale,
                "toggles": dict(self.toggles),
                "credentials": creds,
                "client_token_memory_seconds": self.token_memory,
                "route53_page_size": self.route53_page,
                "resources": resources,
                "client_tokens": tokens,
                "deferred": [{"label": d["label"],
                              "due_in_seconds": round(self.clock.real_seconds(max(0.0, d["due"] - now)), 3)}
                             for d in self.deferred],
                "counters": dict(self.counters),
                "table": self.table,
                "table_overrides": self.overrides,
            }

    # --- 18: Route 53 change batches --------------------------------------------------------------

    def _route53_record(self, call: Call, zone: str, name: str, rtype: str):
        """The record set of that name and type as moto holds it: (ttl, sorted values) or None."""
        query = urllib.parse.urlencode({"name": name, "type": rtype, "maxitems": "1"})
        headers = [(k, v) for k, v in call.headers if k.lower() not in ("content-type", "content-length")]
        look = Call("route53", "rest", "ListResourceRecordSets", "GET",
                    f"/2013-04-01/hostedzone/{zone}/rrset?{query}", headers, b"")
        status, _, body = self._send(look)
        if status != 200:
            return None
        ns = {"r": ROUTE53_NS}
        found = ET.fromstring(body).find("r:ResourceRecordSets/r:ResourceRecordSet", ns)
        if found is None:
            return None
        same = (found.findtext("r:Name", "", ns).rstrip(".").lower() == name.rstrip(".").lower()
                and found.findtext("r:Type", "", ns) == rtype)
        if not same:
            return None
        values = sorted(v.text or "" for v in found.findall("r:ResourceRecords/r:ResourceRecord/r:Value", ns))
        return found.findtext("r:TTL", "", ns), values

    def route53_change_record_sets(self, call: Call) -> Response | None:
        # https://docs.aws.amazon.com/Route53/latest/APIReference/API_Change.html: CREATE "Creates
        # a resource record set that has the specified values"; DELETE "Deletes an existing
        # resource record set that has the specified values" (all of them, TTL included).
        # API_ChangeResourceRecordSets.html: a batch is applied all or nothing; an invalid one is
        # refused with InvalidChangeBatch.
        zone = RRSET_PATH.match(call.path.split("?")[0]).group(1)
        ns = {"r": ROUTE53_NS}
        try:
            changes = ET.fromstring(call.body).findall(".//r:Change", ns)
        except ET.ParseError:
            return None
        problems = []
        for change in changes:
            action = change.findtext("r:Action", "", ns)
            rrset = change.find("r:ResourceRecordSet", ns)
            if rrset is None:
                continue
            name, rtype = rrset.findtext("r:Name", "", ns), rrset.findtext("r:Type", "", ns)
            shown = f"[name='{name.rstrip('.').lower()}.', type='{rtype}']"
            existing = self._route53_record(call, zone, name, rtype)
            if action == "CREATE" and existing is not None:
                problems.append(f"Tried to create resource record set {shown} but it already exists")
            elif action == "DELETE":
                asked = (rrset.findtext("r:TTL", "", ns),
                         sorted(v.text or "" for v in rrset.findall("r:ResourceRecords/r:ResourceRecord/r:Value", ns)))
                if existing is None:
                    problems.append(f"Tried to delete resource record set {shown} but it was not found")
                elif existing != asked:
                    problems.append(f"Tried to delete resource record set {shown} but the values "
                                    "provided do not match the current values")
        if not problems:
            return None
        self.log(f"realism: ChangeResourceRecordSets refused: {problems}")
        message = "[" + ", ".join(problems) + "]"
        body = (f'<?xml version="1.0"?>\n<ErrorResponse xmlns="{ROUTE53_NS}"><Error><Type>Sender</Type>'
                f"<Code>InvalidChangeBatch</Code><Message>{_esc(message)}</Message></Error>"
                f"<RequestId>{_rid()}</RequestId></ErrorResponse>").encode()
        return self._refuse((400, [("Content-Type", "text/xml")], body))


def _route53_list_in_pages(self: "Realism", call: Call) -> Response | None:
    """24: ListResourceRecordSets in small pages, with IsTruncated and NextRecordName/Type."""
    # https://docs.aws.amazon.com/Route53/latest/APIReference/API_ListResourceRecordSets.html:
    # "If the results were truncated, you can make a follow-up paginated request using the
    # NextRecordName element" (and NextRecordType, NextRecordIdentifier). moto pages the same
    # way with MaxItems; it holds no set identifiers, so sends no NextRecordIdentifier.
    if call.method != "GET":
        return None
    base, _, query = call.path.partition("?")
    params = urllib.parse.parse_qsl(query, keep_blank_values=True)
    asked = next((int(v) for k, v in params if k == "maxitems" and v.isdigit()), 300)
    if asked <= self.route53_page:
        return None
    params = [(k, v) for k, v in params if k != "maxitems"] + [("maxitems", str(self.route53_page))]
    paged = Call(call.service, call.protocol, call.operation, "GET",
                 base + "?" + urllib.parse.urlencode(params), call.headers, b"")
    with self.lock:
        self.counters["rewritten"] += 1
    return self._send(paged)


# (service, operation) -> (toggle that switches it off, handler)
HANDLERS: dict[tuple[str, str], tuple[str | None, Callable]] = {
    ("rds", "DescribeDBInstances"): ("rds", Realism.rds_describe_instances),
    ("rds", "DescribeDBSnapshots"): ("rds", Realism.rds_describe_snapshots),
    ("rds", "CreateDBSnapshot"): ("rds", Realism.rds_create_snapshot),
    ("rds", "CreateDBInstance"): ("rds", Realism.rds_create_instance),
    ("rds", "RestoreDBInstanceFromDBSnapshot"): ("rds", Realism.rds_create_instance),
    ("rds", "ModifyDBInstance"): ("rds", Realism.rds_modify_instance),
    ("rds", "StopDBInstance"): ("rds", Realism.rds_stop_instance),
    ("rds", "StartDBInstance"): ("rds", Realism.rds_start_instance),
    ("rds", "RebootDBInstance"): ("rds", Realism.rds_reboot_instance),
    ("rds", "DeleteDBInstance"): ("rds", Realism.rds_delete_instance),
    ("rds", "DeleteDBSnapshot"): ("rds", Realism.rds_delete_snapshot),
    ("ec2", "RunInstances"): (None, Realism.ec2_run_instances),  # "ec2" or "client_tokens"
    ("ec2", "DescribeInstances"): ("ec2", Realism.ec2_describe_instances),
    ("ec2", "TerminateInstances"): ("ec2", Realism.ec2_terminate_instances),
    ("ec2", "StopInstances"): ("ec2", Realism.ec2_stop_instances),
    ("ec2", "StartInstances"): ("ec2", Realism.ec2_start_instances),
    ("ec2", "ModifyInstanceAttribute"): ("ec2", Realism.ec2_modify_attribute),
    ("ec2", "DescribeInstanceAttribute"): ("ec2", Realism.ec2_by_instance_id),
    ("ec2", "CreateSecurityGroup"): (None, Realism.ec2_create_security_group),
    ("ec2", "DeleteSecurityGroup"): ("sg_dependencies", Realism.ec2_delete_security_group),
    ("ec2", "DescribeSecurityGroups"): ("ec2_not_found", Realism.ec2_security_group_by_id),
    ("ec2", "AuthorizeSecurityGroupIngress"): ("ec2_not_found", Realism.ec2_security_group_by_id),
    ("ec2", "AuthorizeSecurityGroupEgress"): ("ec2_not_found", Realism.ec2_security_group_by_id),
    ("ec2", "RevokeSecurityGroupIngress"): ("ec2_not_found", Realism.ec2_security_group_by_id),
    ("ec2", "RevokeSecurityGroupEgress"): ("ec2_not_found", Realism.ec2_security_group_by_id),
    ("ec2", "CreateTags"): ("ec2", Realism.ec2_by_instance_id),
    ("ec2", "DeleteTags"): ("ec2", Realism.ec2_by_instance_id),
    ("ecs", "CreateCluster"): ("ecs", Realism.ecs_create_cluster),
    ("ecs", "DeleteCluster"): ("ecs", Realism.ecs_delete_cluster),
    ("ecs", "RegisterTaskDefinition"): ("ecs", Realism.ecs_register_task_definition),
    ("ecs", "DescribeTaskDefinition"): ("ecs", Realism.ecs_describe_task_definition),
    ("ecs", "DeleteTaskDefinitions"): ("ecs", Realism.ecs_delete_task_definitions),
    ("ecs", "CreateService"): ("ecs", Realism.ecs_create_service),
    ("ecs", "UpdateService"): ("ecs", Realism.ecs_update_service),
    ("ecs", "DeleteService"): ("ecs", Realism.ecs_delete_service),
    ("ecs", "DescribeServices"): ("ecs", Realism.ecs_describe_services),
    ("ecs", "ListServices"): ("ecs", Realism.ecs_list_services),
    ("tagging", "GetResources"): ("tagging_lag", Realism.tagging_get_resources),
    ("route53", "ChangeResourceRecordSets"): ("route53", Realism.route53_change_record_sets),
    ("route53", "ListResourceRecordSets"): ("route53", _route53_list_in_pages),
}
