//! The engine against the real Go SDK (`testdata/go-vectors.json`, written by `testdata/go-vectors`).

use super::*;
use crate::test_vectors::{go_init_time, go_vectors};

fn context_of(case: &serde_json::Value) -> Context {
    let text = |k: &str| case[k].as_str().unwrap_or("").to_string();
    let vars = case["user_vars"].as_object().map(|m| {
        m.iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect()
    });
    Context {
        user_variables: vars,
        build_name: text("build_name"),
        build_type: text("build_type"),
        core_version: text("core_version"),
        template_path: case["template_path"].as_str().map(PathBuf::from),
        cwd: None,
        now: go_init_time(),
        data: None,
    }
}

/// Where we differ from Go on purpose (see the module doc): the template and what we produce.
fn deliberate_difference(
    template: &str,
    has_user_vars: bool,
) -> Option<Result<&'static str, &'static str>> {
    match (template, has_user_vars) {
        ("{{ user `missing` }}", true) => Some(Err(
            "error calling user: user variable \"missing\" is not defined",
        )),
        ("{{ .HTTPIP }}", _) => Some(Ok("{{ .HTTPIP }}")),
        ("{{user `x`}}", false) => Some(Err("user variables only exist in legacy JSON templates")),
        ("{{ env `HOME` }}", _) => Some(Err("error calling env: env vars are not allowed here")),
        ("{{ split `a` `,` `0` }}", _) => Some(Err("expected integer; found \"0\"")),
        _ => None,
    }
}

#[test]
fn matches_the_go_sdk_on_every_vector() {
    let v = go_vectors();
    let cases = v["interpolate"].as_array().unwrap();
    assert!(cases.len() > 50);
    for case in cases {
        let template = case["template"].as_str().unwrap();
        let ctx = context_of(case);
        let got = render(template, &ctx);
        if let Some(expected) = deliberate_difference(template, ctx.user_variables.is_some()) {
            match expected {
                Ok(out) => assert_eq!(got.as_deref(), Ok(out), "{template:?}"),
                Err(msg) => {
                    let e = got.expect_err(template).to_string();
                    assert!(e.contains(msg), "{template:?}: {e:?} lacks {msg:?}");
                }
            }
            continue;
        }
        match (case["output"].as_str(), case["error"].as_str()) {
            (Some(out), _) => {
                assert_eq!(got.as_deref(), Ok(out), "{template:?}");
            }
            (None, Some(go_err)) => {
                let e = got.expect_err(template).to_string();
                assert!(
                    go_err.ends_with(&e),
                    "{template:?}: ours {e:?}, Go {go_err:?}"
                );
            }
            _ => panic!("bad vector {case}"),
        }
    }
}

#[test]
fn uuid_is_time_ordered_and_fresh() {
    let ctx = Context::at(go_init_time());
    let a = render("{{uuid}}", &ctx).unwrap();
    let b = render("{{ uuid }}", &ctx).unwrap();
    assert_ne!(a, b);
    let expected_prefix = format!("{:08x}-", go_init_time().timestamp());
    for u in [&a, &b] {
        assert!(u.starts_with(&expected_prefix), "{u}");
        let groups: Vec<usize> = u.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{u}");
        assert!(u.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    }
}

#[test]
fn pwd_and_relative_template_dir_use_the_working_directory() {
    let mut ctx = Context::at(go_init_time());
    assert!(render("{{pwd}}", &ctx)
        .unwrap_err()
        .to_string()
        .contains("working directory not available"));
    ctx.cwd = Some(PathBuf::from("/work/here"));
    ctx.template_path = Some(PathBuf::from("templates/x.json"));
    assert_eq!(render("{{pwd}}", &ctx).unwrap(), "/work/here");
    assert_eq!(
        render("{{template_dir}}", &ctx).unwrap(),
        "/work/here/templates"
    );
}

#[test]
fn build_data_is_rendered_when_present_and_kept_when_absent() {
    let mut ctx = Context::at(go_init_time());
    let t = "linux ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks.cfg {{ upper `x` }}";
    assert_eq!(
        render(t, &ctx).unwrap(),
        "linux ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks.cfg X"
    );
    ctx.data = Some(BTreeMap::from([
        ("HTTPIP".to_string(), "10.0.0.1".to_string()),
        ("HTTPPort".to_string(), "8080".to_string()),
    ]));
    assert_eq!(
        render(t, &ctx).unwrap(),
        "linux ks=http://10.0.0.1:8080/ks.cfg X"
    );
    assert_eq!(render("{{ build `HTTPIP` }}", &ctx).unwrap(), "10.0.0.1");
    let e = render("{{ .Nope }}", &ctx).unwrap_err();
    assert_eq!(e.to_string(), "no build data named .Nope");
}

#[test]
fn check_reports_syntax_and_unknown_functions_without_rendering() {
    assert!(
        check("<esc><wait>linux ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks.cfg<enter>").is_ok()
    );
    assert_eq!(
        check("{{ nosuch `x` }}").unwrap_err().to_string(),
        "function \"nosuch\" not defined"
    );
    assert_eq!(check("{{ `a` ").unwrap_err().to_string(), "unclosed action");
    assert!(check("{{ if true }}x{{ end }}")
        .unwrap_err()
        .to_string()
        .contains("\"if\" is not supported"));
    assert!(check("{{ $x := 1 }}").is_err());
}

#[test]
fn go_builtins_parse_but_do_not_render() {
    assert!(check("{{ printf `%s` `x` }}").is_ok());
    let e = render("{{ printf `%s` `x` }}", &Context::at(go_init_time())).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the Go template builtin \"printf\" is not supported by this plugin"
    );
}

#[test]
fn output_positions_map_back_to_the_template() {
    let mut ctx = Context::at(go_init_time());
    ctx.data = Some(BTreeMap::from([("Name".to_string(), "vm1".to_string())]));
    let src = "ab  {{- .Name -}}  cd{{/* note */}}ef";
    let (out, pieces) = render_traced(src, &ctx).unwrap();
    assert_eq!(out, "abvm1cdef");
    // Every literal output byte maps to the same byte of the template.
    for (i, c) in out.char_indices() {
        let (at, literal) = source_offset(&pieces, i);
        if literal {
            assert_eq!(src[at..].chars().next(), Some(c), "output byte {i}");
        } else {
            assert!(src[at..].starts_with("{{- .Name"), "output byte {i}");
        }
    }
    assert_eq!(source_offset(&pieces, 2), (4, false));
    assert_eq!(source_offset(&pieces, 5), (19, true));
    assert_eq!(source_offset(&pieces, 7), (35, true));
    let (plain, pieces) = render_traced("no templates", &ctx).unwrap();
    assert_eq!(plain, "no templates");
    assert_eq!(source_offset(&pieces, 3), (3, true));
}
