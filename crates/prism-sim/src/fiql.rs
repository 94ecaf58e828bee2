//! The FIQL subset that Prism v3 `*/list` calls accept in their `filter` field.
//!
//! Grammar: a filter is clauses joined by `;` (AND) and `,` (OR); AND binds tighter, so
//! `a==1;b==2,c==3` means `(a==1 AND b==2) OR c==3`. A clause is `attribute==value` or
//! `attribute!=value`. Matching is exact and case-sensitive. An empty filter matches everything.
//!
//! Escaping rule (documented here because the real Prism broke on it, packer-plugin-nutanix PRs
//! #200/#204 and cluster-api-provider-nutanix #484): inside a value a backslash makes the next
//! character literal (`\,` `\;` `\(` `\)` `\|` `\=` `\\`), and after that the value is
//! percent-decoded, so `%28` is `(` and `%25` is a literal `%`. Unescaped `(`, `)` and `|` are
//! rejected (Prism treats them as syntax and fails the request), as are operators other than
//! `==`/`!=` and grouping with parentheses.

use percent_encoding::percent_decode_str;

/// A parsed filter: OR of AND-groups of clauses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    any_of: Vec<Vec<Clause>>,
}

/// One `attribute op value` comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// The attribute name, e.g. `name`.
    pub attribute: String,
    /// `true` for `==`, `false` for `!=`.
    pub equals: bool,
    /// The unescaped, percent-decoded value.
    pub value: String,
}

/// Why a filter string was rejected; the message quotes the offending part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid filter {filter:?}: {problem}")]
pub struct FilterError {
    /// The filter as given.
    pub filter: String,
    /// What is wrong with it.
    pub problem: String,
}

impl Filter {
    /// Parses a filter string; see the module docs for the grammar.
    pub fn parse(input: &str) -> Result<Self, FilterError> {
        let err = |problem: String| FilterError {
            filter: input.to_string(),
            problem,
        };
        if input.trim().is_empty() {
            return Ok(Self::default());
        }
        let mut any_of = Vec::new();
        for group in split_unescaped(input, ',') {
            let mut all_of = Vec::new();
            for raw in split_unescaped(&group, ';') {
                all_of.push(parse_clause(&raw).map_err(err)?);
            }
            any_of.push(all_of);
        }
        Ok(Self { any_of })
    }

    /// Whether nothing is filtered.
    pub fn is_empty(&self) -> bool {
        self.any_of.is_empty()
    }

    /// The only clause of a one-clause filter (no `;` or `,`), for endpoints such as
    /// `POST /groups` that accept nothing richer; None for empty or compound filters.
    pub fn single_clause(&self) -> Option<&Clause> {
        match self.any_of.as_slice() {
            [group] => match group.as_slice() {
                [clause] => Some(clause),
                _ => None,
            },
            _ => None,
        }
    }

    /// All attribute names the filter uses (to reject unsupported ones up front).
    pub fn attributes(&self) -> impl Iterator<Item = &str> {
        self.any_of.iter().flatten().map(|c| c.attribute.as_str())
    }

    /// Evaluates the filter; `lookup` gives an entity's value for an attribute (None if absent).
    pub fn matches(&self, lookup: impl Fn(&str) -> Option<String>) -> bool {
        if self.any_of.is_empty() {
            return true;
        }
        self.any_of.iter().any(|group| {
            group.iter().all(|c| {
                let v = lookup(&c.attribute);
                let eq = v.as_deref() == Some(c.value.as_str());
                eq == c.equals
            })
        })
    }
}

/// Splits on `sep` where it is not preceded by an escaping backslash; keeps escapes intact.
fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            cur.push(c);
            if let Some(n) = chars.next() {
                cur.push(n);
            }
        } else if c == sep {
            parts.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    parts.push(cur);
    parts
}

fn parse_clause(raw: &str) -> Result<Clause, String> {
    let raw_trim = raw.trim();
    if raw_trim.is_empty() {
        return Err("empty clause".to_string());
    }
    // Find the first unescaped operator.
    let chars: Vec<char> = raw_trim.chars().collect();
    let mut i = 0;
    let mut op_at = None;
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' => i += 2,
            '=' | '!' => {
                op_at = Some(i);
                break;
            }
            '(' | ')' => {
                return Err(format!(
                    "unescaped {c:?} in {raw_trim:?}: grouping is not supported, escape it as \\{c} or %{:02X}",
                    c as u32
                ))
            }
            _ => i += 1,
        }
    }
    let at = op_at.ok_or_else(|| format!("no == or != operator in {raw_trim:?}"))?;
    let attribute: String = chars.iter().take(at).collect();
    let rest: String = chars.iter().skip(at).collect();
    let (equals, value_raw) = if let Some(v) = rest.strip_prefix("==") {
        (true, v)
    } else if let Some(v) = rest.strip_prefix("!=") {
        (false, v)
    } else {
        return Err(format!(
            "unsupported operator in {raw_trim:?}: only == and != are supported"
        ));
    };
    let attribute = attribute.trim().to_string();
    if attribute.is_empty()
        || !attribute
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    {
        return Err(format!("invalid attribute name {attribute:?}"));
    }
    let value = unescape_value(value_raw)?;
    Ok(Clause {
        attribute,
        equals,
        value,
    })
}

