"""Checks template.yaml for real: what an on-call engineer needs (every alarm reaches someone;
every function, route group and dead-letter queue has its alarms), what a safe deploy needs
(aliases, the HTTP functions' canary with its hook and rollback alarms), then SAM translation, then
cfn-lint on the CloudFormation it produces. cfn-lint alone no longer expands SAM and misses
broken references inside SAM resources.

Usage: python infra/checks/template.py [TEMPLATE]   (exit 0: clean; 1: findings; 2: bad usage)
Runs offline: no AWS account, no network; the region is only a name for ARNs.
"""

import json
import logging
import os
import re
import subprocess
import sys
import tempfile

from samtranslator.public.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


# Offline there is no feature-toggle configuration: the translator's defaults are the answer, and
# its warning that it has none would be printed once per deployment preference.
logging.getLogger("samtranslator.feature_toggle").setLevel(logging.ERROR)

# cfn-lint findings on the translated template that are the translation's, not the template's:
# SAM resolves `DeploymentPreference.Type: !Ref DeploymentType` from the parameter's value when
# it translates (as CloudFormation's transform does with the deployed value), so the translated
# template no longer names the parameter.
TRANSLATION_ARTEFACTS = ("W2001:Parameter DeploymentType not used",)


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
    heartbeat = any(
        event.get("Type") == "HttpApi"
        and ((event.get("Properties") or {}).get("Method"), (event.get("Properties") or {}).get("Path"))
        == ("POST", "/v1/terminal/heartbeat")
        for resource in resources.values()
        if resource.get("Type") == "AWS::Serverless::Function"
        for event in ((resource.get("Properties") or {}).get("Events") or {}).values()
    )
    heartbeat_watched = any(
        dimension.get("Name") == "Route" and dimension.get("Value") == "POST /v1/terminal/heartbeat"
        for resource in resources.values()
        if resource.get("Type") == "AWS::CloudWatch::Alarm" and (resource.get("Properties") or {}).get("AlarmActions")
        for query in (resource.get("Properties") or {}).get("Metrics", [])
        for dimension in query.get("MetricStat", {}).get("Metric", {}).get("Dimensions", [])
    )
    if heartbeat and not heartbeat_watched:
        findings.append("no alarm on the door terminals' heartbeats: terminals going offline tell nobody")
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


HOOK_PREFIX = "CodeDeployHook_"


def deployment_findings(document):
    """What a deploy needs to be safe: every function behind an alias; every HTTP function (and
    the API's authorizer) shifted by CodeDeploy after the pre-traffic hook, rolled back by its
    alarms; the hook named so that CodeDeploy's role may invoke it."""
    resources = document.get("Resources", {})
    defaults = (document.get("Globals") or {}).get("Function") or {}
    findings = []
    authorizers = set()
    for resource in resources.values():
        if resource.get("Type") == "AWS::Serverless::HttpApi":
            declared = (((resource.get("Properties") or {}).get("Auth") or {}).get("Authorizers") or {})
            for name, authorizer in declared.items():
                arn = authorizer.get("FunctionArn")
                target = arn.get("Ref") if isinstance(arn, dict) else None
                if not (isinstance(target, str) and target.endswith(".Alias")):
                    findings.append(f"authorizer {name} does not call its function's alias (!Ref <Function>.Alias)")
                else:
                    authorizers.add(target.split(".")[0])
    hooks = set()
    functions = {i: r for i, r in resources.items() if r.get("Type") == "AWS::Serverless::Function"}
    for logical_id, resource in functions.items():
        properties = resource.get("Properties") or {}
        if not (properties.get("AutoPublishAlias") or defaults.get("AutoPublishAlias")):
            findings.append(f"function {logical_id} has no AutoPublishAlias: a deploy replaces it at once")
        events = (properties.get("Events") or {}).values()
        if not (any(e.get("Type") == "HttpApi" for e in events) or logical_id in authorizers):
            continue
        preference = properties.get("DeploymentPreference") or {}
        if not preference.get("Type"):
            findings.append(f"HTTP function {logical_id} has no DeploymentPreference: no canary")
            continue
        hook = ((preference.get("Hooks") or {}).get("PreTraffic") or {}).get("Ref")
        if not hook:
            findings.append(f"HTTP function {logical_id}'s deployment has no PreTraffic hook")
        else:
            hooks.add(hook)
        rollback = {ref(alarm) for alarm in preference.get("Alarms", [])}
        for kind in ("Errors", "FaultRate", "Latency"):
            alarm = f"{logical_id}{kind}Alarm"
            if (kind == "Errors" or alarm in resources) and alarm not in rollback:
                findings.append(f"HTTP function {logical_id}'s deployment does not roll back on {alarm}")
    for hook in sorted(hooks):
        properties = (functions.get(hook) or {}).get("Properties") or {}
        if hook not in functions:
            findings.append(f"pre-traffic hook {hook} is not a function of the template")
            continue
        name, _ = substituted(properties.get("FunctionName", ""))
        if not name.startswith(HOOK_PREFIX):
            findings.append(f"pre-traffic hook {hook} is not named {HOOK_PREFIX}*: CodeDeploy may not invoke it")
        if properties.get("DeploymentPreference"):
            findings.append(f"pre-traffic hook {hook} has a DeploymentPreference: it would wait on itself")
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
        document = yaml_parse(f.read())
    findings = [f"monitoring: {finding}" for finding in monitoring_findings(document)]
    findings += [f"deployment: {finding}" for finding in deployment_findings(document)]
    for finding in findings:
        print(f"{path}: {finding}", file=sys.stderr)
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
    findings = [
        line
        for line in (lint.stdout + lint.stderr).strip().splitlines()
        if not any(artefact in line for artefact in TRANSLATION_ARTEFACTS)
    ]
    if findings:
        print("\n".join(findings).replace(out.name, f"{path} (translated)"), file=sys.stderr)
    # cfn-lint's exit code: bit 1 a failure to run, then errors 2, warnings 4, notes 8.
    if findings or lint.returncode & 1:
        return 1
    print(f"{path}: SAM translation and cfn-lint clean")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
