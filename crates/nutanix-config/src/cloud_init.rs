//! Adds an SSH public key to cloud-init `user_data` without rewriting the document: how the
//! builder gives a VM its temporary SSH key, and how Prepare knows beforehand that it can.
//!
//! Re-serialising the YAML would lose comments and, worse, change meaning: cloud-init reads YAML
//! 1.1 (`yes`, `0644`), YAML libraries write 1.2. So the edit is textual: a YAML parser with
//! source spans finds where `ssh_authorized_keys` lists are (top level, and the `ssh_username`
//! entry of `users:`), a few lines are inserted there, and the result is parsed again and must
//! equal the original plus exactly the added key. A layout this module does not handle gives an
//! error, never a silently different document.
//!
//! Supported: a `#cloud-config` document; absent, empty, block (`- a`) or flow (`[a, b]`)
//! `ssh_authorized_keys` lists; `users:` as a list of `- name: ...` mappings (other entries are
//! left alone). Refused: shell scripts, MIME multi-part, gzip, Jinja templates, `#include` and
//! other part types, several YAML documents.

use saphyr::{MarkedYaml, ScalarStyle, YamlData, YamlLoader};

/// Top-level key cloud-init applies to the image's default user.
const KEYS: &str = "ssh_authorized_keys";
/// The deprecated spelling cloud-init still accepts inside `users:` entries.
const KEYS_DASHED: &str = "ssh-authorized-keys";

/// Why the key could not be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudInitError {
    /// The user data is not a cloud-config document (script, MIME, gzip, ...).
    #[error("user_data is {0}, not a #cloud-config document")]
    NotCloudConfig(&'static str),
    /// The YAML does not parse.
    #[error("user_data is not valid YAML: {0}")]
    Yaml(String),
    /// The YAML parses but has a layout this module does not edit.
    #[error("user_data: {0}")]
    Layout(String),
    /// The public key itself cannot go on one YAML line.
    #[error("the public key must be one non-empty line")]
    BadKey,
}

/// What kind of part cloud-init would see, from its first line (cloud-init's part handlers).
pub fn check_cloud_config(data: &[u8]) -> Result<&str, CloudInitError> {
    if data.starts_with(&[0x1f, 0x8b]) {
        return Err(CloudInitError::NotCloudConfig("gzip-compressed data"));
    }
    let text = std::str::from_utf8(data)
        .map_err(|_| CloudInitError::NotCloudConfig("binary data (not UTF-8 text)"))?;
    let first = text.lines().next().unwrap_or("").trim_end();
    let lower = first.to_ascii_lowercase();
    let kind = if first.starts_with("#cloud-config-archive") {
        "a #cloud-config-archive"
    } else if first.starts_with("#cloud-config") {
        return Ok(text);
    } else if first.starts_with("## template:") {
        "a Jinja template"
    } else if first.starts_with("#!") {
        "a shell script"
    } else if lower.starts_with("content-type:") || lower.starts_with("mime-version:") {
        "a MIME multi-part message"
    } else if first.starts_with("#include") {
        "an #include list"
    } else if first.starts_with("#cloud-boothook") {
        "a cloud-boothook"
    } else if first.starts_with("#part-handler") {
        "a part-handler"
    } else if first.starts_with("#upstart-job") {
        "an upstart job"
    } else {
        "not marked as cloud-config (its first line is not #cloud-config)"
    };
    Err(CloudInitError::NotCloudConfig(kind))
}

/// A `#cloud-config` document that gives `public_key` to the image's default user: what the VM
/// gets when the template has no `user_data`.
pub fn minimal_cloud_config(public_key: &str) -> Result<String, CloudInitError> {
    let key = quoted_key(public_key)?;
    Ok(format!(
        "#cloud-config\n# The build's temporary SSH key (packer-plugin-nutanix), for the image's default user.\n{KEYS}:\n  - {key}\n"
    ))
}

