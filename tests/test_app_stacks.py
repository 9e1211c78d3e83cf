"""Invariants of the database, cluster, load-balancer and service stacks: the seed's values are
in build/, and each hardening is pinned (these tests fail if it is reverted)."""

from __future__ import annotations

import json
import re

import pytest
from cfn_flip import load_yaml

from enrollcfn.compiler import compile
from enrollcfn.config import Config, load
from enrollcfn.errors import ConfigErrors
from enrollcfn.templates._launch_scopes import unscoped
from tests.conftest import resources_of


def one(template: dict, type_: str) -> dict:
    (resource,) = resources_of(template, type_).values()
    return resource


def props(template: dict, type_: str) -> dict:
    return one(template, type_)["Properties"]


# ---- database -------------------------------------------------------------------------------


def test_database_has_the_seeds_size_retention_and_name(rendered):
    db = props(rendered["database"], "AWS::RDS::DBInstance")
    assert (db["Engine"], db["DBInstanceClass"], db["AllocatedStorage"], db["DBName"]) == ("mysql", "db.t3.micro", "20", "collage")
    assert db["BackupRetentionPeriod"] == 7
    assert db["MultiAZ"] is False and db["PubliclyAccessible"] is False


def test_database_is_encrypted_protected_and_snapshotted(rendered):
    resource = one(rendered["database"], "AWS::RDS::DBInstance")
    db = resource["Properties"]
    assert db["StorageEncrypted"] is True
    assert db["DeletionProtection"] is True
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Snapshot"
    assert db["StorageType"] == "gp3" and db["MaxAllocatedStorage"] >= 20
    assert db["EnableCloudwatchLogsExports"] and db["CopyTagsToSnapshot"] and db["AutoMinorVersionUpgrade"]
    assert db["MonitoringInterval"] == 60 and db["EnableIAMDatabaseAuthentication"] is True


def test_database_password_is_managed_by_rds_and_never_in_the_template(rendered, compiled):
    db = props(rendered["database"], "AWS::RDS::DBInstance")
    assert db["ManageMasterUserPassword"] is True
    assert "MasterUserPassword" not in db
    assert db["MasterUsername"] != "admin"
    assert all("NoEcho" not in p for t in rendered.values() for p in t.get("Parameters", {}).values())


def test_database_exports_audit_error_and_slow_query_logs_but_not_every_statement(rendered):
    """"Publishing MySQL logs to Amazon CloudWatch Logs" (RDS user guide): the general and slow
    query logs need general_log / slow_query_log = 1 and log_output = FILE; audit needs the
    MARIADB_AUDIT_PLUGIN option (all MySQL 8.4 versions). The general log records every statement
    with its literals, so by default it is neither written (general_log 0) nor exported; the audit
    plugin still records logins, DDL and grants."""
    t = rendered["database"]
    db = props(t, "AWS::RDS::DBInstance")
    assert sorted(db["EnableCloudwatchLogsExports"]) == ["audit", "error", "slowquery"]
    parameters = props(t, "AWS::RDS::DBParameterGroup")["Parameters"]
    assert (parameters["general_log"], parameters["slow_query_log"], parameters["log_output"]) == ("0", "1", "FILE")
    options = props(t, "AWS::RDS::OptionGroup")
    assert db["OptionGroupName"] == {"Ref": "DatabaseOptionGroup"}
    assert (options["EngineName"], options["MajorEngineVersion"]) == ("mysql", "8.4")
    (plugin,) = options["OptionConfigurations"]
    assert plugin["OptionName"] == "MARIADB_AUDIT_PLUGIN"
    events = {s["Name"]: s["Value"] for s in plugin["OptionSettings"]}["SERVER_AUDIT_EVENTS"].split(",")
    assert {"CONNECT", "QUERY_DDL", "QUERY_DCL"} <= set(events)
    assert "QUERY_DML" not in events and "QUERY" not in events  # logins, not the app's data


