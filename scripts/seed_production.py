#!/usr/bin/env python3
"""Create a fake production in the AWS emulator (moto), matching environments/production.toml.

    python3 scripts/seed_production.py --endpoint http://127.0.0.1:PORT [--region eu-west-1]

What rehearsal reads from production, and what environments/prerelease.toml copies, is made here:

- VPC 10.0.0.0/16 (Name=production-vpc) with subnets 10.0.1.0/24 (production-subnet) and
  10.0.2.0/24 (production-subnet-b, in a second availability zone, because a DB subnet group
  must span two zones);
- a way out for those subnets, as a private subnet has it on AWS: an internet gateway
  (production-igw), a public subnet 10.0.0.0/24 (production-public) routing 0.0.0.0/0 to it, a
  NAT gateway there (production-nat, with an Elastic IP), and a route table (production-private)
  for production-subnet and production-subnet-b sending 0.0.0.0/0 to the NAT gateway, so
  Fargate tasks there (the service below, pre-release's with ``assign_public_ip = false``) can
  pull their image;
- security groups ``production-server`` and ``production-db``;
- EC2 instance tagged Name=production-server, Environment=production (t3.medium, moto's
  built-in AMI ami-04681a1dbd79675a5) in production-subnet and production-server;
- DB subnet group ``production-db-subnets`` and PostgreSQL RDS instance ``production-db``
  (db.t3.medium, deletion protection on, in production-db, tagged Environment=production);
- private hosted zone ``example.com`` in production's VPC (Route 53), where the pre-release
  environment writes its name (``prerelease.example.com``), holding production's own record
  ``app.example.com`` (an A record to the production server's address);
- ECS cluster ``production``, task definition family ``server`` as a team would run it on
  Fargate (awsvpc, 512 CPU units / 1024 MiB, execution role and task role, one container
  ``server``: example/openchs-server:3.0.0 on port 8080, DATABASE_HOST and MAIL_ENABLED=true in
  its environment, the database password as a secret from SSM Parameter Store, awslogs logging
  to /ecs/production-server, a health check, a ulimit and a mounted volume) and service ``server`` (desired count 1, FARGATE, in
  production-subnet with production-server's security group).

Idempotent: everything is looked up first and only what is missing is created, so running it
twice leaves one of each. Prints one JSON object on stdout with the ids, and which were created
by this run. Only talks to a loopback endpoint: it never touches a real AWS account.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sys
import urllib.parse

PREFERRED_AMI = "ami-04681a1dbd79675a5"
ENV_TAGS = [{"Key": "Environment", "Value": "production"}]

VPC_CIDR = "10.0.0.0/16"
SUBNETS = [
    # (cidr, Name tag, availability zone suffix)
    ("10.0.1.0/24", "production-subnet", "a"),
    ("10.0.2.0/24", "production-subnet-b", "b"),
]
PUBLIC_SUBNET = ("10.0.0.0/24", "production-public", "a")
SERVER_SG = "production-server"
DB_SG = "production-db"
INSTANCE_NAME = "production-server"
INSTANCE_TYPE = "t3.medium"
DB_SUBNET_GROUP = "production-db-subnets"
DB_IDENTIFIER = "production-db"
DB_CLASS = "db.t3.medium"
# Production's own parameter and option groups: a restore that leaves them out runs on the
# engine's defaults, and is not production's database.
DB_PARAMETER_GROUP = "production-postgres"
DB_OPTION_GROUP = "production-postgres-options"
CLUSTER = "production"
FAMILY = "server"
CONTAINER = "server"
IMAGE = "example/openchs-server:3.0.0"
SERVICE = "server"
ZONE = "example.com"

LIVE_INSTANCE_STATES = ["pending", "running", "stopping", "stopped"]


class SeedError(Exception):
    pass


def log(msg: str) -> None:
    print(f"seed: {msg}", file=sys.stderr)


def name_tags(name: str) -> list[dict]:
    return [{"Key": "Name", "Value": name}] + ENV_TAGS


def check_loopback(endpoint: str) -> None:
    parsed = urllib.parse.urlparse(endpoint)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise SeedError(f"--endpoint must be an http(s) URL, got {endpoint!r}")
    host = parsed.hostname
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise SeedError(
        f"refusing endpoint {endpoint!r}: this script only seeds a local emulator on a loopback "
        "address (127.0.0.1, localhost, ::1), never a real AWS account"
    )


class Seeder:
    def __init__(self, endpoint: str, region: str):
        import boto3
        from botocore.config import Config

        # Retries so that seeding also works through scripts/fault_proxy.py.
        config = Config(retries={"max_attempts": 10, "mode": "standard"})
        kw = dict(endpoint_url=endpoint, region_name=region, config=config)
        self.region = region
        self.ec2 = boto3.client("ec2", **kw)
        self.rds = boto3.client("rds", **kw)
        self.ecs = boto3.client("ecs", **kw)
        self.route53 = boto3.client("route53", **kw)
        self.created: list[str] = []
        self.notes: list[str] = []

    def _created(self, what: str) -> None:
        self.created.append(what)
        log(f"created {what}")

    # --- EC2 network --------------------------------------------------------------------------

    def vpc(self) -> str:
        vpcs = self.ec2.describe_vpcs(
            Filters=[{"Name": "tag:Name", "Values": ["production-vpc"]}]
        )["Vpcs"]
        if vpcs:
            if len(vpcs) > 1:
                raise SeedError(f"{len(vpcs)} VPCs are tagged Name=production-vpc; expected one")
            return vpcs[0]["VpcId"]
        vpc_id = self.ec2.create_vpc(
            CidrBlock=VPC_CIDR,
            TagSpecifications=[{"ResourceType": "vpc", "Tags": name_tags("production-vpc")}],
        )["Vpc"]["VpcId"]
        self._created(f"vpc {vpc_id}")
        return vpc_id

    def subnet(self, vpc_id: str, cidr: str, name: str, az_suffix: str) -> str:
        found = self.ec2.describe_subnets(
            Filters=[
                {"Name": "vpc-id", "Values": [vpc_id]},
                {"Name": "cidr-block", "Values": [cidr]},
            ]
        )["Subnets"]
        if found:
            return found[0]["SubnetId"]
        subnet_id = self.ec2.create_subnet(
            VpcId=vpc_id,
            CidrBlock=cidr,
            AvailabilityZone=f"{self.region}{az_suffix}",
            TagSpecifications=[{"ResourceType": "subnet", "Tags": name_tags(name)}],
        )["Subnet"]["SubnetId"]
        self._created(f"subnet {subnet_id} ({name}, {cidr})")
        return subnet_id

    def _named(self, describe, key: str, name: str) -> list[dict]:
        return describe(Filters=[{"Name": "tag:Name", "Values": [name]}])[key]

    def internet_gateway(self, vpc_id: str) -> str:
        found = self._named(self.ec2.describe_internet_gateways, "InternetGateways", "production-igw")
        if found:
            return found[0]["InternetGatewayId"]
        igw_id = self.ec2.create_internet_gateway(
            TagSpecifications=[{"ResourceType": "internet-gateway", "Tags": name_tags("production-igw")}]
        )["InternetGateway"]["InternetGatewayId"]
        self.ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
        self._created(f"internet gateway {igw_id}")
        return igw_id

    def route_table(self, vpc_id: str, name: str, subnet_ids: list[str], target: dict) -> str:
        """A route table of that name, associated with the subnets, sending 0.0.0.0/0 to the
        target (``{"GatewayId": igw}`` or ``{"NatGatewayId": nat}``)."""
        found = self._named(self.ec2.describe_route_tables, "RouteTables", name)
        if found:
            return found[0]["RouteTableId"]
        table_id = self.ec2.create_route_table(
            VpcId=vpc_id,
            TagSpecifications=[{"ResourceType": "route-table", "Tags": name_tags(name)}],
        )["RouteTable"]["RouteTableId"]
        for subnet_id in subnet_ids:
            self.ec2.associate_route_table(RouteTableId=table_id, SubnetId=subnet_id)
        self.ec2.create_route(RouteTableId=table_id, DestinationCidrBlock="0.0.0.0/0", **target)
        self._created(f"route table {table_id} ({name}, 0.0.0.0/0 to {list(target.values())[0]})")
        return table_id

    def nat_gateway(self, public_subnet_id: str) -> str:
        found = [
            n
            for n in self._named(self.ec2.describe_nat_gateways, "NatGateways", "production-nat")
            if n.get("State") in ("pending", "available")
        ]
        if found:
            return found[0]["NatGatewayId"]
        allocation = self.ec2.allocate_address(Domain="vpc")["AllocationId"]
        nat_id = self.ec2.create_nat_gateway(
            SubnetId=public_subnet_id,
            AllocationId=allocation,
            TagSpecifications=[{"ResourceType": "natgateway", "Tags": name_tags("production-nat")}],
        )["NatGateway"]["NatGatewayId"]
        self._created(f"nat gateway {nat_id}")
        return nat_id

    def egress(self, vpc_id: str, private_subnet_ids: list[str]) -> dict:
        """Private subnets reach the internet through a NAT gateway in a public subnet."""
        igw_id = self.internet_gateway(vpc_id)
        cidr, name, az = PUBLIC_SUBNET
        public_id = self.subnet(vpc_id, cidr, name, az)
        self.route_table(vpc_id, "production-public", [public_id], {"GatewayId": igw_id})
        nat_id = self.nat_gateway(public_id)
        private_table = self.route_table(
            vpc_id, "production-private", private_subnet_ids, {"NatGatewayId": nat_id}
        )
        return {"internet_gateway_id": igw_id, "nat_gateway_id": nat_id,
                "private_route_table_id": private_table}

    def security_group(self, vpc_id: str, name: str, description: str) -> str:
        found = self.ec2.describe_security_groups(
            Filters=[
                {"Name": "vpc-id", "Values": [vpc_id]},
                {"Name": "group-name", "Values": [name]},
            ]
        )["SecurityGroups"]
        if found:
            return found[0]["GroupId"]
        group_id = self.ec2.create_security_group(
            GroupName=name,
            Description=description,
            VpcId=vpc_id,
            TagSpecifications=[{"ResourceType": "security-group", "Tags": name_tags(name)}],
        )["GroupId"]
        self._created(f"security group {group_id} ({name})")
        return group_id

    def allow_server_to_db(self, server_sg: str, db_sg: str) -> None:
        """production-db accepts PostgreSQL from production-server (once)."""
        group = self.ec2.describe_security_groups(GroupIds=[db_sg])["SecurityGroups"][0]
        for perm in group.get("IpPermissions", []):
            if perm.get("FromPort") == 5432 and any(
                pair.get("GroupId") == server_sg for pair in perm.get("UserIdGroupPairs", [])
            ):
                return
        self.ec2.authorize_security_group_ingress(
            GroupId=db_sg,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 5432,
                    "ToPort": 5432,
                    "UserIdGroupPairs": [{"GroupId": server_sg}],
                }
            ],
        )
        self._created(f"ingress rule {db_sg} <- {server_sg} tcp/5432")

    # --- Route 53 ---------------------------------------------------------------------------

    def hosted_zone(self, vpc_id: str) -> str:
        """The private zone example.com in production's VPC, with production's app record."""
        zones = self.route53.list_hosted_zones_by_name(DNSName=ZONE)["HostedZones"]
        found = [z for z in zones if z["Name"].rstrip(".") == ZONE]
        if found:
            zone_id = found[0]["Id"].split("/")[-1]
        else:
            zone_id = self.route53.create_hosted_zone(
                Name=ZONE,
                CallerReference=f"rehearsal-seed-{ZONE}",
                HostedZoneConfig={"Comment": "production", "PrivateZone": True},
                VPC={"VPCRegion": self.region, "VPCId": vpc_id},
            )["HostedZone"]["Id"].split("/")[-1]
            self._created(f"hosted zone {zone_id} ({ZONE})")
        return zone_id

    def app_record(self, zone_id: str, address: str) -> None:
        name = f"app.{ZONE}"
        sets = self.route53.list_resource_record_sets(
            HostedZoneId=zone_id, StartRecordName=name, StartRecordType="A", MaxItems="1"
        )["ResourceRecordSets"]
        if any(s["Name"].rstrip(".") == name and s["Type"] == "A" for s in sets):
            return
        self.route53.change_resource_record_sets(
            HostedZoneId=zone_id,
            ChangeBatch={
                "Changes": [
                    {
                        "Action": "CREATE",
                        "ResourceRecordSet": {
                            "Name": name,
                            "Type": "A",
                            "TTL": 300,
                            "ResourceRecords": [{"Value": address}],
                        },
                    }
                ]
            },
        )
        self._created(f"record {name} A {address}")

    # --- EC2 instance -------------------------------------------------------------------------

    def ami(self) -> str:
        try:
            images = self.ec2.describe_images(ImageIds=[PREFERRED_AMI])["Images"]
        except self.ec2.exceptions.ClientError as exc:
            if "InvalidAMIID" not in exc.response.get("Error", {}).get("Code", ""):
                raise
            images = []
        if images:
            return PREFERRED_AMI
        images = self.ec2.describe_images(Owners=["amazon"])["Images"]
        if not images:
            raise SeedError(
                f"the emulator has neither {PREFERRED_AMI} nor any built-in Amazon AMI in {self.region}"
            )
        chosen = sorted(images, key=lambda i: i["ImageId"])[0]["ImageId"]
        note = f"{PREFERRED_AMI} does not exist in {self.region}; using built-in AMI {chosen} instead"
        log(note)
        self.notes.append(note)
        return chosen

    def instance(self, subnet_id: str, sg_id: str, ami_id: str) -> str:
        reservations = self.ec2.describe_instances(
            Filters=[
                {"Name": "tag:Name", "Values": [INSTANCE_NAME]},
                {"Name": "instance-state-name", "Values": LIVE_INSTANCE_STATES},
            ]
        )["Reservations"]
        instances = [i for r in reservations for i in r["Instances"]]
        if instances:
            if len(instances) > 1:
                ids = ", ".join(i["InstanceId"] for i in instances)
                raise SeedError(f"several live instances are tagged Name={INSTANCE_NAME}: {ids}")
            return instances[0]["InstanceId"]
        instance_id = self.ec2.run_instances(
            ImageId=ami_id,
            InstanceType=INSTANCE_TYPE,
            MinCount=1,
            MaxCount=1,
            SubnetId=subnet_id,
            SecurityGroupIds=[sg_id],
            TagSpecifications=[
                {"ResourceType": "instance", "Tags": name_tags(INSTANCE_NAME)},
                {"ResourceType": "volume", "Tags": name_tags(INSTANCE_NAME)},
            ],
        )["Instances"][0]["InstanceId"]
        self._created(f"instance {instance_id} ({INSTANCE_NAME})")
        return instance_id

    # --- RDS ----------------------------------------------------------------------------------

    def db_subnet_group(self, subnet_ids: list[str]) -> str:
        try:
            self.rds.describe_db_subnet_groups(DBSubnetGroupName=DB_SUBNET_GROUP)
            return DB_SUBNET_GROUP
        except self.rds.exceptions.DBSubnetGroupNotFoundFault:
            pass
        self.rds.create_db_subnet_group(
            DBSubnetGroupName=DB_SUBNET_GROUP,
            DBSubnetGroupDescription="production database subnets",
            SubnetIds=subnet_ids,
            Tags=name_tags(DB_SUBNET_GROUP),
        )
        self._created(f"db subnet group {DB_SUBNET_GROUP}")
        return DB_SUBNET_GROUP

    def db_groups(self) -> None:
        try:
            self.rds.create_db_parameter_group(
                DBParameterGroupName=DB_PARAMETER_GROUP, DBParameterGroupFamily="postgres10",
                Description="production's PostgreSQL settings")
            self._created(f"db parameter group {DB_PARAMETER_GROUP}")
        except self.rds.exceptions.DBParameterGroupAlreadyExistsFault:
            pass
        try:
            self.rds.create_option_group(
                OptionGroupName=DB_OPTION_GROUP, EngineName="postgres", MajorEngineVersion="10",
                OptionGroupDescription="production's PostgreSQL options")
            self._created(f"option group {DB_OPTION_GROUP}")
        except self.rds.exceptions.OptionGroupAlreadyExistsFault:
            pass

    def db_instance(self, subnet_group: str, sg_id: str) -> dict:
        try:
            return self.rds.describe_db_instances(DBInstanceIdentifier=DB_IDENTIFIER)[
                "DBInstances"
            ][0]
        except self.rds.exceptions.DBInstanceNotFoundFault:
            pass
        self.db_groups()
        db = self.rds.create_db_instance(
            DBInstanceIdentifier=DB_IDENTIFIER,
            DBParameterGroupName=DB_PARAMETER_GROUP,
            OptionGroupName=DB_OPTION_GROUP,
            DBInstanceClass=DB_CLASS,
            Engine="postgres",
            DBName="openchs",
            MasterUsername="openchs",
            MasterUserPassword="not-a-real-password",
            AllocatedStorage=20,
            DBSubnetGroupName=subnet_group,
            VpcSecurityGroupIds=[sg_id],
            BackupRetentionPeriod=7,
            MultiAZ=False,
            PubliclyAccessible=False,
            DeletionProtection=True,
            Tags=name_tags(DB_IDENTIFIER),
        )["DBInstance"]
        self._created(f"db instance {DB_IDENTIFIER}")
        return db

    # --- ECS ----------------------------------------------------------------------------------

    def cluster(self) -> str:
        clusters = self.ecs.describe_clusters(clusters=[CLUSTER])["clusters"]
        for c in clusters:
            if c.get("status") == "ACTIVE":
                return c["clusterArn"]
        arn = self.ecs.create_cluster(
            clusterName=CLUSTER, tags=[{"key": "Environment", "value": "production"}]
        )["cluster"]["clusterArn"]
        self._created(f"ecs cluster {arn}")
        return arn

    def task_definition(self) -> str:
        try:
            td = self.ecs.describe_task_definition(taskDefinition=FAMILY)["taskDefinition"]
            if td.get("status") == "ACTIVE":
                return td["taskDefinitionArn"]
        except self.ecs.exceptions.ClientException:
            pass  # no such family yet
        account = "123456789012"  # moto's account
        role = f"arn:aws:iam::{account}:role"
        arn = self.ecs.register_task_definition(
            family=FAMILY,
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            memory="1024",
            cpu="512",
            executionRoleArn=f"{role}/production-server-execution",
            taskRoleArn=f"{role}/production-server-task",
            runtimePlatform={"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
            volumes=[{"name": "uploads"}],
            containerDefinitions=[
                {
                    "name": CONTAINER,
                    "image": IMAGE,
                    "essential": True,
                    "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
                    "environment": [
                        {"name": "DATABASE_HOST", "value": f"{DB_IDENTIFIER}.production.internal"},
                        {"name": "JAVA_OPTS", "value": "-Xmx768m"},
                        # It mails real users: what a clone must not keep.
                        {"name": "MAIL_ENABLED", "value": "true"},
                    ],
                    "secrets": [{
                        "name": "DATABASE_PASSWORD",
                        "valueFrom": f"arn:aws:ssm:{self.region}:{account}:parameter/production/db-password",
                    }],
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {"awslogs-group": "/ecs/production-server",
                                    "awslogs-region": self.region,
                                    "awslogs-stream-prefix": "server"},
                    },
                    "healthCheck": {
                        "command": ["CMD-SHELL", "curl -f http://localhost:8080/ping || exit 1"],
                        "interval": 30, "timeout": 5, "retries": 3, "startPeriod": 120,
                    },
                    "mountPoints": [{"sourceVolume": "uploads", "containerPath": "/var/uploads",
                                     "readOnly": False}],
                    "ulimits": [{"name": "nofile", "softLimit": 65536, "hardLimit": 65536}],
                }
            ],
            tags=[{"key": "Environment", "value": "production"}],
        )["taskDefinition"]["taskDefinitionArn"]
        self._created(f"task definition {arn}")
        return arn

    def service(self, cluster_arn: str, task_definition_arn: str, subnet_id: str,
                sg_id: str) -> str:
        services = self.ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"]
        for s in services:
            if s.get("status") == "ACTIVE":
                return s["serviceArn"]
        arn = self.ecs.create_service(
            cluster=CLUSTER,
            serviceName=SERVICE,
            taskDefinition=task_definition_arn,
            desiredCount=1,
            launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {
                "subnets": [subnet_id], "securityGroups": [sg_id], "assignPublicIp": "DISABLED"}},
            tags=[{"key": "Environment", "value": "production"}],
        )["service"]["serviceArn"]
        self._created(f"ecs service {arn}")
        return arn

    # --- all ----------------------------------------------------------------------------------

    def run(self) -> dict:
        vpc_id = self.vpc()
        subnet_ids = [self.subnet(vpc_id, cidr, name, az) for cidr, name, az in SUBNETS]
        egress = self.egress(vpc_id, subnet_ids)
        server_sg = self.security_group(vpc_id, SERVER_SG, "production server")
        db_sg = self.security_group(vpc_id, DB_SG, "production database")
        self.allow_server_to_db(server_sg, db_sg)
        ami_id = self.ami()
        instance_id = self.instance(subnet_ids[0], server_sg, ami_id)
        zone_id = self.hosted_zone(vpc_id)
        reservations = self.ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
        self.app_record(zone_id, reservations[0]["Instances"][0].get("PrivateIpAddress", "10.0.1.10"))
        subnet_group = self.db_subnet_group(subnet_ids)
        db = self.db_instance(subnet_group, db_sg)
        cluster_arn = self.cluster()
        td_arn = self.task_definition()
        service_arn = self.service(cluster_arn, td_arn, subnet_ids[0], server_sg)
        return {
            "region": self.region,
            "vpc_id": vpc_id,
            "subnet_id": subnet_ids[0],
            "subnet_ids": subnet_ids,
            **egress,
            "security_groups": {"server": server_sg, "db": db_sg},
            "ami_id": ami_id,
            "instance_id": instance_id,
            "db_identifier": db["DBInstanceIdentifier"],
            "db_arn": db.get("DBInstanceArn"),
            "db_subnet_group": subnet_group,
            "cluster_arn": cluster_arn,
            "task_definition_arn": td_arn,
            "service_arn": service_arn,
            "hosted_zone_id": zone_id,
            "created": self.created,
            "notes": self.notes,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Create a fake production (matching environments/production.toml) in a local AWS emulator."
    )
    parser.add_argument("--endpoint", required=True, help="emulator URL, e.g. http://127.0.0.1:5000")
    parser.add_argument("--region", default="eu-west-1", help="AWS region (default: eu-west-1)")
    args = parser.parse_args(argv)

    try:
        check_loopback(args.endpoint)
    except SeedError as exc:
        print(f"seed: error: {exc}", file=sys.stderr)
        return 2

    # Dummy credentials: moto accepts any, botocore insists on some.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    # Never pick up a profile or IMDS that would point somewhere real.
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

    try:
        import boto3  # noqa: F401
    except ImportError:
        print(
            "seed: error: boto3 is not installed; run 'scripts/emulator.sh install' "
            "(installs requirements-emulator.txt)",
            file=sys.stderr,
        )
        return 2

    from botocore.exceptions import BotoCoreError, ClientError

    try:
        result = Seeder(args.endpoint, args.region).run()
    except SeedError as exc:
        print(f"seed: error: {exc}", file=sys.stderr)
        return 1
    except ClientError as exc:
        err = exc.response.get("Error", {})
        print(
            f"seed: error: {exc.operation_name} failed: {err.get('Code')}: {err.get('Message')}",
            file=sys.stderr,
        )
        return 1
    except BotoCoreError as exc:
        print(f"seed: error: cannot talk to {args.endpoint}: {exc}", file=sys.stderr)
        return 1

    if not result["created"]:
        log("production already seeded; nothing created")
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