/// `data` (a `#cloud-config` document) with `public_key` added to the top-level
/// `ssh_authorized_keys` and to those of the `users:` entries named `username`.
pub fn add_authorized_key(
    data: &[u8],
    username: &str,
    public_key: &str,
) -> Result<String, CloudInitError> {
    let text = check_cloud_config(data)?;
    let quoted = quoted_key(public_key)?;
    let original = parse_one(text)?;
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };

    let mut edits: Vec<(usize, String)> = Vec::new();
    let mut expected: Vec<Expect> = Vec::new();
    let root = match original.as_ref().map(|n| &n.data) {
        None => None,
        Some(YamlData::Mapping(_)) => original.as_ref(),
        Some(_) => {
            return Err(CloudInitError::Layout(
                "the top level is not a mapping of cloud-config keys".into(),
            ))
        }
    };

    // Top level.
    match root.and_then(|r| entry(r, &[KEYS])) {
        Some((key, value)) => {
            let (at, text_to_insert, shape) = list_edit(text, key, value, &quoted, nl, KEYS)?;
            edits.push((at, text_to_insert));
            expected.push(Expect {
                user_entry: None,
                key: KEYS,
                shape,
            });
        }
        None => {
            let indent = root
                .and_then(|r| mapping(r).and_then(|m| m.keys().next()))
                .map_or(0, |k| k.span.start.col());
            let pad = " ".repeat(indent);
            let lead = if text.is_empty() || text.ends_with('\n') {
                ""
            } else {
                nl
            };
            edits.push((
                text.chars().count(),
                format!("{lead}{pad}{KEYS}:{nl}{pad}  - {quoted}{nl}"),
            ));
            expected.push(Expect {
                user_entry: None,
                key: KEYS,
                shape: Shape::Added,
            });
        }
    }

    // `users:` entries named `username`.
    if let Some((_, users)) = root.and_then(|r| entry(r, &["users"])) {
        match &users.data {
            YamlData::Sequence(items) => {
                for (i, item) in items.iter().enumerate() {
                    if scalar(item) == Some(username) {
                        return Err(CloudInitError::Layout(format!(
                            "users: the entry \"{username}\" is a bare name; write it as `- name: {username}` so the key can be added to it"
                        )));
                    }
                    if mapping(item).is_none()
                        || entry(item, &["name"]).and_then(|(_, v)| scalar(v)) != Some(username)
                    {
                        continue;
                    }
                    let (at, insert, key, shape) = match entry(item, &[KEYS, KEYS_DASHED]) {
                        Some((k, v)) => {
                            let name = if scalar(k) == Some(KEYS) {
                                KEYS
                            } else {
                                KEYS_DASHED
                            };
                            let (at, insert, shape) = list_edit(text, k, v, &quoted, nl, name)?;
                            (at, insert, name, shape)
                        }
                        None => {
                            let (at, col) = after_first_one_line_pair(text, item).ok_or_else(|| {
                                CloudInitError::Layout(format!(
                                    "users: the entry for \"{username}\" has no one-line `key: value` to add {KEYS} after"
                                ))
                            })?;
                            let pad = " ".repeat(col);
                            (
                                at,
                                format!("{nl}{pad}{KEYS}:{nl}{pad}  - {quoted}"),
                                KEYS,
                                Shape::Added,
                            )
                        }
                    };
                    edits.push((at, insert));
                    expected.push(Expect {
                        user_entry: Some(i),
                        key,
                        shape,
                    });
                }
            }
            // `users: default` or a name list in one string: nothing to attach keys to; the
            // top-level list reaches the default user.
            YamlData::Representation(..) => {}
            _ => {
                return Err(CloudInitError::Layout(
                    "users: only the list form (`- name: ...`) can be given the key".into(),
                ))
            }
        }
    }

    let edited = apply(text, edits);
    verify(original.as_ref(), &edited, public_key.trim(), &expected)?;
    Ok(edited)
}

/// How a list was changed, for the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// The key went first (flow list).
    Front,
    /// The key went last (block list).
    Back,
    /// An empty value became a one-key list.
    FromEmpty,
    /// The mapping key was added.
    Added,
}

/// One change [`verify`] must find, and nothing else.
struct Expect {
    /// `None`: the top-level mapping; `Some(i)`: `users[i]`.
    user_entry: Option<usize>,
    key: &'static str,
    shape: Shape,
}

/// The key as a double-quoted YAML scalar.
fn quoted_key(public_key: &str) -> Result<String, CloudInitError> {
    let key = public_key.trim();
    if key.is_empty() || key.contains(['\n', '\r']) {
        return Err(CloudInitError::BadKey);
    }
    let mut out = String::with_capacity(key.len() + 2);
    out.push('"');
    for c in key.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    Ok(out)
}

