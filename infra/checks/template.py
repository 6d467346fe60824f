"""Checks template.yaml for real: SAM translation first, then cfn-lint on the CloudFormation it
produces. cfn-lint alone no longer expands SAM and misses broken references inside SAM resources.

Usage: python infra/checks/template.py [TEMPLATE]   (exit 0: clean; 1: findings; 2: bad usage)
Runs offline: no AWS account, no network; the region is only a name for ARNs.
"""

import json
import os
import subprocess
import sys
import tempfile

from samtranslator.public.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """The translator asks IAM for managed policy ARNs; offline, we name none."""

    def load(self):
        return {}


def as_packaged(document):
    """`sam package` replaces local CodeUri folders with S3 locations; the translator wants those."""
    for logical_id, resource in document.get("Resources", {}).items():
        properties = resource.get("Properties") or {}
        code_uri = properties.get("CodeUri")
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(code_uri, str):
            if not code_uri.startswith("s3://"):
                properties["CodeUri"] = f"s3://steward-artifacts/{logical_id}.zip"
    return document


def translate(path):
    with open(path, encoding="utf-8") as f:
        document = as_packaged(yaml_parse(f.read()))
    try:
        return transform(document, {}, NoManagedPolicies())
    except InvalidDocumentException as error:
        for cause in error.causes:
            print(f"{path}: SAM: {cause.message}", file=sys.stderr)
        return None


def main(argv):
    if len(argv) > 2:
        print(__doc__, file=sys.stderr)
        return 2
    path = argv[1] if len(argv) == 2 else "template.yaml"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    translated = translate(path)
    if translated is None:
        return 1
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as out:
        json.dump(translated, out, indent=1)
    try:
        lint = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "cfn-lint"), "--format", "parseable", "--", out.name],
            capture_output=True,
            text=True,
        )
    finally:
        os.unlink(out.name)
    findings = (lint.stdout + lint.stderr).strip()
    if findings:
        print(findings.replace(out.name, f"{path} (translated)"), file=sys.stderr)
    if lint.returncode != 0:
        return 1
    print(f"{path}: SAM translation and cfn-lint clean")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
