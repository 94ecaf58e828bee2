//! The parts of the plugin that live outside the binary stay true to it: the builder page
//! documents exactly the options the schema has; .web-docs is what HashiCorp's compile step makes
//! of docs/; metadata.hcl is well formed; every example passes real `packer validate`; the binary
//! passes `packer-sdc plugin-check`; and the release assets have the names `packer init` looks
//! for and install with a real Packer.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use packer_schema::{CtyType, ObjectSpec, Spec};

const BUILDER_PAGE: &str = "docs/builders/nutanix.mdx";
const PLUGIN: &str = "packer-plugin-nutanix";
const SOURCE: &str = "github.com/nutanix-cloud-native/nutanix";

fn read(rel: &str) -> String {
    let path = repo_root().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn bash(script: &str) -> Command {
    let mut cmd = Command::new("bash");
    cmd.arg(repo_root().join(script));
    cmd
}

// ---------------------------------------------------------------------------------------------
// (a) docs/builders/nutanix.mdx documents every option of the schema, with its type, and nothing
// else.

/// How the builder page writes the type of an option of this shape.
fn doc_type(ty: &CtyType) -> String {
    match ty {
        CtyType::String => "string".into(),
        CtyType::Number => "number".into(),
        CtyType::Bool => "bool".into(),
        CtyType::List(t) => format!("list({})", doc_type(t)),
        CtyType::Map(t) => format!("map({})", doc_type(t)),
    }
}

/// Every option path of the schema (`vm_disks`, `vm_disks.image_type`, ...) and its doc type.
fn spec_options(spec: &ObjectSpec, prefix: &str, out: &mut BTreeMap<String, String>) {
    for (key, s) in &spec.0 {
        let path = format!("{prefix}{key}");
        match s {
            Spec::Attr(a) => {
                assert_eq!(&a.name, key, "schema key and attribute name differ");
                out.insert(path, doc_type(&a.ty));
            }
            Spec::Block(b) => {
                out.insert(path.clone(), "block".into());
                spec_options(&b.nested, &format!("{path}."), out);
            }
            Spec::BlockList(b) => {
                out.insert(path.clone(), "block list".into());
                spec_options(&b.nested, &format!("{path}."), out);
            }
        }
    }
}

/// One option entry of the page: `- `name` (type) - text`, nested entries indented by two spaces
/// under their block.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DocEntry {
    path: String,
    ty: String,
    line: usize,
}

/// The lines of the page outside fenced code blocks, numbered from 1.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut fenced = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            out.push((i + 1, line));
        }
    }
    out
}

/// The option entries of the "Configuration Reference" section, or what is malformed in it.
fn documented_options(text: &str) -> Result<Vec<DocEntry>, Vec<String>> {
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    let mut in_reference = false;
    let mut parent: Option<(String, String)> = None;
    for (n, line) in prose_lines(text) {
        if line.starts_with("## ") {
            in_reference = line.trim() == "## Configuration Reference";
            continue;
        }
        let body = line.trim_start();
        if !in_reference || !body.starts_with("- `") {
            continue;
        }
        let indent = line.len() - body.len();
        let parsed = body
            .strip_prefix("- `")
            .and_then(|r| r.split_once('`'))
            .and_then(|(name, rest)| {
                let rest = rest.strip_prefix(" (")?;
                let (ty, _) = rest.split_once(") - ")?;
                Some((name.to_string(), ty.to_string()))
            });
        let Some((name, ty)) = parsed else {
            problems.push(format!(
                "line {n}: an option bullet must read - `name` (type) - text: {line}"
            ));
            continue;
        };
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            problems.push(format!("line {n}: {name:?} is not an option name"));
            continue;
        }
        match indent {
            0 => {
                parent = (ty == "block" || ty == "block list").then(|| (name.clone(), ty.clone()));
                entries.push(DocEntry { path: name, ty, line: n });
            }
            2 => match &parent {
                Some((block, _)) => entries.push(DocEntry {
                    path: format!("{block}.{name}"),
                    ty,
                    line: n,
                }),
                None => problems.push(format!(
                    "line {n}: `{name}` is indented but does not follow a block option"
                )),
            },
            _ => problems.push(format!(
                "line {n}: option bullets are indented by 0 (options) or 2 (block attributes) spaces"
            )),
        }
    }
    if entries.is_empty() {
        problems.push("no option entries under \"## Configuration Reference\"".into());
    }
    if problems.is_empty() {
        Ok(entries)
    } else {
        Err(problems)
    }
}