/// The single document of `text` (`None` when there is none), scalars unresolved so that
/// comparisons see exactly what was written.
fn parse_one(text: &str) -> Result<Option<MarkedYaml<'_>>, CloudInitError> {
    // A parser bug must not take the plugin down with it.
    let docs = std::panic::catch_unwind(|| {
        let mut loader: YamlLoader<MarkedYaml> = YamlLoader::default();
        loader.early_parse(false);
        // PyYAML (cloud-init) accepts repeated keys, the last one winning; so does this.
        loader.allow_duplicate_keys(true);
        let mut parser = saphyr_parser::Parser::new_from_str(text);
        parser
            .load(&mut loader, true)
            .map_err(|e| CloudInitError::Yaml(e.to_string()))?;
        if let Some(e) = loader.error() {
            return Err(CloudInitError::Yaml(e.to_string()));
        }
        Ok(loader.into_documents())
    })
    .map_err(|_| CloudInitError::Yaml("the YAML parser failed on this input".into()))??;
    let mut docs = docs.into_iter();
    let first = docs.next();
    if docs.next().is_some() {
        return Err(CloudInitError::Layout(
            "holds several YAML documents; cloud-init reads one".into(),
        ));
    }
    Ok(first.filter(|d| !is_null(d)))
}

fn is_null(n: &MarkedYaml) -> bool {
    matches!(&n.data, YamlData::Representation(s, ScalarStyle::Plain, None)
        if s.is_empty() || s == "~" || s.eq_ignore_ascii_case("null"))
}

fn scalar<'a>(n: &'a MarkedYaml) -> Option<&'a str> {
    match &n.data {
        YamlData::Representation(s, _, _) => Some(s),
        _ => None,
    }
}

fn mapping<'a, 'i>(
    n: &'a MarkedYaml<'i>,
) -> Option<&'a saphyr::AnnotatedMapping<'i, MarkedYaml<'i>>> {
    match &n.data {
        YamlData::Mapping(m) => Some(m),
        _ => None,
    }
}

/// The last entry of mapping `n` whose key is one of `names` (the last wins, as in PyYAML).
fn entry<'a, 'i>(
    n: &'a MarkedYaml<'i>,
    names: &[&str],
) -> Option<(&'a MarkedYaml<'i>, &'a MarkedYaml<'i>)> {
    mapping(n)?
        .iter()
        .rev()
        .find(|(k, _)| scalar(k).is_some_and(|s| names.contains(&s)))
}

/// Char index of the end of the line holding char index `at` (before `\r\n` or `\n`).
fn line_end(text: &str, at: usize) -> usize {
    let mut prev_cr = false;
    for (i, c) in text.chars().enumerate().skip(at) {
        if c == '\n' {
            return if prev_cr { i - 1 } else { i };
        }
        prev_cr = c == '\r';
    }
    text.chars().count()
}

/// Where and what to insert to add the key to the existing value of `key_node`.
fn list_edit(
    text: &str,
    key_node: &MarkedYaml,
    value: &MarkedYaml,
    quoted: &str,
    nl: &str,
    name: &str,
) -> Result<(usize, String, Shape), CloudInitError> {
    let chars: Vec<char> = text.chars().collect();
    if chars.get(value.span.start.index()) == Some(&'*') {
        return Err(CloudInitError::Layout(format!(
            "{name}: an alias (*anchor) cannot be extended"
        )));
    }
    let open = after_properties(&chars, value.span.start.index());
    match &value.data {
        YamlData::Sequence(items) if chars.get(open) == Some(&'[') => {
            let insert = if items.is_empty() {
                quoted.to_string()
            } else {
                format!("{quoted}, ")
            };
            Ok((open + 1, insert, Shape::Front))
        }
        YamlData::Sequence(items) => {
            let last = items
                .last()
                .ok_or_else(|| CloudInitError::Layout(format!("{name}: an empty block list")))?;
            let dash = dash_column(&chars, last).ok_or_else(|| {
                CloudInitError::Layout(format!(
                    "{name}: list items must look like `- <key>` on one line"
                ))
            })?;
            let at = line_end(text, last.span.end.index());
            let pad = " ".repeat(dash);
            Ok((at, format!("{nl}{pad}- {quoted}"), Shape::Back))
        }
        _ if is_null(value) => {
            let at = line_end(text, key_node.span.end.index());
            let pad = " ".repeat(key_node.span.start.col() + 2);
            Ok((at, format!("{nl}{pad}- {quoted}"), Shape::FromEmpty))
        }
        _ => Err(CloudInitError::Layout(format!(
            "{name}: expected a list of public keys"
        ))),
    }
}

