"""Service stack: the application secret, the task execution and task roles, the Fargate task
definition, the ECS service behind the ALB, and its autoscaling on CPU, memory and requests.

Inputs: outputs of network, security, database, cluster and load_balancer, and the root
Parameters ImageTag, ImageDigest and ApiDomain. Outputs: the constants below.
The container runs as `service.container_user` (or the image's user) on a read-only root file
system, with an ephemeral volume on each of `service.writable_paths`, which an init container of
the same image fills first (`service.init`). It runs the image by digest when
ImageDigest is given (the deploy resolves it), else by ImageTag, which an IMMUTABLE repository
ties to one digest as well.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from awacs import ecr, ecs, elasticloadbalancing, iam, logs, rekognition, s3, secretsmanager, ssmmessages
from awacs.aws import Allow, ArnEquals, Condition, PolicyDocument, Statement, StringEquals, StringLike
from troposphere import Equals, GetAtt, If, Join, Not, Ref, Sub, Template
from troposphere.applicationautoscaling import (
    PredefinedMetricSpecification,
    ScalableTarget,
    ScalingPolicy,
    TargetTrackingScalingPolicyConfiguration,
)
from troposphere.cloudwatch import Alarm, MetricDimension
from troposphere.ecs import (
    AdvancedConfiguration as EcsAdvancedConfiguration,
    AwsvpcConfiguration,
    CanaryConfiguration,
    DeploymentAlarms,
    CapacityProviderStrategyItem,
    ContainerDefinition,
    ContainerDependency,
    DeploymentCircuitBreaker,
    DeploymentConfiguration,
    Environment,
    LinearConfiguration,
    LoadBalancer,
    LogConfiguration,
    MountPoint,
    NetworkConfiguration,
    PortMapping,
    RuntimePlatform,
    Secret as EcsSecret,
    Service,
    TaskDefinition,
    Volume,
)
from troposphere.iam import Policy, Role
from troposphere.secretsmanager import GenerateSecretString, Secret

from enrollcfn.config import Config
from enrollcfn.config.service import CA_BUNDLE_DIR, CA_BUNDLE_FILE, EXEC_AGENT_PATHS
from enrollcfn.templates._helpers import name_tags, output, param, scanner_skips, service_role_trust
from enrollcfn.templates._launch_scopes import APP_SECRET
from enrollcfn.templates.bootstrap import product_role
from enrollcfn.templates.cluster import APP_LOG_GROUP_ARN, APP_LOG_GROUP_NAME, CLUSTER_NAME
from enrollcfn.templates._custom_resources import ONE_OFF_TIMEOUT, OneOffTask, one_off_task_function
from enrollcfn.templates.database import APP_DATABASE_SECRET_ARN, DATABASE_ENDPOINT_ADDRESS, DATABASE_ENDPOINT_PORT, DATABASE_SECRET_ARN
from enrollcfn.templates.load_balancer import (
    ALTERNATE_TARGET_GROUP_ARN, API_DOMAIN, HTTPS_LISTENER_ARN, LOAD_BALANCER_FULL_NAME, PRODUCTION_LISTENER_RULE_ARN, TARGET_GROUP_ARN,
    TARGET_GROUP_FULL_NAME, TEST_LISTENER_RULE_ARN,
)
from enrollcfn.templates.network import PRIVATE_SUBNET_IDS, PUBLIC_SUBNET_IDS
from enrollcfn.templates.security import SERVICE_SECURITY_GROUP_ID

SERVICE_NAME = "ServiceName"
SERVICE_ARN = "ServiceArn"
APP_SECRET_ARN = "AppSecretArn"
TASK_DEFINITION_ARN = "TaskDefinitionArn"
EXECUTION_ROLE_ARN = "ExecutionRoleArn"
TASK_ROLE_ARN = "TaskRoleArn"
DATABASE_USER_EXECUTION_ROLE_ARN = "DatabaseUserExecutionRoleArn"
ONE_OFF_TASK_FUNCTION_ARN = "OneOffTaskFunctionArn"
TRAFFIC_ROLE_ARN = "TrafficRoleArn"  # a progressive release's: ECS moves the listener rules' weights with it
IMAGE_TAG = "ImageTag"  # a root Parameter
IMAGE_DIGEST = "ImageDigest"  # a root Parameter; empty: run ImageTag

_STRING_INPUTS = {
    CLUSTER_NAME: "ECS cluster the service runs in",
    APP_LOG_GROUP_NAME: "Log group of the application container",
    APP_LOG_GROUP_ARN: "ARN of the application log group",
    TARGET_GROUP_ARN: "Target group the tasks register in",
    LOAD_BALANCER_FULL_NAME: "ALB full name, for request-count scaling",
    TARGET_GROUP_FULL_NAME: "Target group full name, for request-count scaling",
    DATABASE_ENDPOINT_ADDRESS: "MySQL host name (DB_HOST)",
    DATABASE_ENDPOINT_PORT: "MySQL port (DB_PORT)",
    DATABASE_SECRET_ARN: "RDS-managed secret with the master username and password (the database-user task only)",
    APP_DATABASE_SECRET_ARN: "Secret with the application's database username and password",
    API_DOMAIN: "DNS name of the API (APP_URL)",
    IMAGE_TAG: "Tag of the application image in the ECR repository",
}


def repository_arn(cfg: Config) -> Sub:
    """ARN of the bootstrap stack's repository, from its configured name."""
    return Sub(f"arn:${{AWS::Partition}}:ecr:${{AWS::Region}}:${{AWS::AccountId}}:repository/{cfg.registry.repository_name}")


