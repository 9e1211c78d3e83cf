"""The IAM actions CloudFormation needs to create, update and delete each resource type.

The Service Catalog launch role (catalog.py) is granted the union of the entries for the resource
types in the product's templates, scoped by _launch_scopes.py, and nothing else. A resource type
missing here is a compile error, so a new resource type cannot silently break provisioning.

Each entry holds the `handlers.create/update/delete.permissions` of the type's CloudFormation
resource provider schema, plus what the service checks on the caller (a role handed over, a
service-linked role made on first use, the Route 53 records ACM DNS validation writes), minus the
actions in NOT_NEEDED. The rule for NOT_NEEDED: a permission stays out only when it serves a
property the templates never set and it would reach beyond this product (another service, the
whole account, another Region); anything that acts only on the product's own resources, or only
reads, is granted, because a handler may call it whatever the properties are.
tests/test_launch_role.py checks this table against cfn-lint's bundled provider schemas.
"""

from __future__ import annotations


def _a(service: str, verbs: str) -> tuple[str, ...]:
    """`_a("ec2", "CreateVpc DeleteVpc")` -> ("ec2:CreateVpc", "ec2:DeleteVpc")."""
    return tuple(f"{service}:{v}" for v in verbs.split())


_EC2_TAGS = _a("ec2", "CreateTags DeleteTags DescribeTags")
_ELB_TAGS = _a("elasticloadbalancing", "AddTags RemoveTags DescribeTags")
_RDS_TAGS = _a("rds", "AddTagsToResource RemoveTagsFromResource ListTagsForResource")
_EC2_NETWORK_READ = _a("ec2", "DescribeVpcs DescribeSubnets DescribeSecurityGroups DescribeNetworkInterfaces")
_ALARMS = _a("cloudwatch", "PutMetricAlarm DeleteAlarms DescribeAlarms GetMetricData")

