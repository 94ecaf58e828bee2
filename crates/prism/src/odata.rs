//! OData `$filter` literals for the v4 list calls.
//!
//! The rule (OData 4.01 ABNF, `SQUOTE-in-string`): a string literal is wrapped in single
//! quotes, and a single quote inside it is written twice. Nothing else is escaped here: the
//! filter is then put in the URL query, whose own encoding (`%27`, `+`...) the URL layer does.

/// `'value'` with every `'` inside doubled, ready to stand on the right of `eq`.
pub fn string_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\'' {
            out.push('\'');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// `attribute eq 'value'`.
pub fn equals(attribute: &str, value: &str) -> String {
    format!("{attribute} eq {}", string_literal(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values_are_only_quoted() {
        assert_eq!(
            equals("templateName", "ubuntu 22.04"),
            "templateName eq 'ubuntu 22.04'"
        );
        assert_eq!(string_literal(""), "''");
    }

    #[test]
    fn single_quotes_are_doubled() {
        // The OData spec's own example: 'O''Neil'.
        assert_eq!(string_literal("O'Neil"), "'O''Neil'");
        assert_eq!(string_literal("''"), "''''''");
        assert_eq!(string_literal("a'"), "'a'''");
    }

    #[test]
    fn other_characters_pass_through() {
        // Backslashes, double quotes, FIQL operators and non-ASCII are not OData-special.
        assert_eq!(string_literal(r#"a\b"c,d;é"#), r#"'a\b"c,d;é'"#);
    }
}