def repository_uri(cfg: Config) -> Sub:
    """The repository's registry address, without tag or digest."""
    return Sub(_repository_address(cfg))


def _repository_address(cfg: Config) -> str:
    return f"${{AWS::AccountId}}.dkr.ecr.${{AWS::Region}}.${{AWS::URLSuffix}}/{cfg.registry.repository_name}"


def build(cfg: Config) -> Template:
    """The service template for `cfg`."""
    t = Template(Description=f"{cfg.project} {cfg.environment}: Fargate service {cfg.service.name} with autoscaling")
    t.set_version()
    subnets = _subnets_param(t, cfg)
    sg = param(t, SERVICE_SECURITY_GROUP_ID, "AWS::EC2::SecurityGroup::Id", "Security group of the tasks")
    p = {name: param(t, name, "String", description) for name, description in _STRING_INPUTS.items()}
    p[IMAGE_DIGEST] = param(t, IMAGE_DIGEST, "String", "Digest (sha256:...) of the image to run; empty runs ImageTag", Default="")
    t.add_condition("PinDigest", Not(Equals(Ref(p[IMAGE_DIGEST]), "")))

    secret = t.add_resource(_app_secret(cfg))
    execution, task = _roles(t, cfg, secret, p)
    taskdef = t.add_resource(_task_definition(cfg, execution, task, p))
    before = _release_tasks(t, cfg, taskdef, [execution, task], subnets, sg, p)
    service = t.add_resource(_service(cfg, taskdef, subnets, sg, p, depends_on=before, traffic=_traffic(t, cfg)))
    _autoscaling(t, cfg, service, p)

    output(t, SERVICE_NAME, GetAtt(service, "Name"), "ECS service name")
    output(t, SERVICE_ARN, Ref(service), "ECS service ARN")
    output(t, APP_SECRET_ARN, Ref(secret), "Secrets Manager secret of the application (set MAIL_PASSWORD etc. here)")
    output(t, TASK_DEFINITION_ARN, Ref(taskdef), "Task definition revision the service runs")
    output(t, EXECUTION_ROLE_ARN, GetAtt(execution, "Arn"), "Task execution role (a release passes it to new revisions)")
    output(t, TASK_ROLE_ARN, GetAtt(task, "Arn"), "Task role (a release passes it to new revisions)")
    output(t, DATABASE_USER_EXECUTION_ROLE_ARN, GetAtt(t.resources["DatabaseUserExecutionRole"], "Arn"), "Execution role of the database-user task")
    output(t, ONE_OFF_TASK_FUNCTION_ARN, GetAtt(t.resources["OneOffTaskFunction"], "Arn"), "Function that runs the release's one-off tasks")
    if "TrafficRole" in t.resources:
        output(t, TRAFFIC_ROLE_ARN, GetAtt(t.resources["TrafficRole"], "Arn"), "Role ECS moves a release's traffic with")
    return t


def _subnets_param(t: Template, cfg: Config):
    """The subnets the tasks run in: the private ones, or the public ones in network.mode public."""
    if cfg.network.mode == "public":
        return param(t, PUBLIC_SUBNET_IDS, "List<AWS::EC2::Subnet::Id>", "Public subnets the tasks run in, with public IPs (network.mode public)")
    return param(t, PRIVATE_SUBNET_IDS, "List<AWS::EC2::Subnet::Id>", "Private subnets the tasks run in")


def _app_secret(cfg: Config) -> Secret:
    # fix: the seed wrote every value (and an IAM user's access keys) from Terraform variables into
    # state. APP_KEY is generated here; the other keys start empty and the operator sets them.
    template = {name: "" for name in cfg.service.secrets if name != "APP_KEY"}
    return Secret(
        APP_SECRET,
        Description=f"{cfg.project} {cfg.environment}: Laravel application secrets",
        Tags=name_tags(cfg, "app-secret"),  # the launch role may change only resources named ours
        # Laravel uses a key without the base64: prefix as raw bytes; AES-256-CBC needs exactly 32.
        GenerateSecretString=GenerateSecretString(
            SecretStringTemplate=json.dumps(template, sort_keys=True), GenerateStringKey="APP_KEY", PasswordLength=32, ExcludePunctuation=True
        ),
        DeletionPolicy="Retain",
        UpdateReplacePolicy="Retain",
        Metadata=scanner_skips(
            checkov={
                "CKV_AWS_149": "The aws/secretsmanager key, as in the seed, decrypts only through Secrets Manager in this account; a customer key would add kms:Decrypt for the execution role and a key policy to keep",
                "CKV2_AWS_57": "Holds credentials only their providers issue (mail, Pusher, Redis), which no rotation function can reissue, and APP_KEY, "
                "whose rotation needs the app to keep the old key for existing data and sessions and a redeploy (ECS reads secrets at task start)",
            }
        ),
    )