RESOURCE_ACTIONS: dict[str, tuple[str, ...]] = {
    "AWS::ApplicationAutoScaling::ScalableTarget": (
        *_a("application-autoscaling", "RegisterScalableTarget DeregisterScalableTarget DescribeScalableTargets "
            "PutScheduledAction DeleteScheduledAction DescribeScheduledActions TagResource UntagResource ListTagsForResource"),
        *_a("ecs", "DescribeServices UpdateService"), *_ALARMS, "iam:CreateServiceLinkedRole", "iam:PassRole",
    ),  # fmt: skip
    "AWS::ApplicationAutoScaling::ScalingPolicy": (
        *_a("application-autoscaling", "PutScalingPolicy DeleteScalingPolicy DescribeScalingPolicies"), *_ALARMS,
    ),  # fmt: skip
    "AWS::Budgets::Budget": _a("budgets", "ModifyBudget ViewBudget TagResource UntagResource ListTagsForResource"),
    "AWS::CertificateManager::Certificate": (
        *_a("acm", "RequestCertificate DescribeCertificate DeleteCertificate UpdateCertificateOptions "
            "AddTagsToCertificate RemoveTagsFromCertificate ListTagsForCertificate"),
        # DNS validation: CloudFormation writes the validation records into the hosted zone.
        *_a("route53", "ChangeResourceRecordSets GetChange"),
    ),  # fmt: skip
    "AWS::CloudFormation::Stack": (
        *_a("cloudformation", "CreateStack UpdateStack DeleteStack DescribeStacks DescribeStackEvents DescribeStackResource "
            "DescribeStackResources GetTemplate GetTemplateSummary ValidateTemplate ListStackResources SetStackPolicy "
            "UpdateTerminationProtection TagResource UntagResource"),
        "iam:PassRole",
    ),  # fmt: skip
    "AWS::CloudWatch::Alarm": (*_ALARMS, *_a("cloudwatch", "TagResource UntagResource ListTagsForResource")),
    "AWS::EC2::EIP": (*_a("ec2", "AllocateAddress ReleaseAddress DescribeAddresses AssociateAddress DisassociateAddress"), *_EC2_TAGS),
    "AWS::EC2::FlowLog": (
        *_a("ec2", "CreateFlowLogs DeleteFlowLogs DescribeFlowLogs"), *_EC2_TAGS, "autoscaling:DescribeTags",
        "iam:PassRole", "iam:CreateServiceLinkedRole",
    ),  # fmt: skip
    "AWS::EC2::InternetGateway": (*_a("ec2", "CreateInternetGateway DeleteInternetGateway DescribeInternetGateways"), *_EC2_TAGS),
    "AWS::EC2::NatGateway": (
        *_a("ec2", "CreateNatGateway DeleteNatGateway DescribeNatGateways AssociateNatGatewayAddress DisassociateNatGatewayAddress "
            "AssignPrivateNatGatewayAddress UnassignPrivateNatGatewayAddress"),
        *_EC2_TAGS,
    ),  # fmt: skip
    "AWS::EC2::Route": (*_a("ec2", "CreateRoute ReplaceRoute DeleteRoute DescribeRouteTables"), *_EC2_NETWORK_READ),
    "AWS::EC2::RouteTable": (*_a("ec2", "CreateRouteTable DeleteRouteTable DescribeRouteTables"), *_EC2_TAGS),
    "AWS::EC2::SecurityGroup": (
        *_a("ec2", "CreateSecurityGroup DeleteSecurityGroup DescribeSecurityGroups DescribeInstances AuthorizeSecurityGroupIngress "
            "AuthorizeSecurityGroupEgress RevokeSecurityGroupIngress RevokeSecurityGroupEgress "
            "UpdateSecurityGroupRuleDescriptionsIngress UpdateSecurityGroupRuleDescriptionsEgress"),
        *_EC2_TAGS,
    ),  # fmt: skip
    "AWS::EC2::SecurityGroupEgress": _a("ec2", "AuthorizeSecurityGroupEgress RevokeSecurityGroupEgress "
                                        "UpdateSecurityGroupRuleDescriptionsEgress DescribeSecurityGroups DescribeSecurityGroupRules"),
    "AWS::EC2::SecurityGroupIngress": _a("ec2", "AuthorizeSecurityGroupIngress RevokeSecurityGroupIngress "
                                         "UpdateSecurityGroupRuleDescriptionsIngress DescribeSecurityGroups DescribeSecurityGroupRules"),
    "AWS::EC2::Subnet": (
        *_a("ec2", "CreateSubnet DeleteSubnet ModifySubnetAttribute DescribeSubnets DescribeAvailabilityZones "
            "AssociateSubnetCidrBlock DisassociateSubnetCidrBlock"),
        *_EC2_TAGS,
    ),  # fmt: skip
    "AWS::EC2::SubnetRouteTableAssociation": _a("ec2", "AssociateRouteTable DisassociateRouteTable ReplaceRouteTableAssociation "
                                                "DescribeRouteTables DescribeSubnets"),
    "AWS::EC2::VPC": (*_a("ec2", "CreateVpc DeleteVpc ModifyVpcAttribute ModifyVpcTenancy DescribeVpcs DescribeVpcAttribute"), *_EC2_TAGS),
    "AWS::EC2::VPCEndpoint": (
        *_a("ec2", "CreateVpcEndpoint ModifyVpcEndpoint DeleteVpcEndpoints DescribeVpcEndpoints DescribePrefixLists"),
        *_EC2_NETWORK_READ, *_EC2_TAGS,
    ),  # fmt: skip
    "AWS::EC2::VPCGatewayAttachment": _a("ec2", "AttachInternetGateway DetachInternetGateway DescribeInternetGateways DescribeVpnGateways"),
    "AWS::ECS::Cluster": (
        *_a("ecs", "CreateCluster DeleteCluster DescribeClusters UpdateCluster UpdateClusterSettings PutClusterCapacityProviders "
            "TagResource UntagResource ListTagsForResource"),
        "iam:CreateServiceLinkedRole", "kms:DescribeKey",
    ),  # fmt: skip
    "AWS::ECS::Service": (
        *_a("ecs", "CreateService UpdateService DeleteService DescribeServices DescribeServiceDeployments ListServiceDeployments "
            "StopServiceDeployment TagResource UntagResource ListTagsForResource"),
        "iam:PassRole",
    ),  # fmt: skip
    "AWS::ECS::TaskDefinition": (
        *_a("ecs", "RegisterTaskDefinition DeregisterTaskDefinition DescribeTaskDefinition TagResource UntagResource ListTagsForResource"),
        "iam:GetRole", "iam:PassRole",
    ),  # fmt: skip
    "AWS::ElasticLoadBalancingV2::Listener": (
        *_a("elasticloadbalancing", "CreateListener ModifyListener DeleteListener DescribeListeners DescribeListenerAttributes "
            "ModifyListenerAttributes"),
        *_ELB_TAGS,
    ),  # fmt: skip
    "AWS::ElasticLoadBalancingV2::ListenerRule": (
        *_a("elasticloadbalancing", "CreateRule ModifyRule DeleteRule DescribeRules SetRulePriorities"),
        *_ELB_TAGS,
    ),  # fmt: skip
    "AWS::ElasticLoadBalancingV2::LoadBalancer": (
        *_a("elasticloadbalancing", "CreateLoadBalancer DeleteLoadBalancer DescribeLoadBalancers DescribeLoadBalancerAttributes "
            "ModifyLoadBalancerAttributes SetSecurityGroups SetSubnets SetIpAddressType ModifyCapacityReservation ModifyIpPools"),
        "ec2:DescribeIpamPools", "iam:CreateServiceLinkedRole", *_ELB_TAGS,
    ),  # fmt: skip
    "AWS::ElasticLoadBalancingV2::TargetGroup": (
        *_a("elasticloadbalancing", "CreateTargetGroup ModifyTargetGroup ModifyTargetGroupAttributes DeleteTargetGroup "
            "DescribeTargetGroups DescribeTargetGroupAttributes DescribeTargetHealth RegisterTargets DeregisterTargets"),
        "ec2:DescribeVpcs", *_ELB_TAGS,
    ),  # fmt: skip
    "AWS::Events::Rule": (
        *_a("events", "PutRule DeleteRule DescribeRule EnableRule DisableRule PutTargets RemoveTargets ListTargetsByRule "
            "TagResource UntagResource"),
        "iam:PassRole",
    ),  # fmt: skip
    "AWS::IAM::Role": _a("iam", "CreateRole DeleteRole GetRole UpdateRole UpdateRoleDescription UpdateAssumeRolePolicy PutRolePolicy "
                         "GetRolePolicy DeleteRolePolicy ListRolePolicies AttachRolePolicy DetachRolePolicy ListAttachedRolePolicies "
                         "PutRolePermissionsBoundary TagRole UntagRole"),
    "AWS::KMS::Key": _a("kms", "CreateKey DescribeKey EnableKey DisableKey EnableKeyRotation DisableKeyRotation GetKeyRotationStatus "
                        "GetKeyPolicy PutKeyPolicy UpdateKeyDescription ListResourceTags TagResource UntagResource ScheduleKeyDeletion"),
    "AWS::Lambda::Function": (
        *_a("lambda", "CreateFunction DeleteFunction GetFunction GetFunctionConfiguration UpdateFunctionCode UpdateFunctionConfiguration "
            "PutFunctionConcurrency DeleteFunctionConcurrency PublishVersion ListTags TagResource UntagResource "
            "GetFunctionCodeSigningConfig DeleteFunctionCodeSigningConfig GetCodeSigningConfig "
            "GetFunctionRecursionConfig PutFunctionRecursionConfig GetRuntimeManagementConfig PutRuntimeManagementConfig "
            "PutFunctionScalingConfig"),
        *_EC2_NETWORK_READ, "kms:DescribeKey", "iam:PassRole",
    ),  # fmt: skip
    "AWS::Lambda::Permission": _a("lambda", "AddPermission RemovePermission GetPolicy"),
    # CloudFormation invokes a Lambda-backed custom resource with the caller's credentials.
    "Custom::DefaultSecurityGroupRules": ("lambda:InvokeFunction",),
    "Custom::LogRetention": ("lambda:InvokeFunction",),
    "Custom::OneOffTask": ("lambda:InvokeFunction",),
    "AWS::Logs::LogGroup": _a("logs", "CreateLogGroup DeleteLogGroup DescribeLogGroups PutRetentionPolicy DeleteRetentionPolicy "
                              "ListTagsForResource TagResource UntagResource PutLogGroupDeletionProtection DescribeResourcePolicies "
                              "GetDataProtectionPolicy PutDataProtectionPolicy DeleteDataProtectionPolicy "
                              "DescribeIndexPolicies PutIndexPolicy DeleteIndexPolicy"),
    "AWS::RDS::DBInstance": (
        *_a("rds", "CreateDBInstance ModifyDBInstance DeleteDBInstance RebootDBInstance DescribeDBInstances CreateDBSnapshot "
            "DescribeDBSnapshots DescribeDBParameterGroups DescribeDBEngineVersions DescribeDBClusters DescribeDBClusterSnapshots "
            "DescribeDBInstanceAutomatedBackups DescribeEvents"),
        *_RDS_TAGS,
        # The RDS-managed master password is a secret RDS creates and tags with the caller's rights.
        *_a("secretsmanager", "CreateSecret TagResource"),
        *_a("ec2", "DescribeAccountAttributes DescribeAvailabilityZones DescribeInternetGateways DescribeVpcAttribute"),
        *_EC2_NETWORK_READ, "kms:DescribeKey", "iam:GetRole", "iam:ListRoles", "iam:PassRole", "iam:CreateServiceLinkedRole",
    ),  # fmt: skip
    "AWS::RDS::DBParameterGroup": (
        *_a("rds", "CreateDBParameterGroup ModifyDBParameterGroup ResetDBParameterGroup DeleteDBParameterGroup "
            "DescribeDBParameterGroups DescribeDBParameters DescribeEngineDefaultParameters"),
        *_RDS_TAGS, "iam:CreateServiceLinkedRole",
    ),  # fmt: skip
    "AWS::RDS::OptionGroup": (
        *_a("rds", "CreateOptionGroup ModifyOptionGroup DeleteOptionGroup DescribeOptionGroups"),
        *_RDS_TAGS,
    ),  # fmt: skip
    "AWS::RDS::DBSubnetGroup": (
        *_a("rds", "CreateDBSubnetGroup ModifyDBSubnetGroup DeleteDBSubnetGroup DescribeDBSubnetGroups"), *_RDS_TAGS,
        "iam:CreateServiceLinkedRole",
    ),  # fmt: skip
    "AWS::Route53::RecordSet": _a("route53", "ChangeResourceRecordSets GetChange GetHostedZone ListResourceRecordSets ListHostedZones"),
    "AWS::S3::Bucket": _a("s3", "CreateBucket DeleteBucket GetBucketLocation GetBucketAcl ListBucket PutBucketOwnershipControls "
                          "PutBucketPublicAccessBlock PutBucketTagging TagResource UntagResource PutBucketVersioning "
                          "PutEncryptionConfiguration PutLifecycleConfiguration "
                          "PutBucketLogging PutBucketNotification PutBucketCORS PutBucketWebsite DeleteBucketWebsite "
                          "PutAccelerateConfiguration PutAnalyticsConfiguration PutMetricsConfiguration PutInventoryConfiguration "
                          "PutIntelligentTieringConfiguration PutBucketAbac"),
    "AWS::S3::BucketPolicy": _a("s3", "PutBucketPolicy GetBucketPolicy DeleteBucketPolicy"),
    "AWS::SecretsManager::Secret": _a("secretsmanager", "CreateSecret DeleteSecret DescribeSecret UpdateSecret GetSecretValue "
                                      "GetRandomPassword TagResource UntagResource"),
    "AWS::SNS::Subscription": _a("sns", "Subscribe Unsubscribe GetSubscriptionAttributes SetSubscriptionAttributes ListSubscriptionsByTopic"),
    "AWS::SNS::TopicPolicy": _a("sns", "SetTopicAttributes GetTopicAttributes"),
    "AWS::SNS::Topic": (
        *_a("sns", "CreateTopic DeleteTopic GetTopicAttributes SetTopicAttributes ListTagsForResource TagResource UntagResource "
            "Subscribe Unsubscribe ListSubscriptionsByTopic GetDataProtectionPolicy PutDataProtectionPolicy"),
        "iam:GetRole",
    ),  # fmt: skip
    "AWS::SQS::Queue": _a("sqs", "CreateQueue DeleteQueue GetQueueAttributes SetQueueAttributes GetQueueUrl ListQueueTags TagQueue UntagQueue"),
    "AWS::SQS::QueuePolicy": _a("sqs", "SetQueueAttributes GetQueueAttributes"),
}


