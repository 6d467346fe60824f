//! Compiles the API's route keys out of template.yaml, so the fallback route knows which
//! methods a path allows without reading the template at cold start.

use std::path::Path;

fn main() {
    // Read when the script runs, not when it was compiled: one compiled script serves every
    // checkout whose build it matches (a second worktree reused one pointing at the first).
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let template_path = Path::new(&manifest_dir).join("../../template.yaml");
    println!("cargo::rerun-if-changed={}", template_path.display());
    let template = steward_template::Template::load(&template_path).expect("template.yaml parses");
    let keys: Vec<String> = template
        .routes()
        .expect("template routes are consistent")
        .into_iter()
        .map(|(key, _, _)| key.to_string())
        .collect();
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("routes.rs");
    std::fs::write(
        out,
        format!(
            "/// Every route key of template.yaml.\npub static ROUTE_KEYS: &[&str] = &{keys:?};\n"
        ),
    )
    .expect("write routes.rs");
}