def _execution_role(t: Template, cfg: Config, title: str, secrets: list) -> Role:
    """A task execution role: pull the one repository, write the one log group, read `secrets`.
    fix: the seed used the managed AmazonECSTaskExecutionRolePolicy (any repository, any log group)."""
    pull_and_log = PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(Effect=Allow, Action=[ecr.GetAuthorizationToken], Resource=["*"]),
            Statement(Effect=Allow, Action=[ecr.BatchGetImage, ecr.GetDownloadUrlForLayer, ecr.BatchCheckLayerAvailability], Resource=[repository_arn(cfg)]),
            Statement(Effect=Allow, Action=[logs.CreateLogStream, logs.PutLogEvents], Resource=[Sub("${AppLogGroupArn}:*")]),
            Statement(Effect=Allow, Action=[secretsmanager.GetSecretValue], Resource=secrets),
        ],
    )
    return t.add_resource(
        Role(
            title,
            AssumeRolePolicyDocument=service_role_trust("ecs-tasks.amazonaws.com"),
            Policies=[Policy(PolicyName="pull-image-write-logs-read-secrets", PolicyDocument=pull_and_log)],
            Metadata=scanner_skips(checkov={"CKV_AWS_111": "ecr:GetAuthorizationToken has no resource-level permissions"}),
            **product_role(cfg),
        )
    )


def _roles(t: Template, cfg: Config, secret: Secret, p: dict) -> tuple[Role, Role]:
    ecs_trust = service_role_trust("ecs-tasks.amazonaws.com")
    # The application's tasks read its own secrets, never the master user's.
    execution = _execution_role(t, cfg, "ExecutionRole", [Ref(secret), Ref(p[APP_DATABASE_SECRET_ARN])])
    bucket = cfg.service.app_bucket
    objects = [Sub(f"arn:${{AWS::Partition}}:s3:::{bucket}/{prefix}*") for prefix in cfg.service.app_bucket_prefixes]
    app = PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(Effect=Allow, Action=[s3.GetObject, s3.PutObject, s3.DeleteObject], Resource=objects),
            Statement(
                Effect=Allow,
                Action=[s3.ListBucket],
                Resource=[Sub(f"arn:${{AWS::Partition}}:s3:::{bucket}")],
                Condition=Condition(StringLike({"s3:prefix": [f"{prefix}*" for prefix in cfg.service.app_bucket_prefixes]})),
            ),
            # DetectFaces analyses bytes sent in the request; it has no resource to scope to.
            Statement(Effect=Allow, Action=[rekognition.DetectFaces], Resource=["*"]),
            *_exec_statements(cfg),
        ],
    )
    # fix: the seed's task role could only write logs, so the app used an IAM user's static keys.
    task = t.add_resource(
        Role("TaskRole", AssumeRolePolicyDocument=ecs_trust, Policies=[Policy(PolicyName="app-bucket-and-face-detection", PolicyDocument=app)], **product_role(cfg))
    )
    return execution, task


def _exec_statements(cfg: Config) -> list[Statement]:
    """ECS Exec (service.exec_enabled): the SSM agent in the task opens its channels with the task
    role, and the cluster logs sessions to the application log group. The ssmmessages actions and
    logs:DescribeLogGroups have no resource-level permissions (ECS developer guide, ECS Exec IAM)."""
    if not cfg.service.exec_enabled:
        return []
    channels = [ssmmessages.CreateControlChannel, ssmmessages.CreateDataChannel, ssmmessages.OpenControlChannel, ssmmessages.OpenDataChannel]
    return [
        Statement(Effect=Allow, Action=[*channels, logs.DescribeLogGroups], Resource=["*"]),
        Statement(Effect=Allow, Action=[logs.CreateLogStream, logs.DescribeLogStreams, logs.PutLogEvents], Resource=[Sub("${AppLogGroupArn}:*")]),
    ]


LOG_STREAM_PREFIX = "ecs"  # awslogs streams: <prefix>/<container>/<task id>
INIT_CONTAINER = "init"  # the init container's name in the task definition
VOLUME_ROOT = "/enrollcfn/volumes"  # where the init container sees the task's volumes
CA_VOLUME = "rds-ca"


def _image(cfg: Config) -> If:
    # fix: the seed ran a moving tag. By digest, every task of every deployment runs the same bytes.
    repository = _repository_address(cfg)
    return If("PinDigest", Sub(f"{repository}@${{ImageDigest}}"), Sub(f"{repository}:${{ImageTag}}"))


def _logging(p: dict) -> LogConfiguration:
    return LogConfiguration(
        LogDriver="awslogs",
        Options={"awslogs-group": Ref(p[APP_LOG_GROUP_NAME]), "awslogs-region": Ref("AWS::Region"), "awslogs-stream-prefix": LOG_STREAM_PREFIX},
    )


def volume_paths(cfg: Config) -> tuple[str, ...]:
    """Every path of the application container on a task volume: the writable paths, and the SSM
    agent's when ECS Exec is on (it writes there, and the root file system is read-only)."""
    extra = EXEC_AGENT_PATHS if cfg.service.exec_enabled else ()
    return (*cfg.service.writable_paths, *(path for path in extra if path not in cfg.service.writable_paths))


