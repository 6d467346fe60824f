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
