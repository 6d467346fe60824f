"""The template's alarms and dashboard, written from the template's own resources, so that a
function or a queue added to template.yaml gets its alarms by running this again (make lint
fails until then).

Per function: errors, throttles, and p99 duration against its timeout. Per HTTP function (a
route group): the share of answers that are 5xx and the p99 latency, from the Embedded Metric
Format lines the kit writes (namespace Steward, dimension Function). Per dead-letter queue: its
depth. The door terminals: their heartbeats against the fleet's usual band. The service-level objectives of docs/slo.md: multi-window burn-rate alarms on
availability (all routes) and on each route group's latency. Every alarm that notifies tells
the AlarmTopic when it fires and when it clears, and names the runbook section that says what
its threshold means and what to do; the window alarms under a composite notify through it.
The dashboard draws what the on-call engineer looks at first.

Usage: python infra/monitoring/alarms.py [--check] [TEMPLATE]
  writes the alarms between the two marker lines of TEMPLATE (template.yaml);
  --check: exit 1, writing nothing, when what is there is not what this would write.
"""

import sys

from samtranslator.yaml_helper import yaml_parse

BEGIN = "  # Alarms: written by infra/monitoring/alarms.py from the resources above. Edit that, then run it.\n"
END = "  # End of the written alarms.\n"
RUNBOOK = "docs/runbooks/alarms.md"

import json

# The p99 latency each route group is held to (ms), as docs/slo.md writes them down. A group
# not named here is held to the default.
LATENCY_P99_MS = {"default": 1000, "IdentityFunction": 2500, "CredentialsFunction": 1500}
# docs/slo.md: the objectives (%), and each severity's burn rate and windows (seconds).
AVAILABILITY_PERCENT = 99.9
LATENCY_WITHIN_PERCENT = 99.0
BURNS = [("Page", 14.4, 3600, 300), ("Ticket", 6, 21600, 1800)]
# Share of 5xx answers over five minutes that pages (%), once a group answered this many.
FAULT_RATE_PERCENT = 1
FAULT_RATE_MIN_REQUESTS = 20
# A function's p99 duration that pages, as a share of its timeout.
DURATION_SHARE_OF_TIMEOUT = 0.8


def alarm(logical_id, description, anchor, body):
    return (
        f"  {logical_id}:\n"
        f"    Type: AWS::CloudWatch::Alarm\n"
        f"    Properties:\n"
        f"      AlarmDescription: \"{description} Runbook: {RUNBOOK}#{anchor}\"\n"
        f"      AlarmActions: [!Ref AlarmTopic]\n"
        f"      OKActions: [!Ref AlarmTopic]\n"
        f"      TreatMissingData: notBreaching\n"
        f"{body}\n"
    )


def window_alarm(logical_id, description, body):
    """An alarm that notifies nobody itself: a composite over it does."""
    return (
        f"  {logical_id}:\n"
        f"    Type: AWS::CloudWatch::Alarm\n"
        f"    Properties:\n"
        f"      AlarmDescription: \"{description}\"\n"
        f"      TreatMissingData: notBreaching\n"
        f"{body}\n"
    )


def composite(logical_id, description, anchor, parts):
    rule = " AND ".join(f'ALARM("${{{part}}}")' for part in parts)
    return (
        f"  {logical_id}:\n"
        f"    Type: AWS::CloudWatch::CompositeAlarm\n"
        f"    Properties:\n"
        f"      AlarmDescription: \"{description} Runbook: {RUNBOOK}#{anchor}\"\n"
        f"      AlarmRule: !Sub '{rule}'\n"
        f"      AlarmActions: [!Ref AlarmTopic]\n"
        f"      OKActions: [!Ref AlarmTopic]\n"
    )


