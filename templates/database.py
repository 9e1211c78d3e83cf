"""Database stack: RDS MySQL in the private subnets, with a parameter group that enforces TLS
and turns on the slow-query log (and the general log only with database.general_log), an option
group with the MariaDB audit plugin, the MySQL logs exported to CloudWatch with a retention, and a master password that RDS
generates, stores in Secrets Manager and rotates itself.

Inputs: PrivateSubnetIds, DatabaseSecurityGroupId. Outputs: the constants below.
Seed values: db.t3.micro, 20 GB, database `collage`, 7-day backups 03:00-04:00, maintenance
mon:04:00-mon:05:00, single-AZ, not public.
"""

from __future__ import annotations

import json

from troposphere import GetAtt, Ref, Sub, Template
from troposphere.iam import Role
from troposphere.secretsmanager import GenerateSecretString, Secret
from troposphere.rds import DBInstance, DBParameterGroup, DBSubnetGroup, OptionConfiguration, OptionGroup, OptionSetting

from enrollcfn.config import Config
from enrollcfn.templates import _control_tower
from enrollcfn.templates._custom_resources import retain_log_groups
from enrollcfn.templates._launch_scopes import APP_DATABASE_SECRET
from enrollcfn.templates._helpers import name_tags, output, param, scanner_skips, service_role_trust
from enrollcfn.templates.bootstrap import product_role
from enrollcfn.templates.network import PRIVATE_SUBNET_IDS
from enrollcfn.templates.security import DATABASE_SECURITY_GROUP_ID

# The one managed policy a product role attaches (the launch role may attach only this one).
ENHANCED_MONITORING_POLICY = "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"

DATABASE_ENDPOINT_ADDRESS = "DatabaseEndpointAddress"
DATABASE_ENDPOINT_PORT = "DatabaseEndpointPort"
DATABASE_SECRET_ARN = "DatabaseSecretArn"
DATABASE_INSTANCE_ID = "DatabaseInstanceId"
APP_DATABASE_SECRET_ARN = "AppDatabaseSecretArn"

# fix: the seed exported no logs. `audit` comes from the MariaDB audit plugin (an option group;
# RDS supports it on all MySQL 8.4 versions), `slowquery` (and `general`) need their parameters on
# and log_output=FILE, `error` is always written ("Publishing MySQL logs to Amazon CloudWatch Logs",
# https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_LogAccess.MySQLDB.PublishtoCloudWatchLogs.html).
# `general` only with database.general_log: it copies every statement, literals included.
LOG_EXPORTS = ["audit", "error", "slowquery"]
# Logins, schema changes and grants; not every row read or written (QUERY_DML), which would
# copy the application's data into the audit log.
AUDIT_EVENTS = "CONNECT,QUERY_DDL,QUERY_DCL"


def _app_user_secret(cfg: Config) -> Secret:
    """The application's database user: the name from the config, a generated password. The
    service stack's one-off task creates the user from it, as the master user, before the service
    starts; the tasks read it as DB_USERNAME and DB_PASSWORD."""
    return Secret(
        APP_DATABASE_SECRET,
        Description=f"{cfg.project} {cfg.environment}: the application's MySQL user (not the master)",
        Tags=name_tags(cfg, "app-db-secret"),
        # Printable ASCII without quotes, backslash, '/', '@' or space: safe in a MySQL string
        # literal and a DSN. 32 characters, at most what MySQL 8 accepts for a password.
        GenerateSecretString=GenerateSecretString(
            SecretStringTemplate=json.dumps({"username": cfg.database.app_username}), GenerateStringKey="password", PasswordLength=32,
            ExcludeCharacters="\"'\\/@` ",
        ),
        Metadata=scanner_skips(
            checkov={
                "CKV_AWS_149": "The aws/secretsmanager key decrypts only through Secrets Manager in this account; a customer key would add kms:Decrypt for the execution role and a key policy to keep",
                "CKV2_AWS_57": "Rotating it needs a rotation function in the VPC with a MySQL client; running tasks would keep the old password until they restart. "
                "Set a new value and redeploy: the one-off task sets the user's password from it",
            }
        ),
    )