def test_the_general_log_is_written_and_exported_only_when_asked():
    """database.general_log: true sets general_log = 1 (what RDS needs to write it) and exports
    it; the log-type names are the ones botocore's RDS model documents for the export list."""
    import botocore.session

    doc = botocore.session.get_session().get_service_model("rds").operation_model("CreateDBInstance").input_shape.members["EnableCloudwatchLogsExports"].documentation
    t = load_yaml(compile(Config(database={"general_log": True}))["database"].text)
    db = props(t, "AWS::RDS::DBInstance")
    assert sorted(db["EnableCloudwatchLogsExports"]) == ["audit", "error", "general", "slowquery"]
    mysql_logs = re.search(r"RDS for MySQL - <code>([^<]+)</code>", doc)[1].split(" | ")
    assert set(db["EnableCloudwatchLogsExports"]) <= set(mysql_logs)
    assert props(t, "AWS::RDS::DBParameterGroup")["Parameters"]["general_log"] == "1"
    retention = next(iter(resources_of(t, "Custom::LogRetention").values()))["Properties"]
    assert {"Fn::Sub": "/aws/rds/instance/${Database}/general"} in retention["LogGroupNames"]


def test_rds_log_groups_get_the_configured_retention(rendered):
    """RDS exports to /aws/rds/instance/<instance id>/<log> (RDS user guide, publishing MySQL
    logs); the custom resource names exactly those groups."""
    t = rendered["database"]
    (retention,) = resources_of(t, "Custom::LogRetention").values()
    p = retention["Properties"]
    assert p["RetentionInDays"] == 30
    assert sorted(n["Fn::Sub"] for n in p["LogGroupNames"]) == [f"/aws/rds/instance/${{Database}}/{log}" for log in ("audit", "error", "slowquery")]
    fn = t["Resources"][p["ServiceToken"]["Fn::GetAtt"][0]]["Properties"]
    role = t["Resources"][fn["Role"]["Fn::GetAtt"][0]]["Properties"]
    (manage, _logs) = role["Policies"][0]["PolicyDocument"]["Statement"]
    assert sorted(manage["Action"]) == ["logs:CreateLogGroup", "logs:PutRetentionPolicy"]
    assert manage["Resource"] == [{"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/rds/instance/${Database}/*"}]


def test_database_requires_tls(rendered):
    group = props(rendered["database"], "AWS::RDS::DBParameterGroup")
    assert group["Parameters"]["require_secure_transport"] == "1"
    assert group["Family"] == "mysql8.4"


def _cfn_lint_mysql_versions() -> set[str]:
    from importlib.resources import files

    schema = json.loads(files("cfnlint.data.schemas.extensions.aws_rds_dbinstance").joinpath("engine_version.json").read_text())
    (mysql,) = [r for r in schema["allOf"] if r.get("if", {}).get("properties", {}).get("Engine", {}).get("const") == "mysql"]
    return set(mysql["then"]["properties"]["EngineVersion"]["enum"])


def test_engine_version_is_the_major_version_so_rds_picks_and_upgrades_the_minor(rendered):
    """A pinned minor fails CreateDBInstance once RDS retires it and drifts after each automatic
    minor upgrade. RDS takes a major-only EngineVersion ("If you specify only a major version,
    Amazon RDS updates the DB instance to the default minor version", botocore's RDS model,
    ModifyDBInstance). cfn-lint's E3691 lists full versions only, so it is ignored on this
    resource with its reason; the major is one cfn-lint's own list has minors of."""
    import botocore.session

    rds = botocore.session.get_session().get_service_model("rds")
    assert "If you specify only a major version" in rds.operation_model("ModifyDBInstance").input_shape.members["EngineVersion"].documentation
    t = rendered["database"]
    resource = next(iter(resources_of(t, "AWS::RDS::DBInstance").values()))
    db = resource["Properties"]
    assert db["EngineVersion"] == "8.4" and db["AutoMinorVersionUpgrade"] is True
    listed = _cfn_lint_mysql_versions()
    assert "8.4" not in listed and any(v.startswith("8.4.") for v in listed)
    assert resource["Metadata"]["cfn-lint"]["config"]["ignore_checks"] == ["E3691"]
    assert props(t, "AWS::RDS::DBParameterGroup")["Family"] == "mysql8.4"
    assert props(t, "AWS::RDS::OptionGroup")["MajorEngineVersion"] == "8.4"