def burn_alarms(prefix, what, window_body):
    """A page and a ticket composite over a long and a short window each (docs/slo.md)."""
    out = []
    for severity, rate, long, short in BURNS:
        parts = []
        for label, period in (("Long", long), ("Short", short)):
            part = f"{prefix}Burn{severity}{label}Alarm"
            parts.append(part)
            out.append(
                window_alarm(
                    part,
                    f"{what}: burning its budget {rate}x over {period // 60} minutes (a window of {prefix}Burn{severity}Alarm).",
                    window_body(rate, period),
                )
            )
        out.append(
            composite(
                f"{prefix}Burn{severity}Alarm",
                f"{what}: the error budget burns {rate}x over {long // 3600} h and {short // 60} min ({severity.lower()}).",
                "error-budget-burning",
                parts,
            )
        )
    return out


def availability_window(rate, period):
    threshold = round(rate * (100 - AVAILABILITY_PERCENT), 4)
    return (
        "      EvaluationPeriods: 1\n"
        f"      Threshold: {threshold}\n"
        "      ComparisonOperator: GreaterThanThreshold\n"
        "      Metrics:\n"
        "        - Id: rate\n"
        "          Expression: IF(faults + answered > 0, 100 * faults / (faults + answered), 0)\n"
        "          Label: 5xx share (%)\n"
        "          ReturnData: true\n"
        + service_metric("faults", "Faults", period)
        + service_metric("answered", "Requests", period).rstrip("\n")
    )


def service_metric(query_id, metric, period):
    return (
        f"        - Id: {query_id}\n"
        f"          ReturnData: false\n"
        f"          MetricStat:\n"
        f"            Metric:\n"
        f"              Namespace: Steward\n"
        f"              MetricName: {metric}\n"
        f"            Period: {period}\n"
        f"            Stat: Sum\n"
    )


def latency_window(function, target_ms):
    def body(rate, period):
        within = round(100 - rate * (100 - LATENCY_WITHIN_PERCENT), 4)
        return (
            "      Namespace: Steward\n"
            "      MetricName: Latency\n"
            "      Dimensions:\n"
            "        - Name: Function\n"
            f"          Value: !Ref {function}\n"
            f"      ExtendedStatistic: \"PR(:{target_ms})\"\n"
            f"      Period: {period}\n"
            "      EvaluationPeriods: 1\n"
            f"      Threshold: {within}\n"
            "      ComparisonOperator: LessThanThreshold"
        )

    return body


def lambda_metric(function, metric, statistic, threshold, periods=(5, 3)):
    evaluation, to_alarm = periods
    stat = f"      ExtendedStatistic: {statistic}\n" if statistic.startswith("p") else f"      Statistic: {statistic}\n"
    return (
        f"      Namespace: AWS/Lambda\n"
        f"      MetricName: {metric}\n"
        f"      Dimensions:\n"
        f"        - Name: FunctionName\n"
        f"          Value: !Ref {function}\n"
        f"{stat}"
        f"      Period: 60\n"
        f"      EvaluationPeriods: {evaluation}\n"
        f"      DatapointsToAlarm: {to_alarm}\n"
        f"      Threshold: {threshold}\n"
        f"      ComparisonOperator: GreaterThanThreshold"
    )


def steward_metric(query_id, function, metric, stat, returned):
    return (
        f"        - Id: {query_id}\n"
        f"          ReturnData: {str(returned).lower()}\n"
        f"          MetricStat:\n"
        f"            Metric:\n"
        f"              Namespace: Steward\n"
        f"              MetricName: {metric}\n"
        f"              Dimensions:\n"
        f"                - Name: Function\n"
        f"                  Value: !Ref {function}\n"
        f"            Period: 300\n"
        f"            Stat: {stat}\n"
    )