def _container(cfg: Config, p: dict) -> ContainerDefinition:
    s = cfg.service
    # fix: APP_URL was http://127.0.0.1:8000 in the seed; DB_HOST comes from the database stack.
    injected = {"APP_URL": Sub("https://${ApiDomain}"), **_database_environment(cfg, p)}
    environment = [Environment(Name=k, Value=v) for k, v in sorted({**s.environment, **injected}.items())]
    secrets = [EcsSecret(Name=name, ValueFrom=Sub(f"${{AppSecret}}:{name}::")) for name in sorted(s.secrets)]
    # fix: the seed's application connected as the master user; it has its own user now.
    secrets += [EcsSecret(Name=f"DB_{key.upper()}", ValueFrom=Sub(f"${{{APP_DATABASE_SECRET_ARN}}}:{key}::")) for key in ("password", "username")]
    mounts = [MountPoint(SourceVolume=volume_name(path), ContainerPath=path, ReadOnly=False) for path in volume_paths(cfg)]
    optional = {
        "User": s.container_user,  # None: the image's own user
        "EntryPoint": list(s.entrypoint) if s.entrypoint else None,
        "Command": list(s.command) if s.command else None,
        **_after_init(cfg, mounts),
    }
    return ContainerDefinition(
        Name=cfg.registry.repository_name,
        Image=_image(cfg),
        Essential=True,
        # fix: the seed had a writable root file system (ECS.5).
        ReadonlyRootFilesystem=True,
        MountPoints=mounts,
        PortMappings=[PortMapping(ContainerPort=s.container_port, Protocol="tcp")],
        Environment=environment,
        Secrets=sorted(secrets, key=lambda x: x.properties["Name"]),
        Privileged=False,
        Memory=container_memory(cfg, s.memory),
        StopTimeout=s.stop_timeout,
        LogConfiguration=_logging(p),
        **{k: v for k, v in optional.items() if v is not None},
    )


def _sub(text: str):
    """Fn::Sub where `text` names a variable; the text itself otherwise (cfn-lint W1020)."""
    return Sub(text) if "${" in text else text


def _database_environment(cfg: Config, p: dict) -> dict:
    """Where the database is, and (with service.init) the CA bundle that verifies it."""
    env = {"DB_HOST": Ref(p[DATABASE_ENDPOINT_ADDRESS]), "DB_PORT": Ref(p[DATABASE_ENDPOINT_PORT]), "DB_DATABASE": cfg.database.name}
    if cfg.service.init.enabled:
        env["MYSQL_ATTR_SSL_CA"] = CA_BUNDLE_FILE
    elif "MYSQL_ATTR_SSL_CA" in cfg.service.environment:
        env["MYSQL_ATTR_SSL_CA"] = cfg.service.environment["MYSQL_ATTR_SSL_CA"]
    return env


def _after_init(cfg: Config, mounts: list) -> dict:
    """A container that waits for the init container's SUCCESS and reads the CA bundle it placed
    (appended to `mounts`); nothing without service.init."""
    if not cfg.service.init.enabled:
        return {}
    mounts.append(MountPoint(SourceVolume=CA_VOLUME, ContainerPath=CA_BUNDLE_DIR, ReadOnly=True))
    return {"DependsOn": [ContainerDependency(ContainerName=INIT_CONTAINER, Condition="SUCCESS")]}


def _init_container(cfg: Config, p: dict, paths: tuple[str, ...]) -> ContainerDefinition:
    """The application's image, run once before it in each task (service.init): see the script."""
    return ContainerDefinition(
        Name=INIT_CONTAINER,
        Image=_image(cfg),
        Essential=False,  # it exits when done; the application container waits for its SUCCESS
        # root: it gives each volume the owner and mode the image has at that path, which only
        # root can; it runs no server and is gone before the application starts.
        User="0",
        ReadonlyRootFilesystem=True,
        EntryPoint=["/bin/sh", "-c"],
        Command=[_sub(init_script(cfg, paths))],
        Memory=INIT_MEMORY,
        MountPoints=[
            *(MountPoint(SourceVolume=volume_name(path), ContainerPath=f"{VOLUME_ROOT}/{volume_name(path)}", ReadOnly=False) for path in paths),
            MountPoint(SourceVolume=CA_VOLUME, ContainerPath=f"{VOLUME_ROOT}/{CA_VOLUME}", ReadOnly=False),
        ],
        Privileged=False,
        LogConfiguration=_logging(p),
    )


# Every container has a hard memory limit (Control Tower CT.ECS.PR.7). The init container gets
# INIT_MEMORY (it copies files and fetches one bundle, then exits); the task's main container the
# rest of the task's memory, so the limits add up to the task's as Fargate requires.
INIT_MEMORY = 128
DATABASE_USER_MEMORY = 512


def container_memory(cfg: Config, task_memory: int) -> int:
    """The hard limit of a task's main container: the task's memory less the init container's."""
    return task_memory - (INIT_MEMORY if cfg.service.init.enabled else 0)


