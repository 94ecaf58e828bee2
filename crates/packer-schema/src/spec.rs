//! The subset of hcldec's spec kinds that Packer builders use, as plain data.

use std::collections::BTreeMap;

/// A cty type that can appear in a builder schema. Both wire forms carry exactly these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CtyType {
    /// `cty.String`
    String,
    /// `cty.Number`
    Number,
    /// `cty.Bool`
    Bool,
    /// `cty.List(T)`
    List(Box<CtyType>),
    /// `cty.Map(T)`
    Map(Box<CtyType>),
}

/// `hcldec.AttrSpec`: a single attribute such as `cpu = 2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrSpec {
    /// The attribute name as written in templates.
    pub name: String,
    /// The attribute's cty type.
    pub ty: CtyType,
    /// Whether HCL itself rejects a body without it (we validate in Prepare instead, so usually false).
    pub required: bool,
}

/// `hcldec.BlockSpec`: a single nested block such as `vtpm { ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockSpec {
    /// The block type name as written in templates.
    pub type_name: String,
    /// The schema of the block's body.
    pub nested: ObjectSpec,
    /// Whether HCL rejects a body without this block.
    pub required: bool,
}

/// `hcldec.BlockListSpec`: a repeatable block such as `vm_disks { ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockListSpec {
    /// The block type name as written in templates.
    pub type_name: String,
    /// The schema of each block's body.
    pub nested: ObjectSpec,
    /// Minimum number of blocks (gob carries it; protobuf does not).
    pub min_items: i64,
    /// Maximum number of blocks, 0 for no limit (gob carries it; protobuf does not).
    pub max_items: i64,
}

/// One entry of an object spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// An attribute.
    Attr(AttrSpec),
    /// A single block.
    Block(BlockSpec),
    /// A repeatable block.
    BlockList(BlockListSpec),
}

/// `hcldec.ObjectSpec`: the map from keys to specs that is the root of every builder schema.
/// A `BTreeMap` so that encodings are deterministic (protobuf output is then byte-identical to Go's
/// deterministic marshal, which sorts map keys).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectSpec(pub BTreeMap<String, Spec>);

impl ObjectSpec {
    /// An empty object spec.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an attribute keyed by its own name.
    pub fn attr(mut self, name: &str, ty: CtyType) -> Self {
        self.0.insert(
            name.to_string(),
            Spec::Attr(AttrSpec {
                name: name.to_string(),
                ty,
                required: false,
            }),
        );
        self
    }

    /// Adds a single nested block keyed by its type name.
    pub fn block(mut self, name: &str, nested: ObjectSpec) -> Self {
        self.0.insert(
            name.to_string(),
            Spec::Block(BlockSpec {
                type_name: name.to_string(),
                nested,
                required: false,
            }),
        );
        self
    }

    /// Adds a repeatable block keyed by its type name, with no item limits.
    pub fn block_list(mut self, name: &str, nested: ObjectSpec) -> Self {
        self.0.insert(
            name.to_string(),
            Spec::BlockList(BlockListSpec {
                type_name: name.to_string(),
                nested,
                min_items: 0,
                max_items: 0,
            }),
        );
        self
    }
}