def log_exports(cfg: Config) -> list[str]:
    """EnableCloudwatchLogsExports: LOG_EXPORTS, plus `general` when database.general_log is on."""
    return sorted(LOG_EXPORTS + (["general"] if cfg.database.general_log else []))


def build(cfg: Config) -> Template:
    """The database template for `cfg`."""
    db = cfg.database
    t = Template(Description=f"{cfg.project} {cfg.environment}: RDS MySQL {db.engine_version} with an RDS-managed master password")
    t.set_version()
    subnets = param(t, PRIVATE_SUBNET_IDS, "List<AWS::EC2::Subnet::Id>", "Private subnets for the DB subnet group")
    sg = param(t, DATABASE_SECURITY_GROUP_ID, "AWS::EC2::SecurityGroup::Id", "Security group of the database")

    subnet_group = t.add_resource(
        DBSubnetGroup("DatabaseSubnetGroup", DBSubnetGroupDescription=f"{cfg.project} MySQL in the private subnets", SubnetIds=Ref(subnets))
    )
    parameters = t.add_resource(
        DBParameterGroup(
            "DatabaseParameterGroup",
            Description=f"{cfg.project} MySQL: TLS required, slow query log" + (", general log" if db.general_log else ""),
            Family=parameter_group_family(db.engine_version),
            # fix: the seed used the default group, so clients could connect without TLS (RDS.39).
            # RDS exports the general and slow-query logs only from files (log_output=FILE).
            # general_log stated either way, so turning it off later writes 0 rather than leaving it on.
            Parameters={"require_secure_transport": "1", "general_log": "1" if db.general_log else "0", "slow_query_log": "1",
                        "long_query_time": "2", "log_output": "FILE"},
        )
    )
    options = t.add_resource(
        OptionGroup(
            "DatabaseOptionGroup",
            EngineName="mysql",
            MajorEngineVersion=db.major_version,
            OptionGroupDescription=f"{cfg.project} MySQL: MariaDB audit plugin",
            OptionConfigurations=[
                OptionConfiguration(OptionName="MARIADB_AUDIT_PLUGIN", OptionSettings=[OptionSetting(Name="SERVER_AUDIT_EVENTS", Value=AUDIT_EVENTS)])
            ],
        )
    )
    monitoring = t.add_resource(
        Role(
            "DatabaseMonitoringRole",
            AssumeRolePolicyDocument=service_role_trust("monitoring.rds.amazonaws.com"),
            ManagedPolicyArns=[Sub(ENHANCED_MONITORING_POLICY)],
            **product_role(cfg),
        )
    )
    instance = t.add_resource(_instance(cfg, subnet_group, parameters, options, monitoring, sg, _control_tower.database_encryption(t, cfg)))
    # RDS writes the exports to groups it creates and never expires; give them the retention.
    prefix = Sub("/aws/rds/instance/${Database}/")
    retain_log_groups(t, cfg, "database", "DatabaseLogRetention", prefix, [Sub(f"/aws/rds/instance/${{Database}}/{log}") for log in log_exports(cfg)])

    app_user = t.add_resource(_app_user_secret(cfg))

    output(t, DATABASE_ENDPOINT_ADDRESS, GetAtt(instance, "Endpoint.Address"), "Host name of the MySQL endpoint (DB_HOST)")
    output(t, APP_DATABASE_SECRET_ARN, Ref(app_user), "Secret with the application's database username and password (DB_USERNAME, DB_PASSWORD)")
    output(t, DATABASE_ENDPOINT_PORT, GetAtt(instance, "Endpoint.Port"), "Port of the MySQL endpoint")
    output(t, DATABASE_SECRET_ARN, GetAtt(instance, "MasterUserSecret.SecretArn"), "Secrets Manager secret with the master username and password (managed by RDS)")
    output(t, DATABASE_INSTANCE_ID, Ref(instance), "RDS instance identifier (for alarms)")
    return t