def init_script(cfg: Config, paths: tuple[str, ...]) -> str:
    """The init container's shell script for the volumes of `paths`, as a Fn::Sub string
    (${AWS::Region} is the only substitution; the shell's own variables are written $1, never ${...})."""
    init = cfg.service.init
    links = sorted(init.log_links.items()) if paths else []
    bundle = f"{VOLUME_ROOT}/{CA_VOLUME}/{CA_BUNDLE_FILE.rsplit('/', 1)[1]}"  # CA_BUNDLE_FILE in the application container
    url = init.ca_bundle_url or "https://truststore.pki.rds.amazonaws.com/${AWS::Region}/${AWS::Region}-bundle.pem"
    lines = [
        "set -eu",
        "# each writable path: the image's content, owner and mode (Fargate mounts an empty root-owned 0755 directory)",
        'copy() { if [ -d "$1" ]; then cp -a "$1/." "$2/"; chown "$(stat -c %u:%g "$1")" "$2"; chmod "$(stat -c %a "$1")" "$2"; fi; }',
        *(f"copy {path} {VOLUME_ROOT}/{volume_name(path)}" for path in paths),
        "# log files as links to the application container's stdout and stderr (the awslogs driver ships those)",
        *(_link(cfg, path, stream) for path, stream in links),
        "# the RDS CA bundle: Laravel verifies the database's certificate with it (MYSQL_ATTR_SSL_CA)",
        f"curl -fsS --retry 3 --max-time 60 -o {bundle} {url}",
        f"grep -q 'BEGIN CERTIFICATE' {bundle}",
        f"chmod 0755 {VOLUME_ROOT}/{CA_VOLUME}",
        "echo 'init: volumes prepared, RDS CA bundle in place'",
    ]
    return "\n".join(lines) + "\n"


def _link(cfg: Config, path: str, stream: str) -> str:
    base = next(w for w in cfg.service.writable_paths if path.startswith(f"{w}/"))
    target = f"{VOLUME_ROOT}/{volume_name(base)}{path[len(base):]}"
    return f"mkdir -p {target.rsplit('/', 1)[0]} && rm -f {target} && ln -s /dev/{stream} {target}"


def _task_definition(cfg: Config, execution: Role, task: Role, p: dict) -> TaskDefinition:
    containers = [_container(cfg, p)]
    volumes = [Volume(Name=volume_name(path)) for path in volume_paths(cfg)]
    if cfg.service.init.enabled:
        containers.append(_init_container(cfg, p, cfg.service.writable_paths))
        volumes.append(Volume(Name=CA_VOLUME))
    return TaskDefinition(
        "TaskDefinition",
        Family=cfg.service.name,  # one family per environment, even when environments share a repository
        Cpu=str(cfg.service.cpu),
        Memory=str(cfg.service.memory),
        NetworkMode="awsvpc",
        RequiresCompatibilities=["FARGATE"],  # fix: the seed also listed EC2, which is never used
        # FARGATE_SPOT runs X86_64 on platform 1.3.0 or later and ARM64 on 1.4.0 or later (ECS API
        # Reference, CapacityProviderStrategyItem), so either architecture keeps the Spot share.
        RuntimePlatform=RuntimePlatform(OperatingSystemFamily="LINUX", CpuArchitecture=cfg.service.cpu_architecture),
        ExecutionRoleArn=GetAtt(execution, "Arn"),
        TaskRoleArn=GetAtt(task, "Arn"),
        ContainerDefinitions=containers,
        # A volume without Host is a Fargate bind mount on the task's ephemeral storage: empty
        # and root-owned (unless the image declares VOLUME at that path), writable, gone when the
        # task stops.
        Volumes=volumes,
    )


def volume_name(path: str) -> str:
    """`/var/www/storage` -> `var-www-storage` (volume names: letters, digits, '-', '_')."""
    return re.sub(r"[^A-Za-z0-9_]+", "-", path.strip("/"))


DATABASE_USER_CONTAINER = "database-user"

# Run by the database-user task as the master user, with PDO (any Laravel image with MySQL has
# pdo_mysql): the application's user, its password from its own secret (set again on every run,
# so a changed secret takes effect), TLS required, and only what Laravel and its migrations need
# on database.name. The names come from the config's checked patterns; the password is quoted.
DATABASE_USER_SCRIPT = """$o = [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION];
if (getenv('MYSQL_ATTR_SSL_CA')) { $o[PDO::MYSQL_ATTR_SSL_CA] = getenv('MYSQL_ATTR_SSL_CA'); }
$db = new PDO('mysql:host=' . getenv('DB_HOST') . ';port=' . getenv('DB_PORT'), getenv('MASTER_USERNAME'), getenv('MASTER_PASSWORD'), $o);
$name = getenv('DB_DATABASE'); $user = getenv('APP_DB_USERNAME'); $password = $db->quote(getenv('APP_DB_PASSWORD'));
$db->exec("CREATE DATABASE IF NOT EXISTS `$name`");
$db->exec("CREATE USER IF NOT EXISTS '$user'@'%' IDENTIFIED BY $password REQUIRE SSL");
$db->exec("ALTER USER '$user'@'%' IDENTIFIED BY $password REQUIRE SSL");
$db->exec("GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, DROP, REFERENCES, CREATE TEMPORARY TABLES, LOCK TABLES, CREATE VIEW, SHOW VIEW, TRIGGER ON `$name`.* TO '$user'@'%'");
echo "database user $user may use $name\\n";
"""