/// The first char index at or after `at` that is not white space or part of an `&anchor` or
/// `!tag` (node properties come before a flow collection's `[`).
fn after_properties(chars: &[char], mut at: usize) -> usize {
    loop {
        match chars.get(at) {
            Some(' ' | '\t' | '\r' | '\n') => at += 1,
            Some('&' | '!') => {
                while chars.get(at).is_some_and(|c| !c.is_whitespace()) {
                    at += 1;
                }
            }
            _ => return at,
        }
    }
}

/// The column of the `-` introducing block sequence item `item`, when the line reads
/// `<spaces>- <item>`.
fn dash_column(chars: &[char], item: &MarkedYaml) -> Option<usize> {
    let start = item.span.start.index();
    let col = item.span.start.col();
    let line_start = start.checked_sub(col)?;
    let prefix = chars.get(line_start..start)?;
    let dash = prefix.iter().position(|c| *c == '-')?;
    let ok = prefix.get(..dash)?.iter().all(|c| *c == ' ')
        && prefix.get(dash + 1..)?.iter().all(|c| *c == ' ')
        && prefix.len() > dash + 1;
    ok.then_some(dash)
}

/// In mapping `item`, the end of the first `key: value` written on one line, and the column of
/// its key (where a new key of the same mapping goes).
fn after_first_one_line_pair(text: &str, item: &MarkedYaml) -> Option<(usize, usize)> {
    mapping(item)?.iter().find_map(|(k, v)| {
        let one_line = matches!(
            &v.data,
            YamlData::Representation(
                _,
                ScalarStyle::Plain | ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted,
                _
            )
        ) && k.span.start.line() == v.span.end.line();
        one_line.then(|| (line_end(text, v.span.end.index()), k.span.start.col()))
    })
}

/// `text` with each `(char index, insertion)` applied.
fn apply(text: &str, mut edits: Vec<(usize, String)>) -> String {
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut out = text.to_string();
    for (at, insert) in edits {
        let byte = text.char_indices().nth(at).map_or(text.len(), |(b, _)| b);
        out.insert_str(byte, &insert);
    }
    out
}

/// Parses `edited` and checks it is `original` plus exactly the `expected` additions.
fn verify(
    original: Option<&MarkedYaml>,
    edited: &str,
    key: &str,
    expected: &[Expect],
) -> Result<(), CloudInitError> {
    let changed = |what: &str| {
        CloudInitError::Layout(format!(
            "adding the key would change {what}; this layout is not supported"
        ))
    };
    let mut edited_root = parse_one(edited)
        .map_err(|_| changed("the document's syntax"))?
        .ok_or_else(|| changed("the document"))?;
    let ours = MarkedYaml::from(YamlData::Representation(
        key.into(),
        ScalarStyle::DoubleQuoted,
        None,
    ));
    for e in expected {
        let orig_map = match e.user_entry {
            None => original,
            Some(i) => original
                .and_then(|r| entry(r, &["users"]))
                .and_then(|(_, u)| sequence(u)?.get(i)),
        };
        let orig_value = orig_map.and_then(|m| entry(m, &[e.key])).map(|(_, v)| v);
        let target = match e.user_entry {
            None => Some(&mut edited_root),
            Some(i) => {
                entry_mut(&mut edited_root, "users").and_then(|u| sequence_mut(u)?.get_mut(i))
            }
        }
        .ok_or_else(|| changed("the users list"))?;
        let map = mapping_mut(target).ok_or_else(|| changed("the top level"))?;
        let key_node = map
            .keys()
            .rev()
            .find(|k| scalar(k) == Some(e.key))
            .cloned()
            .ok_or_else(|| changed(e.key))?;
        let now = map
            .get(&key_node)
            .and_then(sequence)
            .ok_or_else(|| changed(e.key))?;
        let before: Vec<MarkedYaml> = orig_value.and_then(sequence).cloned().unwrap_or_default();
        let want: Vec<MarkedYaml> = match e.shape {
            Shape::Front => std::iter::once(ours.clone()).chain(before).collect(),
            Shape::Back => before
                .into_iter()
                .chain(std::iter::once(ours.clone()))
                .collect(),
            Shape::FromEmpty | Shape::Added => vec![ours.clone()],
        };
        if *now != want {
            return Err(changed(e.key));
        }
        match (e.shape, orig_value) {
            (Shape::Added, _) => {
                map.remove(&key_node);
            }
            (_, Some(v)) => {
                if let Some(slot) = map.get_mut(&key_node) {
                    *slot = v.clone();
                }
            }
            (_, None) => return Err(changed(e.key)),
        }
    }
    let same = match original {
        Some(o) => edited_root == *o,
        None => mapping(&edited_root).is_some_and(|m| m.is_empty()),
    };
    if same {
        Ok(())
    } else {
        Err(changed("other parts of the document"))
    }
}

