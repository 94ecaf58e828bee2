//! The query options of v4 list calls (`$filter`, `$page`, `$limit`), as the Nutanix v4 API
//! takes them in the query string. Only what our clients send is understood: `$filter` with
//! `<property> eq '<literal>'` (a quote inside the literal doubled, as OData writes it), on the
//! properties the endpoint names. Anything else is refused with a message naming it, so a
//! client relying on more is told instead of silently getting unfiltered results.

use percent_encoding::percent_decode_str;

/// v4 page size when `$limit` is absent (Nutanix v4 list default).
pub const DEFAULT_LIMIT: u64 = 50;
/// Largest `$limit` the v4 API accepts.
pub const MAX_LIMIT: u64 = 100;

/// Why a v4 query could not be used; the message names the option or token at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// `$filter` is malformed or uses something the simulator does not support.
    #[error("unsupported $filter '{filter}': {problem}")]
    Filter {
        /// The filter as given.
        filter: String,
        /// What is wrong with it.
        problem: String,
    },
    /// `$page` or `$limit` is not a valid number for it.
    #[error("invalid {option} '{value}': {problem}")]
    Paging {
        /// `$page` or `$limit`.
        option: &'static str,
        /// The value as given.
        value: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A `$` option other than `$filter`, `$page` and `$limit`.
    #[error("query option {0} is not supported by the simulator for this endpoint")]
    Unsupported(String),
}

/// `<property> eq '<value>'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EqFilter {
    /// Property name.
    pub property: String,
    /// The literal, unescaped.
    pub value: String,
}

/// The parsed options of one list call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// The filter, when given.
    pub filter: Option<EqFilter>,
    /// Zero-based page number.
    pub page: u64,
    /// Page size.
    pub limit: u64,
}

/// Decodes one query-string component (`+` is a space, then percent-decoding).
fn decode(s: &str) -> String {
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Parses a raw query string (without `?`); `properties` are those `$filter` may name.
pub fn parse_list_query(query: Option<&str>, properties: &[&str]) -> Result<ListQuery, QueryError> {
    let mut out = ListQuery {
        filter: None,
        page: 0,
        limit: DEFAULT_LIMIT,
    };
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode(k), decode(v));
        match k.as_str() {
            "$filter" => out.filter = Some(parse_filter(&v, properties)?),
            "$page" => out.page = number("$page", &v, 0, u64::MAX)?,
            "$limit" => out.limit = number("$limit", &v, 1, MAX_LIMIT)?,
            other if other.starts_with('$') => return Err(QueryError::Unsupported(other.into())),
            _ => {}
        }
    }
    Ok(out)
}

fn number(option: &'static str, v: &str, min: u64, max: u64) -> Result<u64, QueryError> {
    let err = |problem: String| QueryError::Paging {
        option,
        value: v.to_string(),
        problem,
    };
    let n: u64 = v
        .trim()
        .parse()
        .map_err(|_| err("not a non-negative integer".into()))?;
    if n < min || n > max {
        return Err(err(format!("must be between {min} and {max}")));
    }
    Ok(n)
}

/// Parses `<property> eq '<literal>'`.
pub fn parse_filter(filter: &str, properties: &[&str]) -> Result<EqFilter, QueryError> {
    let err = |problem: String| QueryError::Filter {
        filter: filter.to_string(),
        problem,
    };
    let text = filter.trim();
    let prop_end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '/'))
        .unwrap_or(text.len());
    let (property, rest) = text.split_at(prop_end);
    if property.is_empty() {
        return Err(err("expected a property name".into()));
    }
    let rest = rest.trim_start();
    let op_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let (op, rest) = rest.split_at(op_end);
    if op.contains('(') || property.contains('(') {
        return Err(err("functions are not supported; use eq".into()));
    }
    if !properties.contains(&property) {
        return Err(err(format!(
            "property '{property}' cannot be filtered on; supported: {}",
            properties.join(", ")
        )));
    }
    if op != "eq" {
        return Err(err(format!("operator '{op}' is not supported; use eq")));
    }
    let lit = rest.trim();
    let inner = lit
        .strip_prefix('\'')
        .ok_or_else(|| err("expected a quoted string literal after eq".into()))?;
    // Scan the literal: '' is a quote, a lone ' ends it.
    let mut value = String::new();
    let mut chars = inner.chars().peekable();
    let mut closed = false;
    while let Some(c) = chars.next() {
        if c == '\'' {
            if chars.peek() == Some(&'\'') {
                chars.next();
                value.push('\'');
            } else {
                closed = true;
                break;
            }
        } else {
            value.push(c);
        }
    }
    if !closed {
        return Err(err("the string literal is not terminated".into()));
    }
    let trailing: String = chars.collect();
    if !trailing.trim().is_empty() {
        return Err(err(format!(
            "'{}' after the comparison is not supported (one eq only)",
            trailing.trim()
        )));
    }
    Ok(EqFilter {
        property: property.to_string(),
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &[&str] = &["templateName", "extId"];

    #[test]
    fn eq_filters_with_doubled_quotes() {
        assert_eq!(
            parse_filter("templateName eq 'a'", P).unwrap(),
            EqFilter {
                property: "templateName".into(),
                value: "a".into()
            }
        );
        assert_eq!(
            parse_filter("templateName eq 'O''Brien''s '' x'", P)
                .unwrap()
                .value,
            "O'Brien's ' x"
        );
        assert_eq!(parse_filter("  extId   eq  ''  ", P).unwrap().value, "");
    }

    #[test]
    fn unsupported_filters_name_the_problem() {
        for (f, needle) in [
            ("name eq 'a'", "property 'name'"),
            ("templateName ne 'a'", "operator 'ne'"),
            ("contains(templateName, 'a')", "functions"),
            ("templateName eq 'a' and extId eq 'b'", "and extId"),
            ("templateName eq 'a", "not terminated"),
            ("templateName eq a", "quoted"),
            ("", "property name"),
        ] {
            let e = parse_filter(f, P).unwrap_err().to_string();
            assert!(e.contains(needle), "{f}: {e}");
        }
    }

    #[test]
    fn query_strings() {
        let q = parse_list_query(
            Some("$filter=templateName%20eq%20%27a%27%27b%27&$page=2&$limit=7&other=1"),
            P,
        )
        .unwrap();
        assert_eq!(q.filter.unwrap().value, "a'b");
        assert_eq!((q.page, q.limit), (2, 7));
        let q = parse_list_query(Some("%24filter=templateName+eq+%27x+y%27"), P).unwrap();
        assert_eq!(q.filter.unwrap().value, "x y");
        let q = parse_list_query(None, P).unwrap();
        assert_eq!((q.filter, q.page, q.limit), (None, 0, DEFAULT_LIMIT));
        for bad in [
            "$limit=0",
            "$limit=101",
            "$limit=x",
            "$page=-1",
            "$orderby=templateName",
        ] {
            assert!(parse_list_query(Some(bad), P).is_err(), "{bad}");
        }
        assert!(parse_list_query(Some("$orderby=x"), P)
            .unwrap_err()
            .to_string()
            .contains("$orderby"));
    }
}