def _database_user_task(t: Template, cfg: Config, p: dict) -> tuple[TaskDefinition, Role]:
    """The task that creates the application's database user as the master user: the only task
    whose execution role may read the master secret."""
    execution = _execution_role(t, cfg, "DatabaseUserExecutionRole", [Ref(p[DATABASE_SECRET_ARN]), Ref(p[APP_DATABASE_SECRET_ARN])])
    mounts: list = []
    container = ContainerDefinition(
        Name=DATABASE_USER_CONTAINER,
        Image=_image(cfg),
        Essential=True,
        ReadonlyRootFilesystem=True,
        EntryPoint=["php", "-r", DATABASE_USER_SCRIPT],
        Memory=container_memory(cfg, DATABASE_USER_MEMORY),
        Environment=[Environment(Name=k, Value=v) for k, v in sorted(_database_environment(cfg, p).items())],
        Secrets=[
            EcsSecret(Name="APP_DB_PASSWORD", ValueFrom=Sub(f"${{{APP_DATABASE_SECRET_ARN}}}:password::")),
            EcsSecret(Name="APP_DB_USERNAME", ValueFrom=Sub(f"${{{APP_DATABASE_SECRET_ARN}}}:username::")),
            EcsSecret(Name="MASTER_PASSWORD", ValueFrom=Sub(f"${{{DATABASE_SECRET_ARN}}}:password::")),
            EcsSecret(Name="MASTER_USERNAME", ValueFrom=Sub(f"${{{DATABASE_SECRET_ARN}}}:username::")),
        ],
        Privileged=False,
        LogConfiguration=_logging(p),
        **({"User": cfg.service.container_user} if cfg.service.container_user else {}),
        **_after_init(cfg, mounts),
        MountPoints=mounts,
    )
    containers = [container, *([_init_container(cfg, p, ())] if cfg.service.init.enabled else [])]
    taskdef = TaskDefinition(
        "DatabaseUserTaskDefinition",
        Family=f"{cfg.service.name}-dbuser",
        Cpu="256",
        Memory=str(DATABASE_USER_MEMORY),
        NetworkMode="awsvpc",
        RequiresCompatibilities=["FARGATE"],
        RuntimePlatform=RuntimePlatform(OperatingSystemFamily="LINUX", CpuArchitecture=cfg.service.cpu_architecture),
        ExecutionRoleArn=GetAtt(execution, "Arn"),
        ContainerDefinitions=containers,
        Volumes=[Volume(Name=CA_VOLUME)] if cfg.service.init.enabled else [],
    )
    return taskdef, execution


def _release_tasks(t: Template, cfg: Config, taskdef: TaskDefinition, roles: list[Role], subnets, sg, p: dict) -> list[str]:
    """What runs once per release before the service changes: the database-user task, then the
    migrations (service.migrate_command) with the new task definition. Each is a custom resource
    whose failure fails the stack operation, so CloudFormation rolls back and the service keeps
    its image. The titles the service waits for."""
    user_taskdef, user_execution = _database_user_task(t, cfg, p)
    user_taskdef = t.add_resource(user_taskdef)
    cluster_arn = Sub(f"arn:${{AWS::Partition}}:ecs:${{AWS::Region}}:${{AWS::AccountId}}:cluster/${{{CLUSTER_NAME}}}")
    tasks = Sub(f"arn:${{AWS::Partition}}:ecs:${{AWS::Region}}:${{AWS::AccountId}}:task/${{{CLUSTER_NAME}}}/*")
    function = one_off_task_function(t, cfg, [
        Statement(Effect=Allow, Action=[ecs.RunTask], Resource=[Ref(user_taskdef), Ref(taskdef)], Condition=Condition(ArnEquals({"ecs:cluster": cluster_arn}))),
        Statement(Effect=Allow, Action=[ecs.DescribeTasks, ecs.StopTask], Resource=[tasks]),
        Statement(Effect=Allow, Action=[ecs.TagResource], Resource=[tasks], Condition=Condition(StringEquals({"ecs:CreateAction": "RunTask"}))),
        Statement(Effect=Allow, Action=[iam.PassRole], Resource=[GetAtt(r, "Arn") for r in (*roles, user_execution)],
                  Condition=Condition(StringEquals({"iam:PassedToService": "ecs-tasks.amazonaws.com"}))),
        Statement(Effect=Allow, Action=[logs.GetLogEvents], Resource=[Sub("${AppLogGroupArn}:*")]),
    ])  # fmt: skip
    common = dict(
        ServiceToken=GetAtt(function, "Arn"), ServiceTimeout=ONE_OFF_TIMEOUT + 60, Cluster=Ref(p[CLUSTER_NAME]), Subnets=Ref(subnets),
        SecurityGroups=[Ref(sg)], AssignPublicIp="ENABLED" if cfg.network.mode == "public" else "DISABLED",
        LogGroup=Ref(p[APP_LOG_GROUP_NAME]), StreamPrefix=LOG_STREAM_PREFIX,
    )
    user = t.add_resource(OneOffTask("DatabaseUser", TaskDefinition=Ref(user_taskdef), ContainerName=DATABASE_USER_CONTAINER, **common))
    if not cfg.service.migrate_command:
        return [user.title]
    migration = t.add_resource(OneOffTask("Migration", TaskDefinition=Ref(taskdef), ContainerName=cfg.registry.repository_name,
                                          Command=list(cfg.service.migrate_command), DependsOn=[user.title], **common))
    return [migration.title]