def parameter_group_family(engine_version: str) -> str:
    """`8.4` or `8.4.7` -> `mysql8.4`."""
    major, minor = engine_version.split(".")[:2]
    return f"mysql{major}.{minor}"


def _instance(cfg: Config, subnet_group, parameters, options, monitoring, sg, encryption: dict) -> DBInstance:
    db = cfg.database
    backup_window, maintenance_window = db.utc_windows
    checkov, cfn_lint = {}, {}
    if not db.multi_az:
        checkov["CKV_AWS_157"] = "Single-AZ as in the seed; set database.multi_az: true for a standby in the second AZ"
    if db.engine_version == db.major_version:
        # cfn-lint's E3691 lists full versions only; RDS takes a major version and picks its default
        # minor (ModifyDBInstance EngineVersion: "If you specify only a major version ..."; the CDK's
        # MysqlEngineVersion.VER_8_0, "only a major version, without a specific minor version").
        cfn_lint["E3691"] = f"EngineVersion {db.engine_version} is a major version: RDS creates the instance at its default minor version"
    extra = {"Metadata": scanner_skips(checkov=checkov or None, cfn_lint=cfn_lint or None)} if checkov or cfn_lint else {}
    # database.final_snapshot: Snapshot on delete AND on replacement (UpdateReplacePolicy defaults
    # to Delete, which would drop the data), or Delete for both. Stated either way: CloudFormation's
    # default DeletionPolicy for a DBInstance outside a cluster is Snapshot, a manual snapshot that
    # outlives the stack and is billed until deleted by hand (`enrollcfn destroy` lists it).
    policy = "Snapshot" if db.final_snapshot else "Delete"
    return DBInstance(
        "Database",
        DeletionPolicy=policy,
        UpdateReplacePolicy=policy,
        Engine="mysql",
        EngineVersion=db.engine_version,
        # fix: no silent move to paid Extended Support when a major version leaves standard support.
        EngineLifecycleSupport="open-source-rds-extended-support-disabled",
        AutoMinorVersionUpgrade=True,
        DBInstanceClass=db.instance_class,
        AllocatedStorage=str(db.allocated_storage_gb),
        MaxAllocatedStorage=db.max_allocated_storage_gb,  # fix: the seed had no storage autoscaling
        StorageType=db.storage_type,
        StorageEncrypted=True,  # fix: the seed's storage was unencrypted (RDS.3); it cannot be turned on later
        **encryption,  # compliance: control-tower: a customer managed key
        DBName=db.name,
        MasterUsername=db.master_username,
        ManageMasterUserPassword=True,  # fix: the seed passed a password variable that landed in state
        Port=str(db.port),
        DBSubnetGroupName=Ref(subnet_group),
        DBParameterGroupName=Ref(parameters),
        OptionGroupName=Ref(options),
        VPCSecurityGroups=[Ref(sg)],
        PubliclyAccessible=False,
        MultiAZ=db.multi_az,
        BackupRetentionPeriod=db.backup_retention_days,
        PreferredBackupWindow=backup_window,  # database.time_zone's local times, in UTC
        PreferredMaintenanceWindow=maintenance_window,
        CopyTagsToSnapshot=True,
        DeletionProtection=db.deletion_protection,  # fix: seed off (RDS.8); on in production
        EnableIAMDatabaseAuthentication=True,  # RDS.10; Laravel keeps using the password
        EnableCloudwatchLogsExports=log_exports(cfg),
        MonitoringInterval=60,  # RDS.6 enhanced monitoring
        MonitoringRoleArn=GetAtt(monitoring, "Arn"),
        **extra,
    )