fn unescape_value(raw: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                // Keep an escaped percent sign from being percent-decoded later.
                Some('%') => out.push_str("%25"),
                Some(n) => out.push(n),
                None => return Err(format!("dangling backslash at the end of {raw:?}")),
            },
            '(' | ')' | '|' => {
                return Err(format!(
                    "unescaped {c:?} in value {raw:?}: escape it as \\{c} or %{:02X}",
                    c as u32
                ))
            }
            '=' => return Err(format!("unescaped '=' in value {raw:?}: escape it as \\=")),
            _ => out.push(c),
        }
    }
    percent_decode_str(&out)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| format!("value {raw:?} is not UTF-8 after percent-decoding"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(filter: &str, name: &str) -> bool {
        Filter::parse(filter)
            .unwrap()
            .matches(|a| (a == "name").then(|| name.to_string()))
    }

    #[test]
    fn empty_matches_all() {
        assert!(Filter::parse("").unwrap().is_empty());
        assert!(m("", "anything"));
        assert!(m("   ", "anything"));
    }

    #[test]
    fn equality_and_inequality() {
        assert!(m("name==vm1", "vm1"));
        assert!(!m("name==vm1", "vm10"));
        assert!(!m("name==vm1", "VM1"));
        assert!(m("name!=vm1", "vm2"));
        assert!(!m("name!=vm1", "vm1"));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let f = Filter::parse("name==a;state==COMPLETE,name==b").unwrap();
        let look = |name: &'static str, state: &'static str| {
            move |a: &str| match a {
                "name" => Some(name.to_string()),
                "state" => Some(state.to_string()),
                _ => None,
            }
        };
        assert!(f.matches(look("a", "COMPLETE")));
        assert!(!f.matches(look("a", "PENDING")));
        assert!(f.matches(look("b", "PENDING")));
        assert!(!f.matches(look("c", "COMPLETE")));
    }

    #[test]
    fn missing_attribute_never_equals() {
        let f = Filter::parse("power_state==ON").unwrap();
        assert!(!f.matches(|_| None));
        let f = Filter::parse("power_state!=ON").unwrap();
        assert!(f.matches(|_| None));
    }

    #[test]
    fn escaping_rule() {
        // Names from the real bug reports.
        assert!(m(r"name==VLAN000\(NOIPAM\)", "VLAN000(NOIPAM)"));
        assert!(m("name==VLAN000%28NOIPAM%29", "VLAN000(NOIPAM)"));
        assert!(m(r"name==vlan173\|ncn\|dev", "vlan173|ncn|dev"));
        assert!(m(r"name==a\,b\;c", "a,b;c"));
        assert!(m(r"name==100\%", "100%"));
        assert!(m("name==100%25", "100%"));
        assert!(m(r"name==back\\slash", r"back\slash"));
        assert!(m("name==with%20space", "with space"));
        assert!(m("name==with space", "with space"));
        assert!(m(r"name==a\=b", "a=b"));
    }

    #[test]
    fn rejects_what_prism_rejects() {
        for bad in [
            "name==VLAN000(NOIPAM)",
            "name==a|b",
            "name",
            "name=gt=3",
            "(name==a)",
            "==a",
            "name==a;",
            r"name==a\",
            "na me==a",
            "name==a=b",
        ] {
            assert!(Filter::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn single_clause_only_for_one_comparison() {
        let f = Filter::parse(r"name==a\,b").unwrap();
        let c = f.single_clause().unwrap();
        assert_eq!(
            (c.attribute.as_str(), c.equals, c.value.as_str()),
            ("name", true, "a,b")
        );
        for compound in ["", "name==a;name==b", "name==a,name==b"] {
            assert!(
                Filter::parse(compound).unwrap().single_clause().is_none(),
                "{compound}"
            );
        }
    }

    #[test]
    fn attributes_are_listed() {
        let f = Filter::parse("name==a;vlan_id==3,uuid!=x").unwrap();
        let attrs: Vec<_> = f.attributes().collect();
        assert_eq!(attrs, vec!["name", "vlan_id", "uuid"]);
    }
}