fn sequence<'a, 'i>(n: &'a MarkedYaml<'i>) -> Option<&'a Vec<MarkedYaml<'i>>> {
    match &n.data {
        YamlData::Sequence(s) => Some(s),
        _ => None,
    }
}

fn sequence_mut<'a, 'i>(n: &'a mut MarkedYaml<'i>) -> Option<&'a mut Vec<MarkedYaml<'i>>> {
    match &mut n.data {
        YamlData::Sequence(s) => Some(s),
        _ => None,
    }
}

fn mapping_mut<'a, 'i>(
    n: &'a mut MarkedYaml<'i>,
) -> Option<&'a mut saphyr::AnnotatedMapping<'i, MarkedYaml<'i>>> {
    match &mut n.data {
        YamlData::Mapping(m) => Some(m),
        _ => None,
    }
}

fn entry_mut<'a, 'i>(n: &'a mut MarkedYaml<'i>, name: &str) -> Option<&'a mut MarkedYaml<'i>> {
    let map = mapping_mut(n)?;
    let key = map.keys().rev().find(|k| scalar(k) == Some(name))?.clone();
    map.get_mut(&key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGeneratedKeyForTests0000000000000000";

    fn add(text: &str) -> Result<String, CloudInitError> {
        add_authorized_key(text.as_bytes(), "packer", KEY)
    }

    /// The lines of `edited` that are not in `original`, checking that every original line is
    /// still there, in order and byte for byte.
    fn added_lines(original: &str, edited: &str) -> Vec<String> {
        let mut rest = original.split_inclusive('\n').peekable();
        let mut added = Vec::new();
        for line in edited.split_inclusive('\n') {
            if rest.peek() == Some(&line) {
                rest.next();
            } else {
                added.push(line.to_string());
            }
        }
        assert_eq!(rest.next(), None, "original lines lost:\n{edited}");
        added
    }

    /// Every `ssh_authorized_keys` list the edited document gives, by owner.
    fn keys_of(text: &str) -> Vec<(String, Vec<String>)> {
        let root = parse_one(text).unwrap().unwrap();
        let list = |n: &MarkedYaml| -> Vec<String> {
            sequence(n)
                .map(|s| s.iter().filter_map(scalar).map(str::to_string).collect())
                .unwrap_or_default()
        };
        let mut out = Vec::new();
        if let Some((_, v)) = entry(&root, &[KEYS]) {
            out.push(("<top>".to_string(), list(v)));
        }
        if let Some(users) = entry(&root, &["users"]).and_then(|(_, u)| sequence(u)) {
            for u in users {
                if let (Some((_, name)), Some((_, v))) =
                    (entry(u, &["name"]), entry(u, &[KEYS, KEYS_DASHED]))
                {
                    out.push((scalar(name).unwrap().to_string(), list(v)));
                }
            }
        }
        out
    }

    #[test]
    fn a_bare_header_gets_a_top_level_list() {
        let edited = add("#cloud-config\n").unwrap();
        assert_eq!(
            edited,
            format!("#cloud-config\nssh_authorized_keys:\n  - \"{KEY}\"\n")
        );
        // Without a final newline, the insertion starts a new line.
        let edited = add("#cloud-config\nhostname: vm").unwrap();
        assert_eq!(
            edited,
            format!("#cloud-config\nhostname: vm\nssh_authorized_keys:\n  - \"{KEY}\"\n")
        );
    }

    #[test]
    fn the_minimal_document_carries_the_key() {
        let text = minimal_cloud_config(&format!("{KEY}\n")).unwrap();
        assert!(text.starts_with("#cloud-config\n"));
        assert_eq!(keys_of(&text), vec![("<top>".into(), vec![KEY.into()])]);
    }

    #[test]
    fn existing_block_list_is_extended_and_comments_kept() {
        let original = "#cloud-config\n# keys of the team\nssh_authorized_keys:\n- ssh-rsa AAAA1 alice # laptop\n- \"ssh-rsa AAAA2 bob\"\n\n# later\npackage_upgrade: yes\nwrite_files:\n  - path: /etc/x\n    permissions: 0644\n    content: |\n      # not a comment\n      a: b\n";
        let edited = add(original).unwrap();
        assert_eq!(
            added_lines(original, &edited),
            vec![format!("- \"{KEY}\"\n")]
        );
        assert_eq!(
            keys_of(&edited),
            vec![(
                "<top>".into(),
                vec![
                    "ssh-rsa AAAA1 alice".into(),
                    "ssh-rsa AAAA2 bob".into(),
                    KEY.into()
                ]
            )]
        );
        // Indented items keep their indentation.
        let original = "#cloud-config\nssh_authorized_keys:\n    -   ssh-rsa AAAA1\nruncmd: [ls]\n";
        let edited = add(original).unwrap();
        assert_eq!(
            added_lines(original, &edited),
            vec![format!("    - \"{KEY}\"\n")]
        );
    }

    #[test]
    fn flow_and_empty_lists() {
        let edited =
            add("#cloud-config\nssh_authorized_keys: [ssh-rsa AAAA1, 'ssh-rsa AAAA2']\n").unwrap();
        assert_eq!(
            edited,
            format!(
                "#cloud-config\nssh_authorized_keys: [\"{KEY}\", ssh-rsa AAAA1, 'ssh-rsa AAAA2']\n"
            )
        );
        let edited = add("#cloud-config\nssh_authorized_keys: []\n").unwrap();
        assert_eq!(
            edited,
            format!("#cloud-config\nssh_authorized_keys: [\"{KEY}\"]\n")
        );
        let original = "#cloud-config\nssh_authorized_keys: # filled by packer\nhostname: h\n";
        let edited = add(original).unwrap();
        assert_eq!(
            edited,
            format!("#cloud-config\nssh_authorized_keys: # filled by packer\n  - \"{KEY}\"\nhostname: h\n")
        );
    }

    #[test]
    fn the_ssh_username_entry_of_users_gets_the_key_too() {
        let original = "#cloud-config\nusers:\n  - default\n  - name: packer\n    sudo: ALL=(ALL) NOPASSWD:ALL\n    groups: [wheel]\n    passwd: |\n      $6$x\n  - name: other\n    ssh-authorized-keys:\n      - ssh-rsa OTHER\n";
        let edited = add(original).unwrap();
        assert_eq!(
            added_lines(original, &edited),
            vec![
                "    ssh_authorized_keys:\n".to_string(),
                format!("      - \"{KEY}\"\n"),
                "ssh_authorized_keys:\n".to_string(),
                format!("  - \"{KEY}\"\n"),
            ]
        );
        let keys = keys_of(&edited);
        assert!(
            keys.contains(&("<top>".into(), vec![KEY.into()])),
            "{keys:?}"
        );
        assert!(
            keys.contains(&("packer".into(), vec![KEY.into()])),
            "{keys:?}"
        );
        // Someone else's keys are left alone.
        assert!(
            keys.contains(&("other".into(), vec!["ssh-rsa OTHER".into()])),
            "{keys:?}"
        );
    }

    #[test]
    fn an_existing_user_list_is_extended_whichever_spelling() {
        let original = "#cloud-config\nusers:\n- name: packer\n  ssh-authorized-keys:\n  - ssh-rsa MINE\nssh_authorized_keys: [ssh-rsa TOP]\n";
        let edited = add(original).unwrap();
        let keys = keys_of(&edited);
        assert_eq!(
            keys,
            vec![
                ("<top>".into(), vec![KEY.into(), "ssh-rsa TOP".into()]),
                ("packer".into(), vec!["ssh-rsa MINE".into(), KEY.into()]),
            ]
        );
    }

    #[test]
    fn windows_line_endings_stay_windows() {
        let original =
            "#cloud-config\r\nssh_authorized_keys:\r\n  - ssh-rsa AAAA1\r\nhostname: h\r\n";
        let edited = add(original).unwrap();
        assert_eq!(
            edited,
            format!("#cloud-config\r\nssh_authorized_keys:\r\n  - ssh-rsa AAAA1\r\n  - \"{KEY}\"\r\nhostname: h\r\n")
        );
    }

    #[test]
    fn a_repeated_key_edits_the_one_cloud_init_reads() {
        // PyYAML keeps the last of repeated keys.
        let original = "#cloud-config\nssh_authorized_keys: [ssh-rsa OLD]\nssh_authorized_keys: [ssh-rsa NEW]\n";
        let edited = add(original).unwrap();
        assert!(
            edited.ends_with(&format!("[\"{KEY}\", ssh-rsa NEW]\n")),
            "{edited}"
        );
        assert!(edited.contains("[ssh-rsa OLD]"), "{edited}");
    }

    #[test]
    fn other_kinds_of_user_data_are_refused_by_name() {
        for (data, kind) in [
            (&b"#!/bin/bash\necho hi\n"[..], "a shell script"),
            (
                b"Content-Type: multipart/mixed; boundary=\"x\"\nMIME-Version: 1.0\n",
                "MIME",
            ),
            (b"\x1f\x8b\x08\x00", "gzip"),
            (b"## template: jinja\n#cloud-config\n", "Jinja"),
            (b"#include\nhttp://x\n", "#include"),
            (b"#cloud-config-archive\n- type: x\n", "archive"),
            (b"#cloud-boothook\n", "boothook"),
            (b"hostname: x\n", "first line is not #cloud-config"),
            (b"\xff\xfe", "not UTF-8"),
        ] {
            let e = add_authorized_key(data, "packer", KEY).unwrap_err();
            assert!(matches!(e, CloudInitError::NotCloudConfig(_)), "{e}");
            assert!(e.to_string().contains(kind), "{kind}: {e}");
        }
    }

    #[test]
    fn layouts_it_cannot_edit_safely_are_errors() {
        for (text, why) in [
            (
                "#cloud-config\nssh_authorized_keys: ssh-rsa ONE\n",
                "expected a list",
            ),
            ("#cloud-config\n- a\n- b\n", "not a mapping"),
            ("#cloud-config\na: 1\n---\nb: 2\n", "several YAML documents"),
            ("#cloud-config\nusers:\n  - packer\n", "bare name"),
            ("#cloud-config\nusers: {packer: {}}\n", "only the list form"),
            ("#cloud-config\na: [1\n", "not valid YAML"),
            // Found by the check after the edit, not by the edit itself:
            ("#cloud-config\n{hostname: h}\n", "would change"),
            ("#cloud-config\nhostname: h\n...\n", "would change"),
            (
                "#cloud-config\nssh_authorized_keys:\n  - |\n    ssh-rsa BLOCK\nhostname: h\n",
                "list items must look like",
            ),
            (
                "#cloud-config\nk: &k [ssh-rsa A]\nssh_authorized_keys: *k\n",
                "an alias",
            ),
            (
                "#cloud-config\nssh_authorized_keys: &k [ssh-rsa A]\nother: *k\n",
                "would change other parts",
            ),
            (
                "#cloud-config\nusers:\n  - name:\n      packer\n    groups:\n      - wheel\n",
                "no one-line",
            ),
        ] {
            let e = add(text).unwrap_err();
            assert!(e.to_string().contains(why), "{text:?}: {e}");
        }
    }

    #[test]
    fn keys_that_cannot_be_one_yaml_line_are_refused() {
        for key in ["", "  ", "ssh-rsa A\nssh-rsa B"] {
            assert_eq!(
                add_authorized_key(b"#cloud-config\n", "packer", key),
                Err(CloudInitError::BadKey)
            );
        }
        // Quotes and backslashes are escaped, not trusted.
        let edited = add_authorized_key(b"#cloud-config\n", "packer", "ssh-rsa A\"\\B").unwrap();
        assert_eq!(
            keys_of(&edited),
            vec![("<top>".into(), vec!["ssh-rsa A\"\\B".into()])]
        );
    }
}
