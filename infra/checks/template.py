"""Checks template.yaml for real: what an on-call engineer needs (every alarm reaches someone;
every function, route group and dead-letter queue has its alarms), then SAM translation, then
cfn-lint on the CloudFormation it produces. cfn-lint alone no longer expands SAM and misses
broken references inside SAM resources.

Usage: python infra/checks/template.py [TEMPLATE]   (exit 0: clean; 1: findings; 2: bad usage)
Runs offline: no AWS account, no network; the region is only a name for ARNs.
"""

import json
import os
import re
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


def ref(value):
    """The logical id a `!Ref X` or `!GetAtt X.Attr` names, else None."""
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            return target[0] if isinstance(target, list) else target.split(".")[0]
    return None


def alarmed(alarm):
    """What an alarm watches: (namespace, metric, the logical id its dimension names)."""
    properties = alarm.get("Properties") or {}
    stats = [properties] + [m.get("MetricStat", {}).get("Metric", {}) for m in properties.get("Metrics", [])]
    for stat in stats:
        for dimension in stat.get("Dimensions", []):
            target = ref(dimension.get("Value"))
            if target:
                yield stat.get("Namespace"), stat.get("MetricName"), target


CATALOGUE = os.path.join(os.path.dirname(__file__), "..", "monitoring", "metrics.json")
# What AWS publishes that the template may name.
AWS_METRICS = {
    "AWS/Lambda": {"Errors", "Throttles", "Duration", "Invocations", "ConcurrentExecutions"},
    "AWS/SQS": {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage", "NumberOfMessagesSent"},
}


def substituted(value):
    """The text of a `!Sub` (or a plain string), and the logical ids its `${X}`/`${X.Attr}` name."""
    text = value.get("Fn::Sub") if isinstance(value, dict) else value
    if isinstance(text, list):
        text = text[0]
    text = text if isinstance(text, str) else ""
    names = {name.split(".")[0] for name in re.findall(r"\$\{([A-Za-z0-9.:]+)\}", text)}
    return text, {name for name in names if not name.startswith("AWS::")}


def known_metric(namespace, metric, steward_metrics):
    if namespace == "Steward":
        return metric in steward_metrics
    return metric in AWS_METRICS.get(namespace, set())


def dashboard_findings(logical_id, resource, resources, steward_metrics):
    text, names = substituted((resource.get("Properties") or {}).get("DashboardBody"))
    findings = [f"dashboard {logical_id} names {name}, which is not a resource" for name in sorted(names - set(resources))]
    try:
        body = json.loads(re.sub(r"\$\{[A-Za-z0-9.:]+\}", "x", text))
    except json.JSONDecodeError as error:
        return findings + [f"dashboard {logical_id}'s body is not JSON: {error}"]
    for widget in body.get("widgets", []):
        for line in widget.get("properties", {}).get("metrics", []):
            if len(line) >= 2 and isinstance(line[0], str) and isinstance(line[1], str):
                if not known_metric(line[0], line[1], steward_metrics):
                    findings.append(f"dashboard {logical_id} draws {line[0]} {line[1]}, a metric nothing writes")
    return findings


def monitoring_findings(document):
    """What the template lacks for the people on call: one finding per gap."""
    resources = document.get("Resources", {})
    with open(CATALOGUE, encoding="utf-8") as f:
        steward_metrics = set(json.load(f)["metrics"])
    findings = []
    watched = set()
    under_composite = set()
    composites = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") == "AWS::CloudWatch::CompositeAlarm":
            _, parts = substituted((resource.get("Properties") or {}).get("AlarmRule"))
            composites[logical_id] = parts
            under_composite |= parts
    for logical_id, resource in resources.items():
        kind = resource.get("Type")
        if kind == "AWS::CloudWatch::Dashboard":
            findings += dashboard_findings(logical_id, resource, resources, steward_metrics)
        if kind not in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"):
            continue
        properties = resource.get("Properties") or {}
        if logical_id not in under_composite:
            for actions in ("AlarmActions", "OKActions"):
                if not properties.get(actions):
                    findings.append(f"alarm {logical_id} has no {actions}: nobody hears of it")
            if "Runbook: " not in str(properties.get("AlarmDescription", "")):
                findings.append(f"alarm {logical_id} names no runbook in its AlarmDescription")
        for namespace, metric, _ in alarmed(resource):
            if not known_metric(namespace, metric, steward_metrics):
                findings.append(f"alarm {logical_id} watches {namespace} {metric}, a metric nothing writes")
        # A composite's windows defend an objective; the alarms that page on their own are these.
        if kind == "AWS::CloudWatch::Alarm" and logical_id not in under_composite:
            watched.update(alarmed(resource))
    for logical_id, parts in composites.items():
        for part in sorted(parts - set(resources)):
            findings.append(f"composite alarm {logical_id} names {part}, which is not an alarm")
    # What each composite's windows watch: the objectives' burn-rate alarms.
    burning = {
        watch
        for parts in composites.values()
        for part in parts
        if part in resources
        for watch in alarmed(resources[part])
    }
    service_wide = {
        (stat.get("Namespace"), stat.get("MetricName"))
        for parts in composites.values()
        for part in parts
        if part in resources
        for stat in [m.get("MetricStat", {}).get("Metric", {}) for m in (resources[part].get("Properties") or {}).get("Metrics", [])]
        if not stat.get("Dimensions")
    }
    if ("Steward", "Faults") not in service_wide:
        findings.append("no burn-rate alarm on the availability objective (service-wide Faults)")
    for logical_id, resource in resources.items():
        kind = resource.get("Type")
        properties = resource.get("Properties") or {}
        if kind == "AWS::Serverless::Function":
            for metric in ("Errors", "Throttles", "Duration"):
                if ("AWS/Lambda", metric, logical_id) not in watched:
                    findings.append(f"function {logical_id} has no alarm on its {metric}")
            events = (properties.get("Events") or {}).values()
            if any(event.get("Type") == "HttpApi" for event in events):
                for metric in ("Faults", "Latency"):
                    if ("Steward", metric, logical_id) not in watched:
                        findings.append(f"HTTP function {logical_id} has no alarm on its routes' {metric}")
                if ("Steward", "Latency", logical_id) not in burning:
                    findings.append(f"HTTP function {logical_id} has no burn-rate alarm on its latency objective")
        if kind == "AWS::SQS::Queue" and properties.get("RedrivePolicy"):
            dead = ref(properties["RedrivePolicy"].get("deadLetterTargetArn"))
            if ("AWS/SQS", "ApproximateNumberOfMessagesVisible", dead) not in watched:
                findings.append(f"queue {logical_id}'s dead-letter queue {dead} has no depth alarm")
    return findings


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
    with open(path, encoding="utf-8") as f:
        findings = monitoring_findings(yaml_parse(f.read()))
    for finding in findings:
        print(f"{path}: monitoring: {finding}", file=sys.stderr)
    if findings:
        return 1
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
