//! Where in a nested value an error happened, built without allocating on the success path: each
//! level borrows its parent, and the text is only rendered when an error names it. (Formatting a
//! path string per element would make deep inputs with long keys quadratic.)

use std::fmt;

/// One step into a value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Seg<'a> {
    /// An object attribute or struct field: `.name`.
    Attr(&'a str),
    /// A map key: `["key"]`.
    Key(&'a str),
    /// A list, tuple or array position: `[3]`.
    Index(usize),
}

/// A chain of steps from the root.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Path<'p> {
    parent: Option<&'p Path<'p>>,
    seg: Option<Seg<'p>>,
}

impl<'p> Path<'p> {
    /// The root (renders as the empty string).
    pub(crate) const ROOT: Path<'static> = Path {
        parent: None,
        seg: None,
    };

    /// This path plus one step.
    pub(crate) fn join(&'p self, seg: Seg<'p>) -> Path<'p> {
        Path {
            parent: Some(self),
            seg: Some(seg),
        }
    }

    /// Shorthand for `join(Seg::Attr(name))`.
    pub(crate) fn attr(&'p self, name: &'p str) -> Path<'p> {
        self.join(Seg::Attr(name))
    }

    /// Shorthand for `join(Seg::Key(key))`.
    pub(crate) fn key(&'p self, key: &'p str) -> Path<'p> {
        self.join(Seg::Key(key))
    }

    /// Shorthand for `join(Seg::Index(i))`.
    pub(crate) fn index(&'p self, i: usize) -> Path<'p> {
        self.join(Seg::Index(i))
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(parent) = self.parent {
            parent.fmt(f)?;
        }
        match self.seg {
            None => Ok(()),
            Some(Seg::Attr(name)) => write!(f, ".{name}"),
            Some(Seg::Key(key)) => write!(f, "[{key:?}]"),
            Some(Seg::Index(i)) => write!(f, "[{i}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_cty_paths() {
        let root = Path::ROOT;
        let a = root.attr("vm_disks");
        let b = a.index(1);
        let c = b.key("k\"");
        assert_eq!(c.attr("x").to_string(), ".vm_disks[1][\"k\\\"\"].x");
        assert_eq!(root.to_string(), "");
    }
}
