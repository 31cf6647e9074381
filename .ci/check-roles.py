#!/usr/bin/env python3
"""Checks that each Lambda function's role in template.yaml allows the calls
its code makes outside its own resources: the existence checks a desk makes
at start, the archive's objects, the tables a store checks. IAM is not
enforced by moto, so a missing grant shows only on AWS: every function there
failed at start or on its first run (ARCHIVE.md, DEPLOY.md).

Run by .ci/sam-lint.sh with cfn-lint's YAML loader (it reads !GetAtt, !Sub).
Each function's binary must have an entry in NEEDS: a new function makes
this check fail until someone says what its code needs.
"""

import fnmatch
import re
import sys

from cfnlint.decode import cfn_yaml

# `AwsPorts::open` (shared/aws/src/ports.rs): the tables, queues and bucket
# it checks exist before the desk serves.
OPENED = [
    ("dynamodb:DescribeTable", "MainTable"),
    ("dynamodb:DescribeTable", "MessagesTable"),
    ("dynamodb:DescribeTable", "LeasesTable"),
    ("sqs:GetQueueUrl", "UpdatesQueue"),
    ("sqs:GetQueueAttributes", "UpdatesQueue"),
    ("sqs:GetQueueUrl", "CommandsQueue"),
    ("sqs:GetQueueAttributes", "CommandsQueue"),
    ("s3:ListBucket", "FilesBucket"),
]
# A DynamoDB store checks both its tables before its first read (store/mod.rs).
STORE = [("dynamodb:DescribeTable", "MainTable"), ("dynamodb:DescribeTable", "MessagesTable")]
# The archive (BlobArchive over S3): objects under {tenant}/archive/; listing
# lets a missing object read as missing rather than denied.
ARCHIVE_READ_WRITE = [
    ("s3:GetObject", "FilesBucket/t/archive/x"),
    ("s3:PutObject", "FilesBucket/t/archive/x"),
    ("s3:ListBucket", "FilesBucket"),
]

NEEDS = {
    "api": OPENED + ARCHIVE_READ_WRITE,  # open_desk; history.rs changes archived messages
    "jobs": OPENED + [("s3:GetObject", "FilesBucket/t/imports/x")],  # open_desk; import files
    "ingest": STORE + ARCHIVE_READ_WRITE,  # AwsPorts::unchecked; edits and deletes of archived messages
    # ExpiryArchiver: a dialog's messages about to expire, read and marked
    "archiver": STORE
    + ARCHIVE_READ_WRITE
    + [
        ("s3:DeleteObject", "FilesBucket/t/archive/x"),
        ("dynamodb:Query", "MessagesTable"),
        ("dynamodb:UpdateItem", "MessagesTable"),
    ],
    "retention": STORE + ARCHIVE_READ_WRITE + [("s3:DeleteObject", "FilesBucket/t/archive/x")],
    "push": [],
    "indexer": [],
    "ws-connect": [],
    "ws-default": [],
    "ws-disconnect": [],
}


def resource_name(value):
    """A statement's resource as `Logical[/rest]`, or an ARN pattern."""
    if isinstance(value, dict):
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            target = target if isinstance(target, list) else str(target).split(".")
            return str(target[0])
        if "Fn::Sub" in value:
            text = value["Fn::Sub"]
            text = text[0] if isinstance(text, list) else text
            return re.sub(r"^\$\{(\w+)\.Arn\}", r"\1", str(text))
        if "Ref" in value:
            return str(value["Ref"])
    return str(value)


def grants(template, role):
    """Every (action, resource) pattern the role's inline policies allow."""
    out = []
    for policy in template["Resources"][role]["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement.get("Effect") != "Allow":
                continue
            actions = statement["Action"]
            actions = actions if isinstance(actions, list) else [actions]
            resources = statement["Resource"]
            resources = resources if isinstance(resources, list) else [resources]
            out += [(str(a), resource_name(r)) for a in actions for r in resources]
    return out


def allowed(granted, action, resource):
    return any(fnmatch.fnmatchcase(action, a) and fnmatch.fnmatchcase(resource, r) for a, r in granted)


def main():
    template = cfn_yaml.load("template.yaml")
    failures = []
    for name, res in template["Resources"].items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        binary = str(res.get("Metadata", {}).get("BuildProperties", {}).get("Binary", name))
        if binary not in NEEDS:
            failures.append(f"{name} ({binary}): no entry in .ci/check-roles.py NEEDS")
            continue
        role = resource_name(res["Properties"]["Role"])
        granted = grants(template, role)
        for action, resource in NEEDS[binary]:
            if not allowed(granted, action, resource):
                failures.append(f"{name} ({binary}): {role} does not allow {action} on {resource}")
    for failure in failures:
        print(failure, file=sys.stderr)
    if failures:
        sys.exit(1)
    print(f"every function's role allows what its code calls ({len(NEEDS)} binaries)")


if __name__ == "__main__":
    main()