def function_alarms(function, timeout_seconds, http):
    name = function.removesuffix("Function")
    out = [
        alarm(
            f"{function}ErrorsAlarm",
            f"{name}: invocations failed (a panic outside a request, a timeout, a failed init) in 3 of 5 minutes.",
            "function-errors",
            lambda_metric(function, "Errors", "Sum", 0),
        ),
        alarm(
            f"{function}ThrottlesAlarm",
            f"{name}: Lambda refused invocations for want of concurrency in 3 of 5 minutes.",
            "function-throttles",
            lambda_metric(function, "Throttles", "Sum", 0),
        ),
        alarm(
            f"{function}DurationAlarm",
            f"{name}: p99 duration above {int(DURATION_SHARE_OF_TIMEOUT * 100)} % of its {timeout_seconds} s timeout in 3 of 5 minutes.",
            "function-duration",
            lambda_metric(function, "Duration", "p99", int(timeout_seconds * 1000 * DURATION_SHARE_OF_TIMEOUT)),
        ),
    ]
    if http:
        latency = LATENCY_P99_MS.get(function, LATENCY_P99_MS["default"])
        out += burn_alarms(
            f"{name}Latency",
            f"{name} routes: answers within {latency} ms below {LATENCY_WITHIN_PERCENT} %",
            latency_window(function, latency),
        )
        out.append(
            alarm(
                f"{function}FaultRateAlarm",
                f"{name} routes: more than {FAULT_RATE_PERCENT} % of answers were 5xx over 5 minutes (at least {FAULT_RATE_MIN_REQUESTS} answers).",
                "route-faults",
                "      EvaluationPeriods: 1\n"
                f"      Threshold: {FAULT_RATE_PERCENT}\n"
                "      ComparisonOperator: GreaterThanThreshold\n"
                "      Metrics:\n"
                "        - Id: rate\n"
                f"          Expression: IF(faults + answered >= {FAULT_RATE_MIN_REQUESTS}, 100 * faults / (faults + answered), 0)\n"
                "          Label: 5xx share (%)\n"
                "          ReturnData: true\n"
                + steward_metric("faults", function, "Faults", "Sum", False)
                + steward_metric("answered", function, "Requests", "Sum", False).rstrip("\n"),
            )
        )
        out.append(
            alarm(
                f"{function}LatencyAlarm",
                f"{name} routes: p99 latency above {latency} ms in 3 of 5 minutes.",
                "route-latency",
                "      Namespace: Steward\n"
                "      MetricName: Latency\n"
                "      Dimensions:\n"
                "        - Name: Function\n"
                f"          Value: !Ref {function}\n"
                "      ExtendedStatistic: p99\n"
                "      Period: 60\n"
                "      EvaluationPeriods: 5\n"
                "      DatapointsToAlarm: 3\n"
                f"      Threshold: {latency}\n"
                "      ComparisonOperator: GreaterThanThreshold",
            )
        )
    return out


# The route every door terminal calls once a minute while it is up (infra/kiosk/kiosk.js).
HEARTBEAT_ROUTE = ("POST", "/v1/terminal/heartbeat")
# Consecutive minutes of heartbeats below the fleet's usual band that page.
TERMINALS_OFFLINE_MINUTES = 10


def heartbeat_function(resources):
    """The function that answers the terminals' heartbeats, or None."""
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in ((resource.get("Properties") or {}).get("Events") or {}).values():
            properties = event.get("Properties") or {}
            if event.get("Type") == "HttpApi" and (properties.get("Method"), properties.get("Path")) == HEARTBEAT_ROUTE:
                return logical_id
    return None