#[test]
fn builder_page_documents_exactly_the_schema_options() {
    let mut spec = BTreeMap::new();
    spec_options(&nutanix_config::config_spec(), "", &mut spec);
    assert!(
        spec.len() > 100,
        "the schema looks truncated: {} options",
        spec.len()
    );

    let page = read(BUILDER_PAGE);
    let entries =
        documented_options(&page).unwrap_or_else(|p| panic!("{BUILDER_PAGE}:\n{}", p.join("\n")));

    let mut problems = Vec::new();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &entries {
        if let Some(first) = seen.insert(&e.path, e.line) {
            problems.push(format!(
                "`{}` is documented twice (lines {first} and {})",
                e.path, e.line
            ));
        }
        match spec.get(&e.path) {
            None => problems.push(format!(
                "line {}: `{}` is documented but is not an option of the builder",
                e.line, e.path
            )),
            Some(want) => {
                let written = if e.ty == "duration" {
                    "string"
                } else {
                    e.ty.as_str()
                };
                if written != want {
                    problems.push(format!(
                        "line {}: `{}` is documented as ({}) but the schema says {want}",
                        e.line, e.path, e.ty
                    ));
                }
            }
        }
    }
    for path in spec.keys() {
        if !seen.contains_key(path.as_str()) {
            problems.push(format!(
                "`{path}` is an option of the builder but is not documented"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{BUILDER_PAGE} and the schema disagree:\n{}",
        problems.join("\n")
    );
}

/// Words in backticks that look like option names but are not ours.
const NOT_OUR_OPTIONS: &[&str] = &[
    "keep_input_artifact",
    "required_plugins",
    "custom_data",
    // Fields of the simulator's /_sim/state that the boot command section describes.
    "key_events",
    "at_ms",
];

#[test]
fn option_names_mentioned_anywhere_in_the_docs_exist() {
    let mut spec = BTreeMap::new();
    spec_options(&nutanix_config::config_spec(), "", &mut spec);
    let mut known: BTreeSet<String> = spec.keys().cloned().collect();
    for path in spec.keys() {
        if let Some((_, attr)) = path.rsplit_once('.') {
            known.insert(attr.to_string());
        }
    }
    let mut problems = Vec::new();
    for page in ["docs/README.md", BUILDER_PAGE] {
        let text = read(page);
        for (n, line) in prose_lines(&text) {
            for (i, span) in line.split('`').enumerate() {
                let looks_like_option = i % 2 == 1
                    && span.contains('_')
                    && span.starts_with(|c: char| c.is_ascii_lowercase())
                    && span.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.'
                    });
                if looks_like_option && !known.contains(span) && !NOT_OUR_OPTIONS.contains(&span) {
                    problems.push(format!(
                        "{page}:{n}: `{span}` is not an option of the builder"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn generated_data_table_matches_what_prepare_declares() {
    let page = read(BUILDER_PAGE);
    let section = page
        .split("\n## Generated data")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("the builder page has a \"## Generated data\" section");
    let documented: BTreeSet<&str> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`').map(|(name, _)| name))
        .collect();
    let declared: BTreeSet<&str> = nutanix_config::GENERATED_VARS.iter().copied().collect();
    assert_eq!(
        documented, declared,
        "the generated data table and GENERATED_VARS differ"
    );
}

/// What the builder page's status table says `packer build` refuses, the template fragment that
/// asks for it, and the words of the build's refusal.
const UNSUPPORTED: &[(&str, &str, &str)] = &[(
    "`vm_nics.skip_ip_assignment`",
    "communicator = \"none\"",
    "skip_ip_assignment: not supported",
)];

/// A template for `packer build` that stops at the builder's first step; Prism Central is never
/// reached (the endpoint is a closed loopback port).
fn refused_template(nic_extra: &str, extra: &str) -> String {
    format!(
        r#"source "nutanix" "status" {{
  nutanix_endpoint = "127.0.0.1"
  nutanix_port     = 1
  nutanix_username = "admin"
  nutanix_password = "secret"
  cluster_name     = "cluster"
  vm_disks {{
    image_type   = "DISK"
    disk_size_gb = 1
  }}
  vm_nics {{
    subnet_name = "subnet"
    {nic_extra}
  }}
  {extra}
}}
build {{
  sources = ["source.nutanix.status"]
}}
"#
    )
}

#[test]
fn status_table_matches_what_packer_build_refuses() {
    let page = read(BUILDER_PAGE);
    let section = page
        .split("\n## Status of this release")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("the builder page has a \"## Status of this release\" section");
    let rows: BTreeSet<String> = section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| l.split('|').nth(1).map(|c| c.trim().to_string()))
        .collect();
    let mut tested: BTreeSet<String> = UNSUPPORTED
        .iter()
        .map(|(row, _, _)| row.to_string())
        .collect();
    tested.insert("`ssh_local_tunnels`, `ssh_remote_tunnels`".into());
    assert_eq!(
        rows, tested,
        "the status table and this test list different features"
    );

    let packer = packers().remove(0);
    let installed = InstalledPlugin::install(&packer);
    let dir = tempfile::tempdir().unwrap();
    let extra: Vec<&str> = UNSUPPORTED.iter().map(|(_, t, _)| *t).collect();
    let cases = [
        (
            refused_template(
                "skip_ip_assignment = true",
                &format!("ssh_username = \"u\"\n  {}", extra.join("\n  ")),
            ),
            UNSUPPORTED.iter().map(|(_, _, w)| *w).collect::<Vec<_>>(),
        ),
        (
            refused_template(
                "",
                "ssh_username = \"u\"\n  ssh_local_tunnels = [\"8080:localhost:80\"]",
            ),
            vec!["ssh_local_tunnels is not supported"],
        ),
        (
            refused_template(
                "",
                "ssh_username = \"u\"\n  ssh_remote_tunnels = [\"8080:localhost:80\"]",
            ),
            vec!["ssh_remote_tunnels is not supported"],
        ),
    ];
    for (i, (template, words)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("status{i}.pkr.hcl"));
        std::fs::write(&file, template).unwrap();
        let out = installed
            .packer(&packer)
            .current_dir(dir.path())
            .arg("build")
            .arg(&file)
            .output()
            .unwrap();
        let all = text(&out);
        assert!(
            !out.status.success(),
            "{}: the build of\n{template}\nsucceeded:\n{all}",
            packer.label
        );
        assert!(
            all.contains("nothing was created"),
            "{}: not refused at the first step:\n{all}",
            packer.label
        );
        for w in words {
            assert!(
                all.contains(w),
                "{}: the build no longer refuses {w:?}; update the status table of {BUILDER_PAGE}:\n{all}",
                packer.label
            );
        }
        // Everything the build refuses is in the table (one "  * " line each; at build time
        // Packer prefixes each line of the builder's error with "==> <source>: ").
        for refusal in all.lines().filter_map(|l| l.split("  * ").nth(1)) {
            assert!(
                words.iter().any(|w| refusal.contains(w)),
                "{}: the build refuses something the status table of {BUILDER_PAGE} does not list: {refusal}",
                packer.label
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// (b) .web-docs is what the compile step makes of docs/.

/// Every file under `dir`, as relative paths, sorted.
fn files_under(dir: &Path) -> BTreeSet<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in rd.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if let Ok(rel) = path.strip_prefix(root) {
                out.insert(rel.to_path_buf());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

fn compile_web_docs(docs: &Path, out: &Path) -> Output {
    bash("scripts/compile-web-docs.sh")
        .arg(docs)
        .arg(out)
        .output()
        .expect("run scripts/compile-web-docs.sh")
}

#[test]
fn web_docs_are_compiled_from_docs() {
    let out = tempfile::tempdir().unwrap();
    let run = compile_web_docs(&repo_root().join("docs"), out.path());
    assert!(
        run.status.success(),
        "compile-web-docs.sh failed:\n{}",
        text(&run)
    );

    let committed_dir = repo_root().join(".web-docs");
    let mut committed = files_under(&committed_dir);
    committed.remove(Path::new("metadata.hcl"));
    let fresh = files_under(out.path());
    assert_eq!(
        committed, fresh,
        ".web-docs has different files than scripts/compile-web-docs.sh makes from docs/; run it and commit the result"
    );
    for rel in &fresh {
        let want = std::fs::read_to_string(out.path().join(rel)).unwrap();
        let have = std::fs::read_to_string(committed_dir.join(rel)).unwrap();
        assert!(
            want == have,
            ".web-docs/{} is stale: run scripts/compile-web-docs.sh and commit the result",
            rel.display()
        );
    }
    assert!(
        fresh.contains(Path::new("components/builder/nutanix/README.md")),
        "{fresh:?}"
    );
}

/// A page exercising HashiCorp's rules (front matter and title removed, /packer/plugins links
/// rewritten, component folders singular). The expected text was produced by the scaffolding's
/// own .web-docs/scripts/compile-to-webdocs.sh on this input.
const FIXTURE_PAGE: &str = "---
description: x
page_title: y
---

# Foo Builder

See [the plugin](/packer/plugins/builders/nutanix) and [a page](/packer/plugins/builders/nutanix/sub#opt-a).
Anchor [only](/packer/plugins/datasources/nutanix#top) and path docs/builders/foo.mdx stays?
Two on a line (/packer/plugins/a/b) and (/packer/plugins/x/y/z#w) end.
Not a link: /packer/plugins/builders/nutanix without parens.


";

const FIXTURE_EXPECTED: &str = "See [the plugin](/packer/integrations/org-x/nutanix) and [a page](/packer/integrations/org-x/nutanix/latest/components/builder/sub#opt-a).
Anchor [only](/packer/integrations/org-x/nutanix#top) and path docs/builder/foo.mdx stays?
Two on a line (/packer/integrations/org-x/b) and (/packer/integrations/org-x/y/latest/components/x/z#w) end.
Not a link: /packer/plugins/builder/nutanix without parens.
";

#[test]
fn web_docs_compiler_follows_hashicorps_rules() {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(docs.join("builders")).unwrap();
    std::fs::create_dir_all(docs.join("datasources")).unwrap();
    let readme = "readme [x](/packer/plugins/builders/foo)\n";
    std::fs::write(docs.join("README.md"), readme).unwrap();
    std::fs::write(docs.join("builders/foo.mdx"), FIXTURE_PAGE).unwrap();
    std::fs::write(docs.join("datasources/bar.mdx"), FIXTURE_PAGE).unwrap();
    std::fs::write(docs.join("builders/index.mdx"), "not a component page").unwrap();
    let out = dir.path().join("web");
    let run = bash("scripts/compile-web-docs.sh")
        .arg(&docs)
        .arg(&out)
        .arg("org-x")
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", text(&run));

    assert_eq!(
        std::fs::read_to_string(out.join("README.md")).unwrap(),
        readme
    );
    for page in [
        "components/builder/foo/README.md",
        "components/data-source/bar/README.md",
    ] {
        assert_eq!(
            std::fs::read_to_string(out.join(page)).unwrap(),
            FIXTURE_EXPECTED,
            "{page}"
        );
    }
    let files = files_under(&out);
    assert_eq!(files.len(), 3, "index.mdx must be skipped: {files:?}");

    // A page without the expected header shape, or with a partial, is refused.
    std::fs::write(docs.join("builders/foo.mdx"), "# No front matter\n\ntext\n").unwrap();
    let run = compile_web_docs(&docs, &out);
    assert!(
        !run.status.success(),
        "a page without front matter was accepted"
    );
    assert!(text(&run).contains("front matter"), "{}", text(&run));
    std::fs::write(
        docs.join("builders/foo.mdx"),
        FIXTURE_PAGE.replace("Anchor", "@include 'x.mdx'\nAnchor"),
    )
    .unwrap();
    let run = compile_web_docs(&docs, &out);
    assert!(!run.status.success(), "an @include was accepted");
    assert!(text(&run).contains("@include"), "{}", text(&run));
}

// ---------------------------------------------------------------------------------------------
// (c) .web-docs/metadata.hcl has what HashiCorp's integration tooling requires.

fn string_attr<'a>(body: &'a hcl::Body, key: &str) -> Option<&'a str> {
    body.attributes()
        .find(|a| a.key() == key)
        .and_then(|a| match a.expr() {
            hcl::Expression::String(s) => Some(s.as_str()),
            _ => None,
        })
}

#[test]
fn metadata_hcl_describes_the_integration() {
    let text = read(".web-docs/metadata.hcl");
    let body =
        hcl::parse(&text).unwrap_or_else(|e| panic!(".web-docs/metadata.hcl does not parse: {e}"));
    let integrations: Vec<&hcl::Block> = body
        .blocks()
        .filter(|b| b.identifier() == "integration")
        .collect();
    assert_eq!(integrations.len(), 1, "exactly one integration block");
    let integration = integrations[0].body();

    for key in ["name", "description", "identifier"] {
        let value = string_attr(integration, key)
            .unwrap_or_else(|| panic!("integration.{key} must be a string"));
        assert!(!value.trim().is_empty(), "integration.{key} is empty");
    }
    assert_eq!(
        string_attr(integration, "identifier"),
        Some("packer/nutanix-cloud-native/nutanix")
    );
    if let Some(flags) = integration.attributes().find(|a| a.key() == "flags") {
        let hcl::Expression::Array(items) = flags.expr() else {
            panic!("flags must be a list")
        };
        for item in items {
            let ok =
                matches!(item, hcl::Expression::String(s) if s == "hcp-ready" || s == "archived");
            assert!(
                ok,
                "flags may only hold \"hcp-ready\" and \"archived\": {item:?}"
            );
        }
    }

    const TYPES: &[&str] = &["builder", "provisioner", "post-processor", "data-source"];
    let mut declared = BTreeSet::new();
    for c in integration
        .blocks()
        .filter(|b| b.identifier() == "component")
    {
        let ty = string_attr(c.body(), "type").expect("component.type");
        let slug = string_attr(c.body(), "slug").expect("component.slug");
        assert!(
            string_attr(c.body(), "name").is_some_and(|n| !n.is_empty()),
            "component.name"
        );
        assert!(
            TYPES.contains(&ty),
            "component type {ty:?} is not one of {TYPES:?}"
        );
        declared.insert(format!("{ty}/{slug}"));
    }
    assert!(
        declared.contains("builder/nutanix"),
        "no builder component with slug nutanix: {declared:?}"
    );

    // Each component has its page, and each page its component.
    let pages: BTreeSet<String> = files_under(&repo_root().join(".web-docs/components"))
        .iter()
        .filter_map(|p| p.parent().map(|d| d.display().to_string()))
        .collect();
    assert_eq!(
        declared, pages,
        "metadata.hcl components and .web-docs/components differ"
    );
}

// ---------------------------------------------------------------------------------------------
// (d) Every example passes real `packer validate`; the simulator example names only what the
// simulator holds.

/// What to validate in each example directory: the directory itself for HCL2, each JSON file
/// for legacy templates.
fn example_targets() -> Vec<(PathBuf, String)> {
    let root = repo_root().join("examples");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut targets = Vec::new();
    for dir in dirs {
        if !files_with_ext(&dir, &[".pkr.hcl"]).is_empty() {
            targets.push((dir.clone(), ".".to_string()));
        }
        for json in files_with_ext(&dir, &[".json"]) {
            targets.push((
                dir.clone(),
                json.file_name().unwrap().to_string_lossy().into_owned(),
            ));
        }
    }
    targets
}

#[test]
fn every_example_has_a_comment_header() {
    let targets = example_targets();
    assert!(
        targets.len() >= 7,
        "expected at least 7 examples, found {targets:?}"
    );
    for (dir, target) in &targets {
        let file = if target == "." {
            dir.join("build.pkr.hcl")
        } else {
            dir.join(target)
        };
        let body =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let first = body.lines().next().unwrap_or("");
        let commented =
            first.starts_with('#') || first.starts_with("//") || body.contains("\"_comment\"");
        assert!(
            commented,
            "{} must start with a comment saying what it builds",
            file.display()
        );
    }
}

#[test]
fn examples_pass_packer_validate() {
    let targets = example_targets();
    for packer in packers() {
        let installed = InstalledPlugin::install(&packer);
        for (dir, target) in &targets {
            let out = installed
                .packer(&packer)
                .current_dir(dir)
                .env("NUTANIX_PASSWORD", "example-password")
                .args(["validate", target])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}: examples/{}/{target} should validate:\n{}",
                packer.label,
                dir.file_name().unwrap().to_string_lossy(),
                text(&out)
            );
        }
    }
}

#[test]
fn builder_page_example_validates() {
    let page = read(BUILDER_PAGE);
    let example = page
        .split("\n## Example")
        .nth(1)
        .and_then(|s| s.split("```hcl\n").nth(1))
        .and_then(|s| s.split("\n```").next())
        .expect("the builder page has an hcl block under \"## Example\"");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("build.pkr.hcl"), example).unwrap();
    // The files the example names next to itself.
    std::fs::copy(
        repo_root().join("tests/templates/files/ca.pem"),
        dir.path().join("prism-ca.pem"),
    )
    .unwrap();
    std::fs::write(dir.path().join("ks.cfg"), "text\n").unwrap();
    for packer in packers() {
        let installed = InstalledPlugin::install(&packer);
        let out = installed
            .packer(&packer)
            .current_dir(dir.path())
            .args(["validate", "-var", "nutanix_password=example", "."])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: the example of {BUILDER_PAGE} should validate:\n{}",
            packer.label,
            text(&out)
        );
    }
}

/// String attributes of the first `source "nutanix"` block of a template, and of its nested
/// blocks (as `block.attr`, each value listed).
fn source_strings(template: &str) -> BTreeMap<String, Vec<String>> {
    let body = hcl::parse(template).expect("template parses");
    let source = body
        .blocks()
        .find(|b| {
            b.identifier() == "source" && b.labels().first().map(|l| l.as_str()) == Some("nutanix")
        })
        .expect("a source \"nutanix\" block");
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for a in source.body().attributes() {
        if let hcl::Expression::String(s) = a.expr() {
            out.entry(a.key().to_string()).or_default().push(s.clone());
        }
    }
    for b in source.body().blocks() {
        for a in b.body().attributes() {
            if let hcl::Expression::String(s) = a.expr() {
                out.entry(format!("{}.{}", b.identifier(), a.key()))
                    .or_default()
                    .push(s.clone());
            }
        }
    }
    out
}

#[test]
fn simulator_example_names_what_the_simulator_holds() {
    let strings = source_strings(&read("examples/simulator/build.pkr.hcl"));
    let inv = prism_sim::Inventory::default_inventory();
    let one = |key: &str| -> String {
        match strings.get(key).map(Vec::as_slice) {
            Some([v]) => v.clone(),
            other => panic!("examples/simulator: expected one literal {key}, found {other:?}"),
        }
    };

    let cluster = one("cluster_name");
    let pe: Vec<_> = inv
        .clusters
        .iter()
        .filter(|c| c.name == cluster && !c.prism_central)
        .collect();
    assert_eq!(
        pe.len(),
        1,
        "cluster {cluster:?} is not a unique Prism Element cluster of the simulator"
    );
    let cluster_uuid = pe[0].uuid.clone();

    for subnet in &strings["vm_nics.subnet_name"] {
        let n = inv
            .subnets
            .iter()
            .filter(|s| &s.name == subnet && s.cluster_uuid == cluster_uuid)
            .count();
        assert_eq!(
            n, 1,
            "subnet {subnet:?} is not unique on {cluster:?} in the simulator"
        );
    }
    for image in strings
        .get("vm_disks.source_image_name")
        .into_iter()
        .flatten()
    {
        assert!(
            inv.images.iter().any(|i| &i.name == image),
            "image {image:?} is not in the simulator's inventory"
        );
    }
    if let Some(project) = strings.get("project") {
        assert!(
            inv.projects.iter().any(|p| p.name == project[0]),
            "project {project:?}"
        );
    }
    let keys = strings
        .get("vm_categories.key")
        .cloned()
        .unwrap_or_default();
    let values = strings
        .get("vm_categories.value")
        .cloned()
        .unwrap_or_default();
    for (k, v) in keys.iter().zip(&values) {
        assert!(
            inv.categories
                .iter()
                .any(|c| &c.key == k && c.values.contains(v)),
            "category {k}:{v} is not in the simulator's inventory"
        );
    }
    assert_eq!(one("nutanix_username"), prism_sim::config::DEFAULT_USERNAME);
    assert_eq!(one("nutanix_password"), prism_sim::config::DEFAULT_PASSWORD);
}

/// The plugin's Prism Central simulator on a free loopback port, stopped when dropped.
struct Simulator {
    child: std::process::Child,
    port: u16,
}

impl Simulator {
    fn start() -> Simulator {
        use std::io::BufRead;
        let mut child = Command::new(plugin_binary())
            .args(["simulator", "--listen", "127.0.0.1:0", "--self-signed-tls"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start the simulator");
        let stderr = child.stderr.take().expect("simulator stderr");
        let mut lines = std::io::BufReader::new(stderr).lines();
        let port = lines.by_ref().map_while(Result::ok).find_map(|l| {
            l.split("listening on https://127.0.0.1:")
                .nth(1)
                .and_then(|p| p.trim().parse::<u16>().ok())
        });
        // Keep draining stderr so the simulator never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
        match port {
            Some(port) => Simulator { child, port },
            None => {
                let _ = child.kill();
                panic!("the simulator did not say where it listens");
            }
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn simulator_example_builds_against_the_simulator() {
    let sim = Simulator::start();
    let packer = packers().remove(0);
    let installed = InstalledPlugin::install(&packer);
    let work = tempfile::tempdir().unwrap();
    let out = installed
        .packer(&packer)
        .current_dir(work.path())
        .args(["build", "-var", &format!("nutanix_port={}", sim.port)])
        .arg(repo_root().join("examples/simulator/build.pkr.hcl"))
        .output()
        .unwrap();
    let all = text(&out);
    assert!(
        out.status.success(),
        "{}: examples/simulator should build:\n{all}",
        packer.label
    );
    assert!(
        all.contains("image 'demo-golden-image' (") && all.contains("on cluster PE-Cluster-1"),
        "{}: the artifact does not name the image:\n{all}",
        packer.label
    );
}

// ---------------------------------------------------------------------------------------------
// (e) packer-sdc plugin-check.

fn packer_sdc() -> PathBuf {
    let version = std::env::var("SDC_VERSION").unwrap_or_else(|_| "v0.6.10".into());
    let sdc = peer_cache().join(format!("packer-sdc-{}", version.trim_start_matches('v')));
    assert!(
        sdc.exists(),
        "{} is missing: run scripts/build-peers.sh sdc (.ci/run builds it through scripts/test.sh)",
        sdc.display()
    );
    sdc
}

/// Runs plugin-check the way the release tooling does: from the binary's directory, with the
/// bare file name (plugin-check judges the argument itself, so a path would be refused).
fn plugin_check(sdc: &Path, binary: &Path) -> Output {
    Command::new(sdc)
        .current_dir(binary.parent().unwrap())
        .arg("plugin-check")
        .arg(binary.file_name().unwrap())
        .output()
        .unwrap()
}

#[test]
fn packer_sdc_plugin_check_passes() {
    let sdc = packer_sdc();
    let out = plugin_check(&sdc, &plugin_binary());
    assert!(
        out.status.success(),
        "packer-sdc plugin-check failed:\n{}",
        text(&out)
    );

    // It is a real check: a binary that is not a plugin fails it.
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("packer-plugin-fake");
    std::fs::write(&fake, "#!/bin/sh\necho '{\"version\":\"1.0.0\"}'\n").unwrap();
    set_executable(&fake);
    let out = plugin_check(&sdc, &fake);
    assert!(
        !out.status.success(),
        "plugin-check accepted a binary without components:\n{}",
        text(&out)
    );
}

#[cfg(unix)]
fn set_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[cfg(not(unix))]
fn set_executable(_path: &Path) {}

// ---------------------------------------------------------------------------------------------
// (f) Release assets: names, checksums, and a real install.

/// This machine in Go's GOOS/GOARCH words, as Packer names plugin files.
fn go_platform() -> (&'static str, &'static str) {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    (os, arch)
}

/// Names of the entries of a zip file.
fn zip_entries(zip: &Path) -> Vec<String> {
    let out = match Command::new("unzip").arg("-Z1").arg(zip).output() {
        Ok(o) => o,
        Err(_) => Command::new("python3")
            .args(["-m", "zipfile", "-l"])
            .arg(zip)
            .output()
            .unwrap(),
    };
    assert!(
        out.status.success(),
        "cannot list {}:\n{}",
        zip.display(),
        text(&out)
    );
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    if listing.starts_with("File Name") {
        // python3 -m zipfile -l: a header, then "name  date  time  size" per line.
        return listing
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next().map(str::to_string))
            .collect();
    }
    listing.lines().map(str::to_string).collect()
}

fn unzip(zip: &Path, into: &Path) {
    let out = match Command::new("unzip")
        .arg("-o")
        .arg("-q")
        .arg(zip)
        .arg("-d")
        .arg(into)
        .output()
    {
        Ok(o) => o,
        Err(_) => Command::new("python3")
            .args(["-m", "zipfile", "-e"])
            .arg(zip)
            .arg(into)
            .output()
            .unwrap(),
    };
    assert!(
        out.status.success(),
        "cannot extract {}:\n{}",
        zip.display(),
        text(&out)
    );
}

#[test]
fn release_assets_install_with_packer() {
    let version = env!("CARGO_PKG_VERSION");
    let (os, arch) = go_platform();
    let dist = tempfile::tempdir().unwrap();
    let run = bash("scripts/release-assets.sh")
        .arg(format!("v{version}"))
        .arg(dist.path())
        .arg(plugin_binary())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "release-assets.sh failed:\n{}",
        text(&run)
    );

    let exe = if os == "windows" { ".exe" } else { "" };
    let asset = format!("{PLUGIN}_v{version}_x5.0_{os}_{arch}");
    let zip_name = format!("{asset}.zip");
    let sums_name = format!("{PLUGIN}_v{version}_SHA256SUMS");
    let names: BTreeSet<String> = files_under(dist.path())
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(names, BTreeSet::from([zip_name.clone(), sums_name.clone()]));

    // The SHA256SUMS line is what Packer's GitHub getter parses: "<hex>  <file>", and the sum is
    // the zip's.
    let sums = std::fs::read_to_string(dist.path().join(&sums_name)).unwrap();
    let lines: Vec<&str> = sums.lines().collect();
    assert_eq!(lines.len(), 1, "{sums}");
    let fields: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(fields.len(), 2, "{sums}");
    assert_eq!(fields[1], zip_name);
    assert!(
        fields[0].len() == 64 && fields[0].bytes().all(|b| b.is_ascii_hexdigit()),
        "{sums}"
    );
    let check = Command::new("sha256sum")
        .args(["--check", "--strict", &sums_name])
        .current_dir(dist.path())
        .output();
    if let Ok(check) = check {
        assert!(
            check.status.success(),
            "SHA256SUMS does not match the zip:\n{}",
            text(&check)
        );
    }

    // The zip holds exactly the binary, under the name packer init extracts.
    assert_eq!(
        zip_entries(&dist.path().join(&zip_name)),
        vec![format!("{asset}{exe}")]
    );
    let extracted = tempfile::tempdir().unwrap();
    unzip(&dist.path().join(&zip_name), extracted.path());
    let binary = extracted.path().join(format!("{asset}{exe}"));
    assert_eq!(
        std::fs::read(&binary).unwrap(),
        std::fs::read(plugin_binary()).unwrap(),
        "the zipped binary differs from the built one"
    );
    // Packer writes the binary it extracts with mode 0755 itself; do the same.
    set_executable(&binary);

    let sdc = packer_sdc();
    let out = plugin_check(&sdc, &binary);
    assert!(
        out.status.success(),
        "plugin-check on the release binary:\n{}",
        text(&out)
    );

    // A real Packer installs and lists it under the versioned name.
    for packer in packers() {
        let installed = InstalledPlugin {
            plugin_dir: tempfile::tempdir().unwrap(),
            home: tempfile::tempdir().unwrap(),
        };
        let out = installed
            .packer(&packer)
            .args(["plugins", "install", "--path"])
            .arg(&binary)
            .arg(SOURCE)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: install of the release binary:\n{}",
            packer.label,
            text(&out)
        );
        let out = installed
            .packer(&packer)
            .args(["plugins", "installed"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}: {}", packer.label, text(&out));
        let listing = String::from_utf8_lossy(&out.stdout);
        assert!(
            listing.contains(&format!("{SOURCE}/{asset}")),
            "{}: {asset} not listed:\n{listing}",
            packer.label
        );
    }

    // Versions packer init cannot install are refused.
    for bad in ["1.2.3-rc1", "1.2", "1.2.3+meta"] {
        let out = bash("scripts/release-assets.sh")
            .arg(bad)
            .arg(dist.path())
            .arg(plugin_binary())
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "release-assets.sh accepted version {bad}"
        );
    }
    // A binary that says another version is refused.
    let out = bash("scripts/release-assets.sh")
        .arg("v99.0.0")
        .arg(dist.path())
        .arg(plugin_binary())
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "release-assets.sh packed a binary whose describe says {version} as 99.0.0"
    );
}

#[test]
fn release_workflow_uses_the_release_assets_script() {
    let wf = read(".github/workflows/release.yml");
    let packs = wf.contains("scripts/release-assets.sh \"$GITHUB_REF_NAME\" dist");
    let sums = wf.contains("scripts/release-assets.sh \"$GITHUB_REF_NAME\" dist --sums-only");
    assert!(
        packs && sums,
        "release.yml must pack and checksum with scripts/release-assets.sh"
    );
    for line in wf.lines().filter(|l| !l.trim_start().starts_with('#')) {
        assert!(
            !line.contains("_x5.0_") && !line.contains("sha256sum"),
            "release.yml builds asset names or sums itself instead of calling the script: {line}"
        );
    }

    // Each matrix entry pairs a Rust target with the Go names Packer compares against.
    let mut platforms = Vec::new();
    for line in wf
        .lines()
        .filter(|l| l.contains("target:") && l.contains("goos:"))
    {
        let field = |k: &str| {
            line.split(&format!("{k}:"))
                .nth(1)
                .and_then(|r| r.split([',', '}']).next())
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        let (target, goos, goarch) = (field("target"), field("goos"), field("goarch"));
        let want_arch = match target.split('-').next().unwrap_or("") {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "i686" => "386",
            other => panic!("unexpected target arch {other} in {line}"),
        };
        let want_os = if target.contains("linux") {
            "linux"
        } else if target.contains("darwin") {
            "darwin"
        } else if target.contains("windows") {
            "windows"
        } else {
            panic!("unexpected target OS in {line}")
        };
        assert_eq!(
            (goos.as_str(), goarch.as_str()),
            (want_os, want_arch),
            "{line}"
        );
        platforms.push(format!("{goos}_{goarch}"));
    }
    for needed in [
        "linux_amd64",
        "linux_arm64",
        "darwin_amd64",
        "darwin_arm64",
        "windows_amd64",
    ] {
        assert!(
            platforms.iter().any(|p| p == needed),
            "release.yml does not build {needed}: {platforms:?}"
        );
    }
}
