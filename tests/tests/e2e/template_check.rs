//! `make lint`'s template check must catch what cfn-lint alone misses in a SAM template.

use std::process::Command;

use steward_e2e::repository_root;

fn check(template: &std::path::Path) -> (bool, String) {
    let root = repository_root();
    let output = Command::new(root.join(".venv/bin/python"))
        .arg(root.join("infra/checks/template.py"))
        .arg(template)
        .output()
        .expect("run the template check (make venv installs it)");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_template_passes_and_a_planted_broken_reference_fails() {
    let root = repository_root();
    let (ok, errors) = check(&root.join("template.yaml"));
    assert!(ok, "template.yaml: {errors}");

    let template = std::fs::read_to_string(root.join("template.yaml")).unwrap();
    let planted = template.replacen(
        "DynamoDBReadPolicy: { TableName: !Ref Table }",
        "DynamoDBReadPolicy: { TableName: !Ref Tabel }",
        1,
    );
    assert_ne!(
        planted, template,
        "the plant site is still in template.yaml"
    );
    let dir = root.join("target/template-check");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("planted.yaml");
    std::fs::write(&path, planted).unwrap();
    let (ok, errors) = check(&path);
    assert!(
        !ok,
        "a broken reference inside a SAM policy template passed"
    );
    assert!(errors.contains("Tabel"), "{errors}");
}

/// Checks each planted template (what is planted, the template, the finding it must give):
/// each must fail the check, naming its finding.
fn each_plant_fails(
    template: &str,
    plants: impl IntoIterator<Item = (&'static str, String, &'static str)>,
    kind: &str,
) {
    let dir = repository_root().join("target/template-check");
    std::fs::create_dir_all(&dir).unwrap();
    for (i, (what, planted, finding)) in plants.into_iter().enumerate() {
        assert_ne!(
            planted, template,
            "{what}: the plant site is in template.yaml"
        );
        let path = dir.join(format!("{kind}-{i}.yaml"));
        std::fs::write(&path, planted).unwrap();
        let (ok, errors) = check(&path);
        assert!(!ok, "{what} passed");
        assert!(errors.contains(finding), "{what}: {errors}");
    }
}

/// `template` without the resource `logical_id` (its block, up to the blank line after it).
fn without(template: &str, logical_id: &str) -> String {
    let start = template
        .find(&format!("\n  {logical_id}:\n"))
        .unwrap_or_else(|| panic!("{logical_id} is in template.yaml"));
    let end = start
        + 1
        + template[start + 1..]
            .find("\n\n")
            .expect("a blank line after it");
    format!("{}{}", &template[..start], &template[end..])
}

#[test]
fn a_template_missing_an_alarm_or_its_actions_fails_naming_the_gap() {
    let root = repository_root();
    let template = std::fs::read_to_string(root.join("template.yaml")).unwrap();
    let silent = template.replacen("      OKActions: [!Ref AlarmTopic]\n", "", 1);
    let plants = [
        (
            "an alarm that tells nobody when it clears",
            silent,
            "has no OKActions: nobody hears of it",
        ),
        (
            "a function without its errors alarm",
            without(&template, "RoomsFunctionErrorsAlarm"),
            "function RoomsFunction has no alarm on its Errors",
        ),
        (
            "a route group without its latency alarm",
            without(&template, "IdentityFunctionLatencyAlarm"),
            "HTTP function IdentityFunction has no alarm on its routes' Latency",
        ),
        (
            "a dead-letter queue without its depth alarm",
            without(&template, "SweepDeadLetterAlarm"),
            "queue SweepQueue's dead-letter queue SweepDeadLetterQueue has no depth alarm",
        ),
        (
            "an objective's windows left without the composite that pages",
            without(&template, "RoomsLatencyBurnPageAlarm"),
            "alarm RoomsLatencyBurnPageLongAlarm has no AlarmActions",
        ),
        (
            "door terminals that go offline telling nobody",
            without(&template, "TerminalsOfflineAlarm"),
            "no alarm on the door terminals' heartbeats",
        ),
        (
            "a dashboard drawing a metric nothing writes",
            template.replacen("\"CacheHits\"", "\"CacheHitz\"", 1),
            "dashboard OperationsDashboard draws Steward CacheHitz, a metric nothing writes",
        ),
    ];
    each_plant_fails(&template, plants, "monitoring");
}

#[test]
fn a_template_without_a_safe_deploy_fails_naming_the_gap() {
    let root = repository_root();
    let template = std::fs::read_to_string(root.join("template.yaml")).unwrap();
    let rooms_preference = "      DeploymentPreference:\n        Type: !Ref DeploymentType\n        Alarms:\n          - !Ref RoomsFunctionErrorsAlarm\n          - !Ref RoomsFunctionFaultRateAlarm\n          - !Ref RoomsFunctionLatencyAlarm\n        Hooks:\n          PreTraffic: !Ref DeployCheckFunction\n";
    let plants = [
        (
            "functions without their alias",
            template.replacen("    AutoPublishAlias: live\n", "", 1),
            "function RoomsFunction has no AutoPublishAlias",
        ),
        (
            "an HTTP function deployed at once",
            template.replacen(rooms_preference, "", 1),
            "HTTP function RoomsFunction has no DeploymentPreference: no canary",
        ),
        (
            "a canary that does not roll back on its route group's faults",
            template.replacen("          - !Ref RoomsFunctionFaultRateAlarm\n", "", 1),
            "HTTP function RoomsFunction's deployment does not roll back on RoomsFunctionFaultRateAlarm",
        ),
        (
            "a canary without the pre-traffic hook",
            template.replacen(
                "          - !Ref RoomsFunctionLatencyAlarm\n        Hooks:\n          PreTraffic: !Ref DeployCheckFunction\n",
                "          - !Ref RoomsFunctionLatencyAlarm\n",
                1,
            ),
            "HTTP function RoomsFunction's deployment has no PreTraffic hook",
        ),
        (
            "a hook CodeDeploy may not invoke",
            template.replacen("\"CodeDeployHook_${AWS::StackName}-deploy-check\"", "\"${AWS::StackName}-deploy-check\"", 1),
            "pre-traffic hook DeployCheckFunction is not named CodeDeployHook_*",
        ),
        (
            "an authorizer that calls the function, not its alias",
            template.replacen("FunctionArn: !Ref AuthorizerFunction.Alias", "FunctionArn: !GetAtt AuthorizerFunction.Arn", 1),
            "authorizer TokenAuthorizer does not call its function's alias",
        ),
    ];
    each_plant_fails(&template, plants, "deployment");
}

#[test]
fn the_written_alarms_are_what_the_resources_need() {
    let root = repository_root();
    let run = |template: &std::path::Path| {
        Command::new(root.join(".venv/bin/python"))
            .arg(root.join("infra/monitoring/alarms.py"))
            .arg("--check")
            .arg(template)
            .output()
            .expect("run the alarm writer")
    };
    let current = run(&root.join("template.yaml"));
    assert!(
        current.status.success(),
        "{}",
        String::from_utf8_lossy(&current.stderr)
    );
    // A new function with no alarms written for it yet.
    let template = std::fs::read_to_string(root.join("template.yaml")).unwrap();
    let added = template.replacen(
        "\n  PlatformFunction:\n",
        "\n  NewFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: .\n\n  PlatformFunction:\n",
        1,
    );
    assert_ne!(added, template);
    let dir = root.join("target/template-check");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("new-function.yaml");
    std::fs::write(&path, added).unwrap();
    let stale = run(&path);
    assert!(!stale.status.success(), "a function without alarms passed");
}
