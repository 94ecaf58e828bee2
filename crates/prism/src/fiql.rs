//! FIQL filters for v3 list calls.
//!
//! The exact escaping rule: in a value, each of `\` `,` `;` `=` `(` `)` `|` is preceded by a
//! backslash (`\` first, so escapes are not doubled); nothing else is changed and nothing is
//! percent-encoded (the filter travels inside a JSON body, not a URL). `,` `;` `(` `)` are FIQL's
//! OR/AND/grouping operators, `=` starts a comparison, `\` is the escape itself, and `|` is
//! added because Prism reads `name==` values as patterns where `|` is alternation (seen with
//! subnets named `vlan|dev` in cluster-api-provider-nutanix PR 484).
//!
//! Prism also treats other pattern characters (`.` `*` `[`...) specially, so a server-side match
//! is only a candidate set: callers always re-check the exact name client-side, and fall back to
//! an unfiltered listing when the filtered one finds no exact match (see [`crate::lookup`]).

/// Characters escaped with a backslash in a FIQL value.
pub const ESCAPED: &[char] = &['\\', ',', ';', '=', '(', ')', '|'];

/// Escapes a value for use on the right of a FIQL comparison.
pub fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 4);
    for c in value.chars() {
        if ESCAPED.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `attribute==escaped(value)`.
pub fn equals(attribute: &str, value: &str) -> String {
    format!("{attribute}=={}", escape_value(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_unchanged() {
        assert_eq!(equals("name", "ubuntu-22.04"), "name==ubuntu-22.04");
    }

    #[test]
    fn every_operator_character_is_escaped_once() {
        assert_eq!(escape_value(r"a,b;c=d(e)f|g\h"), r"a\,b\;c\=d\(e\)f\|g\\h");
    }

    #[test]
    fn subnet_name_from_go_plugin_pr_200() {
        // The name that broke the Go plugin's unescaped filter.
        assert_eq!(
            equals("name", "VLAN000(NOIPAM)"),
            r"name==VLAN000\(NOIPAM\)"
        );
    }

    #[test]
    fn backslash_is_not_double_escaped_after_other_escapes() {
        assert_eq!(escape_value(r"\,"), r"\\\,");
    }
}