def _same(reason: str, *actions: str) -> dict[str, str]:
    return dict.fromkeys(actions, reason)


# Handler permissions the launch role is not given, per resource type, each with the property
# it serves and why that property is never set here.
NOT_NEEDED: dict[str, dict[str, str]] = {
    "AWS::ApplicationAutoScaling::ScalableTarget": _same(
        "provisioned concurrency of a Lambda alias; the only scalable target is the ECS service's DesiredCount",
        "lambda:PutProvisionedConcurrencyConfig", "lambda:DeleteProvisionedConcurrencyConfig", "lambda:GetProvisionedConcurrencyConfig",
    ),
    "AWS::Budgets::Budget": {"billing:GetBillingViewData": "only with BillingViewArn; the budget watches the account's own costs"},
    "AWS::CertificateManager::Certificate": _same(
        "only with CertificateAuthorityArn (a private CA); the certificate is a public, DNS-validated one",
        "acm-pca:IssueCertificate", "acm-pca:GetCertificate",
    ),
    "AWS::EC2::EIP": {"ec2:AcceptAddressTransfer": "only with TransferAddress; the addresses are allocated in this account"},
    "AWS::EC2::FlowLog": {
        **_same("log delivery to S3 or Firehose; the flow log writes to CloudWatch Logs through its own role",
                "logs:CreateLogDelivery", "logs:DeleteLogDelivery"),
    },  # fmt: skip
    "AWS::EC2::VPC": {"ec2:CreateVpcEncryptionControl": "only with VpcEncryptionControl, which the VPC does not set"},
    "AWS::EC2::VPCEndpoint": {
        **_same("only for a service-network endpoint (ServiceNetworkArn); this is an S3 gateway endpoint",
                "vpc-lattice:CreateServiceNetworkVpcEndpointAssociation", "vpc-lattice:DescribeServiceNetworkVpcEndpointAssociation"),
        "vpce:AllowMultiRegion": "only with ServiceRegion (a cross-Region endpoint); the S3 endpoint is in the stack's Region",
    },  # fmt: skip
    "AWS::EC2::VPCGatewayAttachment": _same(
        "only with VpnGatewayId; the attachment is of the internet gateway", "ec2:AttachVpnGateway", "ec2:DetachVpnGateway",
    ),
    "AWS::ECS::Cluster": _same(
        "changes the account-wide ECS defaults for every principal; the cluster sets only its own ClusterSettings",
        "ecs:PutAccountSetting", "ecs:PutAccountSettingDefault",
    ),
    "AWS::ElasticLoadBalancingV2::Listener": {
        "cognito-idp:DescribeUserPoolClient": "only for an authenticate-cognito action; the listeners forward and redirect",
    },
    "AWS::ElasticLoadBalancingV2::ListenerRule": {
        "cognito-idp:DescribeUserPoolClient": "only for an authenticate-cognito action; the rules forward",
    },
    "AWS::IAM::Role": {
        "iam:DeleteRolePermissionsBoundary": "the update handler calls it only when a role drops PermissionsBoundary, which no "
                                             "product role does; removing it is the escalation the boundary stops (denied)",
    },
    "AWS::Lambda::Function": {
        **_same("only with KmsKeyArn; the environment is encrypted with Lambda's service key",
                "kms:CreateGrant", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"),
        **_same("only with FileSystemConfigs; the function mounts no file system",
                "elasticfilesystem:DescribeMountTargets", "s3files:ListMountTargets"),
        "lambda:GetLayerVersion": "only with Layers; the function has none",
        "lambda:PutFunctionCodeSigningConfig": "only with CodeSigningConfigArn; the inline code is not signed",
        "lambda:PassCapacityProvider": "only with CapacityProviderConfig; the function runs on Lambda's default capacity",
    },  # fmt: skip
    "AWS::Logs::LogGroup": {
        **_same("only with KmsKeyId; the log groups use the CloudWatch Logs service key", "logs:AssociateKmsKey", "logs:DisassociateKmsKey"),
        **_same("account-wide log resource policies that let other services write to any log group; the log groups set none",
                "logs:PutResourcePolicy", "logs:DeleteResourcePolicy"),
        **_same("vended log delivery to S3 or Firehose; no log group delivers anywhere",
                "logs:CreateLogDelivery", "firehose:TagDeliveryStream", "s3:REST.PUT.OBJECT"),
        "logs:PutBearerTokenAuthentication": "only with BearerTokenAuthenticationEnabled, which no log group sets",
    },  # fmt: skip
    "AWS::RDS::DBInstance": {
        "kms:CreateGrant": "only with a customer KmsKeyId; storage uses the RDS AWS-managed key, whose policy grants RDS itself",
        **_same("only with AssociatedRoles; the instance has none", "rds:AddRoleToDBInstance", "rds:RemoveRoleFromDBInstance"),
        **_same("read replicas and restores (SourceDBInstanceIdentifier, DBSnapshotIdentifier, RestoreTime) are not used",
                "rds:CreateDBInstanceReadReplica", "rds:PromoteReadReplica", "rds:RestoreDBInstanceFromDBSnapshot",
                "rds:RestoreDBInstanceToPointInTime"),
        **_same("cross-Region backup replication (AutomaticBackupReplicationRegion) is not used",
                "rds:StartDBInstanceAutomatedBackupsReplication", "rds:StopDBInstanceAutomatedBackupsReplication"),
    },  # fmt: skip
    "AWS::S3::Bucket": {
        "s3:DeleteObject": "CloudFormation never empties a bucket, and the access-log bucket is retained on delete",
        **_same("ACLs are disabled (ObjectOwnership BucketOwnerEnforced); AccessControl is never set", "s3:PutBucketAcl", "s3:PutObjectAcl"),
        **_same("only with ObjectLockEnabled, which cannot be undone; the bucket does not set it",
                "s3:PutBucketObjectLockConfiguration", "s3:PutObjectLockConfiguration"),
        **_same("only with ReplicationConfiguration, which passes a role to S3; the bucket does not replicate",
                "s3:PutBucketReplication", "s3:PutReplicationConfiguration"),
        **_same("only with MetadataTableConfiguration, which creates S3 Tables in the account; the bucket does not set it",
                "s3:CreateBucketMetadataTableConfiguration", "s3:DeleteBucketMetadataTableConfiguration",
                "s3:GetBucketMetadataTableConfiguration", "s3:UpdateBucketMetadataAnnotationTableConfiguration",
                "s3:UpdateBucketMetadataInventoryTableConfiguration", "s3:UpdateBucketMetadataJournalTableConfiguration",
                "s3tables:CreateNamespace", "s3tables:CreateTable", "s3tables:CreateTableBucket", "s3tables:GetTable",
                "s3tables:GetTableMetadataLocation", "s3tables:PutTableBucketPolicy", "s3tables:PutTableEncryption",
                "s3tables:PutTablePolicy", "s3tables:UpdateTableMetadataLocation"),
    },  # fmt: skip
    "AWS::SecretsManager::Secret": _same(
        "only with ReplicaRegions; the secret lives in the stack's Region only",
        "secretsmanager:ReplicateSecretToRegions", "secretsmanager:RemoveRegionsFromReplication",
    ),
}

# Handler permissions that are API names, not IAM actions (cfn-lint W3037 knows no such action):
# the IAM action S3 authorises the call as. The launch role has the IAM action, or NOT_NEEDED
# says why not.
AUTHORIZED_AS: dict[str, str] = {
    "s3:DeleteBucketCors": "s3:PutBucketCORS",
    "s3:DeleteBucketEncryption": "s3:PutEncryptionConfiguration",
    "s3:DeleteBucketLifecycle": "s3:PutLifecycleConfiguration",
    "s3:DeleteBucketAnalyticsConfiguration": "s3:PutAnalyticsConfiguration",
    "s3:DeleteBucketMetricsConfiguration": "s3:PutMetricsConfiguration",
    "s3:DeleteBucketReplication": "s3:PutReplicationConfiguration",
}
for _api, _action in AUTHORIZED_AS.items():
    NOT_NEEDED["AWS::S3::Bucket"].setdefault(_api, f"not an IAM action: S3 authorises this API as {_action}")
NOT_NEEDED["AWS::Lambda::Function"]["lambda:AssociateRuntimeAlias"] = "not in IAM's list of Lambda actions (cfn-lint W3037): a policy naming it would grant nothing"

# The service each type hands a role to (iam:PassedToService), and the service-linked roles a type
# may create on first use (iam:AWSServiceName). A type absent here passes no role / needs no SLR.
PASSED_TO: dict[str, str] = {
    "AWS::ECS::TaskDefinition": "ecs-tasks.amazonaws.com",
    "AWS::Lambda::Function": "lambda.amazonaws.com",
    "AWS::EC2::FlowLog": "vpc-flow-logs.amazonaws.com",
    "AWS::RDS::DBInstance": "monitoring.rds.amazonaws.com",  # enhanced monitoring's MonitoringRoleArn
    "AWS::ECS::Service": "ecs.amazonaws.com",  # a progressive release's traffic role (LoadBalancers AdvancedConfiguration.RoleArn)
}
SERVICE_LINKED: dict[str, str] = {
    "AWS::ECS::Cluster": "ecs.amazonaws.com",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "elasticloadbalancing.amazonaws.com",
    "AWS::RDS::DBInstance": "rds.amazonaws.com",
    "AWS::ApplicationAutoScaling::ScalableTarget": "ecs.application-autoscaling.amazonaws.com",
}