@pytest.mark.parametrize("version, family", [("8.4.7", "mysql8.4"), ("8.0", "mysql8.0")])
def test_a_pinned_or_other_major_engine_version_derives_the_parameter_group_family(version, family):
    t = load_yaml(compile(Config(database={"engine_version": version}))["database"].text)
    resource = next(iter(resources_of(t, "AWS::RDS::DBInstance").values()))
    assert resource["Properties"]["EngineVersion"] == version
    assert props(t, "AWS::RDS::DBParameterGroup")["Family"] == family
    assert props(t, "AWS::RDS::OptionGroup")["MajorEngineVersion"] == family.removeprefix("mysql")
    pinned = version in _cfn_lint_mysql_versions()
    assert pinned == ("E3691" not in resource.get("Metadata", {}).get("cfn-lint", {}).get("config", {}).get("ignore_checks", []))


def test_multi_az_is_one_config_key():
    cfg = Config(database={"multi_az": True})
    db = load_yaml(compile(cfg)["database"].text)
    assert props(db, "AWS::RDS::DBInstance")["MultiAZ"] is True


# ---- cluster ------------------------------------------------------------------------------


def test_cluster_is_the_seeds_with_insights_and_both_fargate_providers(rendered):
    cluster = props(rendered["cluster"], "AWS::ECS::Cluster")
    assert cluster["ClusterName"] == "student-enrollment-production"
    assert cluster["ClusterSettings"] == [{"Name": "containerInsights", "Value": "enabled"}]
    assert cluster["CapacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    logs = props(rendered["cluster"], "AWS::Logs::LogGroup")
    assert logs == {"LogGroupName": "/ecs/student-enrollment-production", "RetentionInDays": 30}


# ---- load balancer ------------------------------------------------------------------------


def _attributes(resource_props: dict, key: str) -> dict:
    return {a["Key"]: a["Value"] for a in resource_props[key]}


def test_alb_is_internet_facing_http2_hardened_and_logged(rendered):
    alb = props(rendered["load_balancer"], "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert alb["Scheme"] == "internet-facing" and alb["Subnets"] == {"Ref": "PublicSubnetIds"}
    attrs = _attributes(alb, "LoadBalancerAttributes")
    assert attrs["routing.http2.enabled"] == "true"
    assert attrs["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attrs["deletion_protection.enabled"] == "true"
    assert attrs["access_logs.s3.enabled"] == "true" and attrs["access_logs.s3.bucket"] == {"Ref": "AccessLogBucket"}


def test_access_log_bucket_admits_only_elb_log_delivery_over_tls(rendered):
    policy = props(rendered["load_balancer"], "AWS::S3::BucketPolicy")["PolicyDocument"]["Statement"]
    deny, allow = policy
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert allow["Action"] == ["s3:PutObject"]
    assert "783225319266" in json.dumps(allow["Principal"])  # ELB's ap-southeast-2 account
    bucket = one(rendered["load_balancer"], "AWS::S3::Bucket")
    assert bucket["DeletionPolicy"] == "Retain"
    assert all(bucket["Properties"]["PublicAccessBlockConfiguration"].values())


def test_target_group_has_the_seeds_health_check_and_stickiness(rendered):
    tg = rendered["load_balancer"]["Resources"]["TargetGroup"]["Properties"]
    assert (tg["TargetType"], tg["Port"], tg["Protocol"]) == ("ip", 80, "HTTP")  # the container port: the seed image's nginx listens on 80
    assert (tg["HealthCheckPath"], tg["HealthCheckIntervalSeconds"], tg["HealthCheckTimeoutSeconds"]) == ("/", 15, 5)
    assert (tg["HealthyThresholdCount"], tg["UnhealthyThresholdCount"], tg["Matcher"]) == (2, 2, {"HttpCode": "200"})
    assert _attributes(tg, "TargetGroupAttributes") == {
        "deregistration_delay.timeout_seconds": "30",
        "slow_start.duration_seconds": "60",
        "stickiness.enabled": "true",
        "stickiness.type": "app_cookie",
        "stickiness.app_cookie.cookie_name": "laravel_session",
        "stickiness.app_cookie.duration_seconds": "86400",
    }


def test_http_listener_only_redirects_to_https(rendered):
    http = rendered["load_balancer"]["Resources"]["HttpListener"]["Properties"]
    (action,) = http["DefaultActions"]
    assert action["Type"] == "redirect"
    assert action["RedirectConfig"] == {"Port": "443", "Protocol": "HTTPS", "StatusCode": "HTTP_301"}
    # the release's rules are on the HTTPS listener only
    rules = resources_of(rendered["load_balancer"], "AWS::ElasticLoadBalancingV2::ListenerRule").values()
    assert {r["Properties"]["ListenerArn"]["Ref"] for r in rules} <= {"HttpsListener"}


def test_https_listener_uses_tls13_and_the_validated_certificate(rendered):
    https = rendered["load_balancer"]["Resources"]["HttpsListener"]["Properties"]
    assert https["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert https["Certificates"] == [{"CertificateArn": {"Ref": "Certificate"}}]
    cert = props(rendered["load_balancer"], "AWS::CertificateManager::Certificate")
    assert cert["DomainName"] == "martincaringal.co.nz" and cert["SubjectAlternativeNames"] == ["*.martincaringal.co.nz"]
    assert cert["ValidationMethod"] == "DNS"
    assert cert["DomainValidationOptions"][0]["HostedZoneId"] == Config().dns.hosted_zone_id


def test_alias_record_points_the_api_domain_at_the_alb(rendered):
    record = props(rendered["load_balancer"], "AWS::Route53::RecordSet")
    assert record["Type"] == "A" and record["Name"] == {"Ref": "ApiDomain"}
    assert record["AliasTarget"]["DNSName"] == {"Fn::GetAtt": ["LoadBalancer", "DNSName"]}
    assert record["AliasTarget"]["EvaluateTargetHealth"] is True
    assert rendered["root"]["Parameters"]["ApiDomain"]["Default"] == "server.martincaringal.co.nz"


# ---- service ------------------------------------------------------------------------------


def _container(rendered, name: str = "student-enrollment-production") -> dict:
    return next(c for c in rendered["service"]["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"] if c["Name"] == name)


def test_task_definition_is_the_seeds_on_fargate_only(rendered):
    task = rendered["service"]["Resources"]["TaskDefinition"]["Properties"]
    assert (task["Family"], task["Cpu"], task["Memory"], task["NetworkMode"]) == ("student-enrollment-production", "1024", "2048", "awsvpc")
    assert task["RequiresCompatibilities"] == ["FARGATE"]
    container = _container(rendered)
    assert container["Name"] == "student-enrollment-production"
    # The seed image's nginx.conf: `listen 80`.
    assert container["PortMappings"] == [{"ContainerPort": 80, "Protocol": "tcp"}]
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    assert container["Privileged"] is False


def test_root_file_system_is_read_only_with_laravels_writable_paths_on_task_volumes(rendered):
    """ECS.5: readonlyRootFilesystem true. Laravel writes storage/ and bootstrap/cache under its
    app root (WORKDIR /var/www in the seed image), PHP writes /tmp, and the seed's nginx (root,
    Debian's defaults) writes /run/nginx.pid, /var/log/nginx and /var/lib/nginx; each is a task
    volume without Host (a Fargate bind mount on ephemeral storage) mounted writable, and the RDS
    CA bundle's volume is mounted read-only."""
    task = rendered["service"]["Resources"]["TaskDefinition"]["Properties"]
    container = _container(rendered)
    assert container["ReadonlyRootFilesystem"] is True
    mounts = {m["ContainerPath"]: m for m in container["MountPoints"]}
    writable = {"/var/www/storage", "/var/www/bootstrap/cache", "/tmp", "/run", "/var/log/nginx", "/var/lib/nginx"}
    assert set(mounts) == writable | {"/etc/ssl/rds"}
    volumes = {v["Name"]: v for v in task["Volumes"]}
    for path, m in mounts.items():
        assert m["ReadOnly"] is (path not in writable)
        assert volumes[m["SourceVolume"]] == {"Name": m["SourceVolume"]}  # no Host, no EFS: ephemeral


def test_the_default_runs_the_images_own_user_and_the_hardened_setting_a_non_root_one(rendered):
    """The seed image has no USER: by default the task names none and runs as root, which gives
    up ECS.20 (Config rule ecs-task-definition-linux-user-non-root) for an image that runs
    unchanged. The hardened setting names a non-root user."""
    assert "User" not in _container(rendered)
    hardened = {"container_user": "www-data", "container_port": 8080, "init": {"enabled": False}, "environment": {"MYSQL_ATTR_SSL_CA": "/etc/ssl/rds/ca.pem"}}
    doc = compile(Config(service=hardened)).stacks["service"].doc
    [container] = doc["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    assert container["User"] == "www-data"


@pytest.mark.parametrize("user, port, ok", [("www-data", 80, False), ("33:33", 443, False), ("www-data", 1024, True), ("root", 80, True), ("0:0", 80, True)])
def test_a_non_root_user_below_port_1024_is_refused(user, port, ok):
    # Fargate adds no Linux capability but SYS_PTRACE (ECS KernelCapabilities), so no NET_BIND_SERVICE.
    try:
        Config(service={"container_user": user, "container_port": port})
        problems = []
    except ConfigErrors as exc:
        problems = exc.problems
    assert ([p.key for p in problems] == []) == ok
    if not ok:
        assert [p.key for p in problems] == ["service.container_port"]


def test_image_runs_by_digest_when_given_and_the_repository_is_immutable(rendered):
    """ECR.2: ImageTagMutability IMMUTABLE. Tasks run repository@digest when the deploy passes
    ImageDigest (an ECR digest is sha256: and 64 hex digits), else the immutable tag."""
    repo = props(rendered["bootstrap"], "AWS::ECR::Repository")
    assert repo["ImageTagMutability"] == "IMMUTABLE"
    assert "CKV_AWS_51" not in json.dumps(rendered["bootstrap"]["Resources"]["Repository"].get("Metadata", {}))
    condition, by_digest, by_tag = _container(rendered)["Image"]["Fn::If"]
    assert rendered["service"]["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ImageDigest"}, ""]}]}
    assert by_digest["Fn::Sub"].endswith("/student-enrollment-production@${ImageDigest}")
    assert by_tag["Fn::Sub"].endswith("/student-enrollment-production:${ImageTag}")
    pattern = rendered["root"]["Parameters"]["ImageDigest"]["AllowedPattern"]
    assert re.match(pattern, "sha256:" + "0123456789abcdef" * 4) and re.match(pattern, "")
    assert not re.match(pattern, "latest") and not re.match(pattern, "sha256:" + "a" * 63)


def test_plain_environment_is_the_seeds_and_holds_no_secret(rendered):
    env = {e["Name"]: e["Value"] for e in _container(rendered)["Environment"]}
    assert env["DB_DATABASE"] == "collage" and env["FILESYSTEM_DISK"] == "s3" and env["AWS_BUCKET"] == "caringaldevops"
    assert env["DB_HOST"] == {"Ref": "DatabaseEndpointAddress"}
    for name in env:
        assert not any(word in name for word in ("PASSWORD", "SECRET", "_KEY", "TOKEN")), name


def test_secrets_are_injected_from_secrets_manager_and_no_aws_keys_exist(rendered, compiled):
    secrets = {s["Name"]: s["ValueFrom"] for s in _container(rendered)["Secrets"]}
    assert secrets["APP_KEY"] == {"Fn::Sub": "${AppSecret}:APP_KEY::"}
    # the application's own database user, never the master's (RDS rotates that one weekly)
    assert secrets["DB_PASSWORD"] == {"Fn::Sub": "${AppDatabaseSecretArn}:password::"}
    assert secrets["DB_USERNAME"] == {"Fn::Sub": "${AppDatabaseSecretArn}:username::"}
    assert rendered["root"]["Resources"]["ServiceStack"]["Properties"]["Parameters"]["AppDatabaseSecretArn"] == {
        "Fn::GetAtt": ["DatabaseStack", "Outputs.AppDatabaseSecretArn"]}
    assert not any("AWS_ACCESS_KEY_ID" in text or "AWS_SECRET_ACCESS_KEY" in text for text in compiled.bodies().values())
    generated = props(rendered["service"], "AWS::SecretsManager::Secret")["GenerateSecretString"]
    assert generated["GenerateStringKey"] == "APP_KEY" and generated["PasswordLength"] == 32
    assert json.loads(generated["SecretStringTemplate"]) == {k: "" for k in Config().service.secrets if k != "APP_KEY"}


def test_service_runs_privately_on_the_seeds_capacity_strategy(rendered):
    svc = props(rendered["service"], "AWS::ECS::Service")
    assert svc["ServiceName"] == "student-enrollment-production"
    assert svc["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"
    assert svc["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"] == {"Ref": "PrivateSubnetIds"}
    assert svc["CapacityProviderStrategy"] == [
        {"Base": 2, "CapacityProvider": "FARGATE", "Weight": 1},
        {"Base": 0, "CapacityProvider": "FARGATE_SPOT", "Weight": 3},
    ]
    assert "LaunchType" not in svc
    assert svc["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert svc["HealthCheckGracePeriodSeconds"] > 0


def test_service_omits_desired_count_so_updates_keep_the_scaled_count(rendered):
    assert "DesiredCount" not in props(rendered["service"], "AWS::ECS::Service")


def test_autoscaling_is_the_seeds(rendered):
    t = rendered["service"]
    target = props(t, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 20) and "RoleARN" not in target
    policies = {
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]["PredefinedMetricType"]: p["Properties"][
            "TargetTrackingScalingPolicyConfiguration"
        ]
        for p in resources_of(t, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    }
    assert {k: v["TargetValue"] for k, v in policies.items()} == {
        "ECSServiceAverageCPUUtilization": 70.0,
        "ECSServiceAverageMemoryUtilization": 80.0,
        "ALBRequestCountPerTarget": 1000.0,
    }
    assert all((v["ScaleInCooldown"], v["ScaleOutCooldown"]) == (300, 60) for v in policies.values())


# ---- IAM everywhere -------------------------------------------------------------------------


def _statements(rendered):
    """Every Allow statement of every role's inline policies and of every managed policy."""
    for name, t in rendered.items():
        docs = [(key, p["PolicyDocument"]) for key, role in resources_of(t, "AWS::IAM::Role").items() for p in role["Properties"].get("Policies", [])]
        docs += [(key, p["Properties"]["PolicyDocument"]) for key, p in resources_of(t, "AWS::IAM::ManagedPolicy").items()]
        for key, doc in docs:
            for statement in doc["Statement"]:
                if statement["Effect"] == "Allow":
                    yield name, key, statement


def test_no_policy_grants_wildcard_actions_or_unscoped_resources(rendered):
    unscopable = {"ecr:GetAuthorizationToken", "rekognition:DetectFaces", "ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition",
                  "ecs:DeregisterTaskDefinition", "logs:DescribeLogGroups"}
    # Elastic Load Balancing's Describe actions (the traffic role's reads) have no resource types
    # ("Actions, resources, and condition keys for Elastic Load Balancing V2").
    unscopable |= {f"elasticloadbalancing:Describe{x}" for x in ("Listeners", "Rules", "TargetGroups", "TargetHealth")}
    # ECS Exec's channels (the boundary allows them for every environment): the Service Authorization
    # Reference lists no resource type for any ssmmessages action ("Actions, resources, and condition
    # keys for Amazon Message Gateway Service", service-authorization/latest/reference/list_ssmmessages.html).
    unscopable |= {f"ssmmessages:{verb}" for verb in ("CreateControlChannel", "CreateDataChannel", "OpenControlChannel", "OpenDataChannel")}
    assert all(unscoped(a) for a in unscopable if a.startswith("ecs:"))  # the table of IAM-unscopable actions agrees
    for name, key, statement in _statements(rendered):
        for action in statement["Action"]:
            assert action != "*" and not action.endswith(":*"), (name, key, action)
        if "*" in statement["Resource"] and "Condition" not in statement:
            # The launch role's table marks the actions IAM accepts only on Resource "*".
            assert all(a in unscopable or (name == "catalog" and unscoped(a)) for a in statement["Action"]), (name, key, statement)


def test_roles_trust_one_service_in_this_account(rendered):
    for name, t in rendered.items():
        if name == "catalog":
            continue  # Service Catalog's documented launch-role trust carries no source condition
        for key, role in resources_of(t, "AWS::IAM::Role").items():
            (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
            assert list(statement["Principal"]) == ["Service"], (name, key)
            assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}


def test_root_surfaces_what_a_user_needs_but_no_secret_value(rendered):
    outputs = rendered["root"]["Outputs"]
    assert {"ApiUrl", "LoadBalancerDnsName", "ClusterName", "ServiceName", "RepositoryUri", "DatabaseEndpointAddress", "DatabaseSecretArn", "AppSecretArn"} <= set(outputs)
    assert all("resolve:secretsmanager" not in json.dumps(o) for o in outputs.values())


# ---- bad input added by these stacks --------------------------------------------------------

BAD = [
    ({"database": {"engine_version": "8.0.35"}}, "database.engine_version", "not offered"),
    ({"database": {"engine_version": "9.9.9"}}, "database.engine_version", "not offered"),
    ({"database": {"engine_version": "8.5"}}, "database.engine_version", "not offered"),
    ({"database": {"engine_version": "8"}}, "database.engine_version", "major version"),
    ({"database": {"master_username": "admin"}}, "database.master_username", "RDS.25"),
    ({"database": {"master_username": "1user"}}, "database.master_username", "starting with a letter"),
    ({"database": {"master_username": "a_very_long_username"}}, "database.master_username", "1-16 letters"),
    ({"database": {"allocated_storage_gb": 10}}, "database.allocated_storage_gb", "20-65536"),
    ({"database": {"allocated_storage_gb": 40, "max_allocated_storage_gb": 30}}, "database.max_allocated_storage_gb", "at least"),
    ({"database": {"backup_window": "3am"}}, "database.backup_window", "hh:mm-hh:mm"),
    ({"database": {"maintenance_window": "monday"}}, "database.maintenance_window", "ddd:hh:mm"),
    ({"database": {"instance_class": "t3.micro"}}, "database.instance_class", "db.t3.micro"),
    ({"load_balancer": {"ssl_policy": "ELBSecurityPolicy-2016-08"}}, "load_balancer.ssl_policy", "TLS 1.3"),
    ({"load_balancer": {"ip_address_type": "dualstack"}}, "load_balancer.ip_address_type", "IPv6 CIDR blocks"),
    ({"load_balancer": {"ip_address_type": "ipv6"}}, "load_balancer.ip_address_type", "must be ipv4"),
    ({"load_balancer": {"deregistration_delay_seconds": 300}}, "load_balancer.deregistration_delay_seconds", "Fargate Spot"),
    ({"dns": {"api_domain": "a.b.martincaringal.co.nz"}}, "dns.api_domain", "one label under the zone"),
]


@pytest.mark.parametrize("data, key, words", BAD, ids=[f"{k}:{w}" for _, k, w in BAD])
def test_app_stack_bad_input_is_rejected_naming_the_key(tmp_path, data, key, words):
    import yaml

    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigErrors) as err:
        load(path)
    problems = [p for p in err.value.problems if p.key == key]
    assert problems and any(words in p.message for p in problems), problems
