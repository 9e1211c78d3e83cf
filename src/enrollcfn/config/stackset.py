"""StackSets: how `enrollcfn stackset` deploys the bootstrap stack (artifact bucket, ECR
repository, permissions boundary) to many accounts and regions through CloudFormation StackSets.

SERVICE_MANAGED (the default) targets organizational units of AWS Organizations from the
management account or a delegated administrator (call_as: DELEGATED_ADMIN), with trusted access
for StackSets turned on; new accounts of a target OU get the stack automatically. SELF_MANAGED is
for accounts outside an organization: every target account holds the execution role, trusted by
the administration role of this account (CloudFormation User Guide, "Grant self-managed
permissions").
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import model_validator

from enrollcfn.config._base import Bool, Int, Section, Text, check, int_range, rules

# CreateStackSet AdministrationRoleARN / ExecutionRoleName (botocore's CloudFormation model:
# RoleARN 20-2048 characters; ExecutionRoleName ^[a-zA-Z_0-9+=,.@-]+$, at most 64).
RoleArn = Annotated[Text, check(r"|arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}", "is not an IAM role ARN "
                                "(arn:aws:iam::<12 digits>:role/<name>); leave it empty for the default AWSCloudFormationStackSetAdministrationRole")]
RoleName = Annotated[Text, check(r"[a-zA-Z_0-9+=,.@-]{1,64}", "is not an IAM role name: 1-64 letters, digits and + = , . @ _ -")]


class StackSet(Section):
    """Permission model and operation preferences of the bootstrap StackSet."""

    permission_model: Literal["SERVICE_MANAGED", "SELF_MANAGED"] = "SERVICE_MANAGED"
    # DELEGATED_ADMIN: the caller is a delegated administrator for StackSets, not the management account.
    call_as: Literal["SELF", "DELEGATED_ADMIN"] = "SELF"
    # Service-managed only: accounts added to a target OU get the stack; one leaving keeps its
    # stack (its bucket and repository hold data), unless this is false.
    auto_deployment: Bool = True
    retain_stacks_on_account_removal: Bool = True
    # Self-managed only: empty means the documented default names in each account.
    administration_role_arn: RoleArn = ""
    execution_role_name: RoleName = "AWSCloudFormationStackSetExecutionRole"
    # OperationPreferences: one account at a time, stop at the first failure, one region after
    # another (the config's region first, where the account-wide boundary is created).
    # StackSets allows at most failure_tolerance + 1 concurrent accounts in strict mode.
    max_concurrent: Annotated[Int, int_range(1, 100)] = 1
    failure_tolerance: Annotated[Int, int_range(0, 99)] = 0

    @model_validator(mode="after")
    def _consistent(self) -> StackSet:
        out = []
        if self.max_concurrent > self.failure_tolerance + 1:
            out.append(("stackset.max_concurrent", f"{self.max_concurrent} exceeds failure_tolerance + 1 ({self.failure_tolerance + 1}), "
                                                   "which StackSets refuses; raise failure_tolerance or lower max_concurrent"))
        if self.permission_model == "SERVICE_MANAGED" and self.administration_role_arn:
            out.append(("stackset.administration_role_arn", "is for SELF_MANAGED; service-managed StackSets use the Organizations service roles"))
        if self.permission_model == "SELF_MANAGED" and self.call_as != "SELF":
            out.append(("stackset.call_as", "DELEGATED_ADMIN is for SERVICE_MANAGED StackSets; use SELF"))
        rules(out)
        return self