def terminals_offline_alarm(function):
    """Heartbeats a minute are the terminals online: fewer than the fleet's usual band (anomaly
    detection, which learns the day's and the week's shape) for ten minutes is a fleet going
    dark. Minutes without any heartbeat count as zero, so a whole fleet gone silent fires too,
    while a stack that never had terminals (a band around zero) stays quiet."""
    method, path = HEARTBEAT_ROUTE
    return alarm(
        "TerminalsOfflineAlarm",
        f"Door terminals: heartbeats below the fleet's usual band for {TERMINALS_OFFLINE_MINUTES} minutes (terminals offline).",
        "terminals-offline",
        f"      ComparisonOperator: LessThanLowerThreshold\n"
        f"      EvaluationPeriods: {TERMINALS_OFFLINE_MINUTES}\n"
        f"      DatapointsToAlarm: {TERMINALS_OFFLINE_MINUTES}\n"
        f"      ThresholdMetricId: band\n"
        f"      Metrics:\n"
        f"        - Id: beats\n"
        f"          ReturnData: false\n"
        f"          MetricStat:\n"
        f"            Metric:\n"
        f"              Namespace: Steward\n"
        f"              MetricName: Requests\n"
        f"              Dimensions:\n"
        f"                - Name: Function\n"
        f"                  Value: !Ref {function}\n"
        f"                - Name: Route\n"
        f"                  Value: {method} {path}\n"
        f"            Period: 60\n"
        f"            Stat: Sum\n"
        f"        - Id: online\n"
        f"          Expression: FILL(beats, 0)\n"
        f"          ReturnData: true\n"
        f"        - Id: band\n"
        f"          Expression: ANOMALY_DETECTION_BAND(online, 3)\n"
        f"          ReturnData: true",
    )


def dead_letter_alarm(queue, source, runbook):
    name = source.removesuffix("Queue")
    return alarm(
        f"{queue.removesuffix('Queue')}Alarm",
        f"{name}: messages reached the dead-letter queue ({runbook}).",
        "dead-letters",
        "      Namespace: AWS/SQS\n"
        "      MetricName: ApproximateNumberOfMessagesVisible\n"
        "      Dimensions:\n"
        "        - Name: QueueName\n"
        f"          Value: !GetAtt {queue}.QueueName\n"
        "      Statistic: Maximum\n"
        "      Period: 60\n"
        "      EvaluationPeriods: 1\n"
        "      Threshold: 0\n"
        "      ComparisonOperator: GreaterThanThreshold",
    )


def dashboard(functions, http_functions, queues):
    """The on-call engineer's first look (docs/runbooks/alarms.md, "The dashboard")."""

    def by_function(metric, stats, names, namespace="Steward", dimension="Function"):
        return [
            [namespace, metric, dimension, f"${{{name}}}", {"stat": stat, "label": f"{name.removesuffix('Function')} {stat}"}]
            for name in names
            for stat in stats
        ]

    def widget(title, metrics, y, x, stacked=False, view="timeSeries", period=60):
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "region": "${AWS::Region}",
                "view": view,
                "stacked": stacked,
                "period": period,
                "metrics": metrics,
            },
        }

    queue_depths = [
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", f"${{{q}.QueueName}}", {"label": q}] for q in queues
    ]
    queue_ages = [
        ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", f"${{{q}.QueueName}}", {"label": q}] for q in queues
    ]
    cache = [
        ["Steward", "CacheHits", {"id": "hits", "visible": False, "stat": "Sum"}],
        ["Steward", "CacheMisses", {"id": "misses", "visible": False, "stat": "Sum"}],
        [{"expression": "IF(hits + misses > 0, 100 * hits / (hits + misses), 0)", "label": "tenant cache hit rate (%)"}],
    ]
    widgets = [
        widget("Route latency p50 and p99 (ms), by route group", by_function("Latency", ["p50", "p99"], http_functions), 0, 0),
        widget("5xx answers, by route group", by_function("Faults", ["Sum"], http_functions), 0, 12, stacked=True),
        widget(
            "Function errors",
            by_function("Errors", ["Sum"], functions, namespace="AWS/Lambda", dimension="FunctionName"),
            6, 0, stacked=True,
        ),
        widget("Cold starts, by route group", by_function("ColdStarts", ["Sum"], http_functions), 6, 12, stacked=True),
        widget("Queue depths", queue_depths, 12, 0),
        widget("Oldest message age (s)", queue_ages, 12, 12),
        widget(
            "Licence sweep: tenants swept and failed",
            [["Steward", "SweepTenants", {"stat": "Sum"}], ["Steward", "SweepFailedTenants", {"stat": "Sum"}]],
            18, 0, period=3600,
        ),
        widget("Tenant cache hit rate", cache, 18, 12, period=300),
        widget(
            "Permission-check latency p50 and p99 (ms)",
            [["Steward", "PermissionCheckLatency", {"stat": "p50"}], ["Steward", "PermissionCheckLatency", {"stat": "p99"}]],
            24, 0,
        ),
    ]
    body = json.dumps({"widgets": widgets}, indent=1, sort_keys=True)
    indented = "\n".join(f"        {line}" for line in body.splitlines())
    return (
        "  OperationsDashboard:\n"
        "    Type: AWS::CloudWatch::Dashboard\n"
        "    Properties:\n"
        "      DashboardName: !Sub \"${AWS::StackName}-operations\"\n"
        "      DashboardBody: !Sub |\n"
        f"{indented}\n"
    )