@dataclass(frozen=True)
class Traffic:
    """How a release moves traffic: the DeploymentConfiguration and the load balancer entry."""

    deployment: DeploymentConfiguration
    advanced: EcsAdvancedConfiguration | None


def _traffic(t: Template, cfg: Config) -> Traffic:
    """service.deployment as ECS takes it (cfn-lint's schema of AWS::ECS::Service): the strategy,
    its bake times, the circuit breaker, and alarms on the release's errors and latency that roll
    it back; for a progressive strategy the alternate target group, the production and test
    listener rules and the role ECS moves their weights with."""
    d = cfg.service.deployment
    strategy, bake = d.resolved(cfg.production)
    extra: dict = {}
    if d.alarms:
        alarms = _release_alarms(t, cfg)
        extra["Alarms"] = DeploymentAlarms(AlarmNames=[Ref(a) for a in alarms], Enable=True, Rollback=True)
    if bake is not None:
        extra["BakeTimeInMinutes"] = bake
    if strategy == "CANARY":
        extra["CanaryConfiguration"] = CanaryConfiguration(CanaryPercent=d.canary_percent, CanaryBakeTimeInMinutes=d.canary_bake_minutes)
    elif strategy == "LINEAR":
        extra["LinearConfiguration"] = LinearConfiguration(StepPercent=d.linear_step_percent, StepBakeTimeInMinutes=d.linear_step_bake_minutes)
    deployment = DeploymentConfiguration(
        Strategy=strategy, MinimumHealthyPercent=100, MaximumPercent=200,
        DeploymentCircuitBreaker=DeploymentCircuitBreaker(Enable=True, Rollback=True), **extra,
    )
    if strategy == "ROLLING":
        return Traffic(deployment, None)
    rules = {k: param(t, k, "String", what) for k, what in (
        (ALTERNATE_TARGET_GROUP_ARN, "Target group a release starts the new revision behind"),
        (PRODUCTION_LISTENER_RULE_ARN, "Listener rule whose weights a release moves"),
        (TEST_LISTENER_RULE_ARN, "Listener rule of the release's test traffic"),
        (HTTPS_LISTENER_ARN, "The HTTPS listener of those rules"))}
    role = t.add_resource(_traffic_role(cfg, rules))
    advanced = EcsAdvancedConfiguration(AlternateTargetGroupArn=Ref(rules[ALTERNATE_TARGET_GROUP_ARN]),
                                        ProductionListenerRule=Ref(rules[PRODUCTION_LISTENER_RULE_ARN]),
                                        TestListenerRule=Ref(rules[TEST_LISTENER_RULE_ARN]), RoleArn=GetAtt(role, "Arn"))
    return Traffic(deployment, advanced)


def _release_alarms(t: Template, cfg: Config) -> list[Alarm]:
    """Alarms a release watches (DeploymentConfiguration.Alarms), on the whole load balancer so
    they see both target groups: target 5xx responses and the p90 response time."""
    d = cfg.service.deployment
    dimension = [MetricDimension(Name="LoadBalancer", Value=Ref(LOAD_BALANCER_FULL_NAME))]
    # ECS rolls the release back from their state; they also notify monitoring.alarm_topic_arn when
    # it names a topic (the stack's own alarm topic is made after the service).
    topic = cfg.monitoring.alarm_topic_arn
    common = dict(Namespace="AWS/ApplicationELB", Dimensions=dimension, Period=60, ComparisonOperator="GreaterThanThreshold",
                  TreatMissingData="notBreaching", **({"AlarmActions": [topic]} if topic else {}))
    return [
        t.add_resource(Alarm("ReleaseErrorsAlarm", AlarmDescription=f"{cfg.service.name}: target 5xx above {d.errors_per_minute} a minute during a release",
                             MetricName="HTTPCode_Target_5XX_Count", Statistic="Sum", Threshold=d.errors_per_minute, EvaluationPeriods=2,
                             DatapointsToAlarm=2, **common)),
        t.add_resource(Alarm("ReleaseLatencyAlarm", AlarmDescription=f"{cfg.service.name}: p90 response time above {d.p90_seconds} s during a release",
                             MetricName="TargetResponseTime", ExtendedStatistic="p90", Threshold=d.p90_seconds, EvaluationPeriods=3,
                             DatapointsToAlarm=3, **common)),
    ]


