"""CloudWatch Logs retention, the alarm address and the monthly budget."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from enrollcfn.config._base import Bool, Int, Number, Section, Text, check, rules

# CloudWatch Logs PutRetentionPolicy accepts only these retentionInDays values.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip


class Logs(Section):
    """CloudWatch Logs."""

    retention_days: Int = 30  # seed

    @field_validator("retention_days")
    @classmethod
    def _allowed(cls, value: int) -> int:
        """Only the retention periods CloudWatch offers."""
        if value not in LOG_RETENTION_DAYS:
            rules([("logs.retention_days", f"CloudWatch accepts only {', '.join(map(str, LOG_RETENTION_DAYS))}; got {value}")])
        return value


# An address SNS can send to: local@domain.tld, no spaces; at most 254 characters (RFC 5321).
# Printable ASCII: SNS and Budgets take an internationalised domain only in its xn-- form, and a
# look-alike letter would send the alarms to someone else's address.
Email = Annotated[Text, check(r"|(?=.{3,254}$)[!-?A-~]+@[!-?A-~]+\.[!-?A-~]+",
                              "is not an email address of printable ASCII (an internationalised domain in its xn-- form); leave it empty for no subscription")]


# An existing standard SNS topic (chat or paging tools subscribe to it): arn:<partition>:sns:
# <region>:<account>:<name>, the name 1-256 letters, digits, '-' and '_'. FIFO topics (.fifo) are
# refused: they deliver only to SQS FIFO queues (SNS developer guide, FIFO message delivery), so
# no chat, e-mail or paging endpoint could receive an alarm from one.
TopicArn = Annotated[
    Text,
    check(r"|arn:aws(-cn|-us-gov)?:sns:[a-z]{2}(-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,256}",
          "is not the ARN of a standard SNS topic (arn:aws:sns:REGION:ACCOUNT:NAME, no .fifo); leave it empty for none"),
]


class Monitoring(Section):
    """Alarms and the monthly budget."""

    alarm_email: Email = ""  # fix: the seed had no alarms; no subscription when empty
    # false leaves the budget out: CloudFormation offers AWS::Budgets::Budget only in some
    # regions (the build says so, naming this key); Budgets itself covers the whole account.
    budget: Bool = True  # seed practice: a monthly budget at the estimate
    alarm_topic_arn: TopicArn = ""  # an existing topic the alarms and the budget also notify; none when empty
    # Budgets BudgetLimit Amount: a finite, non-negative USD figure (NaN and infinity are refused
    # for every number). AWS states no maximum; a billion dollars a month is a typing mistake.
    monthly_budget_usd: Annotated[Number, Field(ge=0, le=1e9)] = 0.0  # seed practice (budget = estimate); 0: the cost estimate, rounded up