def written(document):
    resources = document["Resources"]
    default_timeout = document.get("Globals", {}).get("Function", {}).get("Timeout", 3)
    blocks = burn_alarms("Availability", f"Answers that are not 5xx below {AVAILABILITY_PERCENT} %", availability_window)
    functions, http_functions = [], []
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource.get("Properties") or {}
        events = (properties.get("Events") or {}).values()
        http = any(event.get("Type") == "HttpApi" for event in events)
        functions.append(logical_id)
        if http:
            http_functions.append(logical_id)
        blocks += function_alarms(logical_id, properties.get("Timeout", default_timeout), http)
    queues = [logical_id for logical_id, resource in resources.items() if resource.get("Type") == "AWS::SQS::Queue"]
    for logical_id, resource in resources.items():
        redrive = (resource.get("Properties") or {}).get("RedrivePolicy")
        if resource.get("Type") != "AWS::SQS::Queue" or not redrive:
            continue
        dead = redrive["deadLetterTargetArn"]["Fn::GetAtt"]
        dead = dead[0] if isinstance(dead, list) else dead.split(".")[0]
        runbook = (resources[dead].get("Metadata") or {}).get("Runbook", RUNBOOK)
        blocks.append(dead_letter_alarm(dead, logical_id, runbook))
    blocks.append(
        alarm(
            "SweepFailedTenantsAlarm",
            "Licence sweep: a run ended with tenants it could not check (docs/runbooks/licence-sweep.md).",
            "sweep-failed-tenants",
            "      Namespace: Steward\n"
            "      MetricName: SweepFailedTenants\n"
            "      Statistic: Sum\n"
            "      Period: 3600\n"
            "      EvaluationPeriods: 1\n"
            "      Threshold: 0\n"
            "      ComparisonOperator: GreaterThanThreshold",
        )
    )
    terminals = heartbeat_function(resources)
    if terminals:
        blocks.append(terminals_offline_alarm(terminals))
    blocks.append(dashboard(functions, http_functions, queues))
    return "\n".join(blocks)


def main(argv):
    args = [a for a in argv[1:] if a != "--check"]
    check = "--check" in argv[1:]
    if len(args) > 1:
        print(__doc__, file=sys.stderr)
        return 2
    path = args[0] if args else "template.yaml"
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        print(f"{path}: the alarm markers are missing (see {__file__})", file=sys.stderr)
        return 1
    head, rest = text.split(BEGIN, 1)
    current, tail = rest.split(END, 1)
    document = yaml_parse(head + tail)
    wanted = written(document)
    if check:
        if current != wanted:
            print(f"{path}: the alarms are not what the resources need: run python {__file__}", file=sys.stderr)
            return 1
        print(f"{path}: the written alarms are current")
        return 0
    with open(path, "w", encoding="utf-8") as f:
        f.write(head + BEGIN + wanted + END + tail)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