def _traffic_role(cfg: Config, rules: dict) -> Role:
    """The role ECS moves a release's traffic with: what AWS's AmazonECSInfrastructureRolePolicyForLoadBalancers
    grants (its v6 document), on this load balancer's groups, listener and rules only."""
    statements = [
        # Describe actions have no resource-level permissions in Elastic Load Balancing.
        Statement(Effect=Allow, Action=[elasticloadbalancing.DescribeListeners, elasticloadbalancing.DescribeRules,
                                        elasticloadbalancing.DescribeTargetGroups, elasticloadbalancing.DescribeTargetHealth], Resource=["*"]),
        Statement(Effect=Allow, Action=[elasticloadbalancing.RegisterTargets, elasticloadbalancing.DeregisterTargets],
                  Resource=[Ref(TARGET_GROUP_ARN), Ref(rules[ALTERNATE_TARGET_GROUP_ARN])]),
        Statement(Effect=Allow, Action=[elasticloadbalancing.ModifyListener], Resource=[Ref(rules[HTTPS_LISTENER_ARN])]),
        Statement(Effect=Allow, Action=[elasticloadbalancing.ModifyRule],
                  Resource=[Ref(rules[PRODUCTION_LISTENER_RULE_ARN]), Ref(rules[TEST_LISTENER_RULE_ARN])]),
    ]
    return Role(
        "TrafficRole",
        AssumeRolePolicyDocument=service_role_trust("ecs.amazonaws.com"),
        Policies=[Policy(PolicyName="move-release-traffic", PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=statements))],
        Metadata=scanner_skips(checkov={"CKV_AWS_111": "Elastic Load Balancing's Describe actions have no resource-level permissions"}),
        **product_role(cfg),
    )


def _service(cfg: Config, taskdef: TaskDefinition, subnets, sg, p: dict, depends_on: list[str], traffic: Traffic) -> Service:
    s, c = cfg.service, cfg.service.capacity
    strategy = [
        CapacityProviderStrategyItem(CapacityProvider="FARGATE", Base=c.fargate_base, Weight=c.fargate_weight),
        CapacityProviderStrategyItem(CapacityProvider="FARGATE_SPOT", Base=c.spot_base, Weight=c.spot_weight),
    ]
    return Service(
        "Service",
        DependsOn=depends_on,  # the database user and the release's migrations come first
        ServiceName=s.name,
        Cluster=Ref(p[CLUSTER_NAME]),
        TaskDefinition=Ref(taskdef),
        # No DesiredCount: CloudFormation would reset a scaled-out count to it on every stack
        # update. ECS starts one task and the scalable target's minimum brings it to min_tasks.
        CapacityProviderStrategy=[i for i in strategy if i.properties["Weight"] or i.properties["Base"]],
        PlatformVersion="LATEST",
        DeploymentConfiguration=traffic.deployment,
        HealthCheckGracePeriodSeconds=s.health_check_grace_seconds,
        LoadBalancers=[LoadBalancer(ContainerName=cfg.registry.repository_name, ContainerPort=s.container_port, TargetGroupArn=Ref(p[TARGET_GROUP_ARN]),
                                    **({"AdvancedConfiguration": traffic.advanced} if traffic.advanced else {}))],
        # network.mode public: without a NAT, a task reaches ECR, Secrets Manager and CloudWatch
        # Logs through the internet gateway, which needs a public IP ($0.005 an hour each).
        NetworkConfiguration=NetworkConfiguration(
            AwsvpcConfiguration=AwsvpcConfiguration(
                Subnets=Ref(subnets), SecurityGroups=[Ref(sg)], AssignPublicIp="ENABLED" if cfg.network.mode == "public" else "DISABLED"
            )
        ),
        AvailabilityZoneRebalancing="ENABLED",
        PropagateTags="SERVICE",
        EnableECSManagedTags=True,
        **({"EnableExecuteCommand": True} if s.exec_enabled else {}),  # absent (off) unless chosen: production unchanged
    )


def _autoscaling(t: Template, cfg: Config, service: Service, p: dict) -> None:
    s, sc = cfg.service, cfg.service.scaling
    target = t.add_resource(
        ScalableTarget(
            "ScalableTarget",
            ServiceNamespace="ecs",
            ScalableDimension="ecs:service:DesiredCount",
            ResourceId=Join("/", ["service", Ref(p[CLUSTER_NAME]), GetAtt(service, "Name")]),
            MinCapacity=s.min_tasks,
            MaxCapacity=s.max_tasks,
            # No RoleARN: Application Auto Scaling uses its service-linked role.
        )
    )
    label = Join("/", [Ref(p[LOAD_BALANCER_FULL_NAME]), Ref(p[TARGET_GROUP_FULL_NAME])])
    for title, metric, value, extra in (
        ("CpuScalingPolicy", "ECSServiceAverageCPUUtilization", sc.cpu_target, {}),
        ("MemoryScalingPolicy", "ECSServiceAverageMemoryUtilization", sc.memory_target, {}),
        ("RequestCountScalingPolicy", "ALBRequestCountPerTarget", sc.requests_per_target, {"ResourceLabel": label}),
    ):
        t.add_resource(
            ScalingPolicy(
                title,
                PolicyName=f"{cfg.service.name}-{title[: -len('ScalingPolicy')].lower()}",
                PolicyType="TargetTrackingScaling",
                ScalingTargetId=Ref(target),
                TargetTrackingScalingPolicyConfiguration=TargetTrackingScalingPolicyConfiguration(
                    TargetValue=float(value),
                    ScaleInCooldown=sc.scale_in_cooldown,
                    ScaleOutCooldown=sc.scale_out_cooldown,
                    PredefinedMetricSpecification=PredefinedMetricSpecification(PredefinedMetricType=metric, **extra),
                ),
            )
        )

