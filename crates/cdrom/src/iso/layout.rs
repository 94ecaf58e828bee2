//! Lays the tree out as an ISO 9660 image and produces every byte except file contents.
//!
//! Sector map (2048 bytes each):
//!
//! ```text
//! 0..16   system area (zeros)
//! 16      primary volume descriptor      17  Joliet supplementary descriptor
//! 18      descriptor set terminator
//! 19..    path tables: primary L, primary M, Joliet L, Joliet M
//!         primary directories (path table order), Joliet directories
//!         Rock Ridge continuation areas
//!         file data, contiguous, in primary directory order (shared by both trees)
//! ```
//!
//! Record sizes never depend on sector numbers, so the directories are encoded twice: once
//! with placeholder locations to measure them, then for real.

use super::encode::{
    dir_record, path_record, path_record_len, record_date, terminator, ucs2, volume_descriptor,
    Record, Volume, FLAG_DIR, FLAG_MULTI_EXTENT, SECTOR,
};
use super::names::{joliet_names, primary_names, primary_order, Named};
use super::rrip::{self, Continuations, Posix, DIR_MODE, EXEC_MODE, FILE_MODE};
use crate::error::CdError;
use crate::tree::{DirNode, FileNode, Node};

/// The application identifier written in both descriptors.
const APPLICATION: &str = "PACKER-PLUGIN-NUTANIX";
/// Sector of the first path table.
const FIRST_FREE: u64 = 19;
/// Largest extent of one file section: 4 GiB minus one sector, a multiple of the sector.
pub(crate) const MAX_EXTENT: u32 = 0xFFFF_F800;

/// What [`plan`] needs besides the tree.
#[derive(Debug, Clone)]
pub(crate) struct Options<'a> {
    /// The volume label, already checked by [`check_label`].
    pub(crate) label: &'a str,
    /// Unix seconds for the volume dates.
    pub(crate) now: i64,
    /// Largest extent per directory record; files above it get several records
    /// (multi-extent). Must be a non-zero multiple of the sector size.
    pub(crate) max_extent: u32,
}

/// A file whose bytes go at `sector`.
#[derive(Debug)]
pub(crate) struct PlacedFile<'t> {
    pub(crate) sector: u32,
    pub(crate) file: &'t FileNode,
}

/// The image minus file contents: `head` is sectors `0..data_start`, then each of `files`
/// in order, each padded to a whole sector, ending at `total_sectors`.
#[derive(Debug)]
pub(crate) struct Plan<'t> {
    pub(crate) head: Vec<u8>,
    pub(crate) files: Vec<PlacedFile<'t>>,
    pub(crate) total_sectors: u32,
}

/// Checks `cd_label` as `xorriso -volid` would take it: at most 32 bytes, no control
/// characters. Case is kept (cloud-init looks for `cidata` in lower case).
pub(crate) fn check_label(label: &str) -> Result<(), CdError> {
    let err = |reason| {
        Err(CdError::Label {
            label: label.to_owned(),
            reason,
        })
    };
    if label.len() > 32 {
        return err("a volume label has at most 32 bytes");
    }
    if label.chars().any(char::is_control) {
        return err("a volume label cannot contain control characters");
    }
    Ok(())
}

/// Which of the two directory trees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tree {
    Primary,
    Joliet,
}

#[derive(Debug)]
struct Dir<'t> {
    node: &'t DirNode,
    parent: usize,
    /// Child directories, as arena indexes.
    dirs: Vec<(&'t str, usize)>,
    /// Files, as arena indexes.
    files: Vec<(&'t str, usize)>,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Dir(usize),
    File(usize),
}

/// One tree's naming of the arena.
#[derive(Debug)]
struct Names<'t> {
    /// Per directory: its entries, sorted, with identifiers and real names.
    entries: Vec<Vec<(Kind, Vec<u8>, &'t str)>>,
    /// Directory identifiers (root: `[0]`).
    ident: Vec<Vec<u8>>,
    /// Directories in path table order.
    order: Vec<usize>,
    /// Path table number of each directory (1-based).
    number: Vec<u16>,
}

/// Sector and byte size of every directory of one tree.
#[derive(Debug, Clone)]
struct DirPlaces {
    sector: Vec<u32>,
    size: Vec<u32>,
}

/// Where every directory of both trees, and every file, goes.
#[derive(Debug, Clone)]
struct Places {
    primary: DirPlaces,
    joliet: DirPlaces,
    file_sector: Vec<u32>,
}

impl Places {
    fn dirs(&self, t: Tree) -> &DirPlaces {
        match t {
            Tree::Primary => &self.primary,
            Tree::Joliet => &self.joliet,
        }
    }

    fn dirs_mut(&mut self, t: Tree) -> &mut DirPlaces {
        match t {
            Tree::Primary => &mut self.primary,
            Tree::Joliet => &mut self.joliet,
        }
    }
}

/// Lays out `root`.
pub(crate) fn plan<'t>(root: &'t DirNode, opts: &Options<'_>) -> Result<Plan<'t>, CdError> {
    if opts.max_extent == 0 || !(opts.max_extent as usize).is_multiple_of(SECTOR) {
        return Err(CdError::Internal("bad extent limit"));
    }
    let (dirs, files) = arena(root);
    let primary = names(&dirs, Tree::Primary)?;
    let joliet = names(&dirs, Tree::Joliet)?;

    // Pass 1: measure.
    let zero = Places {
        primary: DirPlaces {
            sector: vec![0; dirs.len()],
            size: vec![0; dirs.len()],
        },
        joliet: DirPlaces {
            sector: vec![0; dirs.len()],
            size: vec![0; dirs.len()],
        },
        file_sector: vec![0; files.len()],
    };
    let mut ce = Continuations::new(0);
    let p_dirs = directories(&dirs, &files, &primary, Tree::Primary, &zero, &mut ce, opts)?;
    let j_dirs = directories(
        &dirs,
        &files,
        &joliet,
        Tree::Joliet,
        &zero,
        &mut Continuations::new(0),
        opts,
    )?;
    let ce_sectors = u64::from(ce.sectors());

    // Assign sectors.
    let pt_size = |n: &Names<'_>| -> u64 {
        n.order
            .iter()
            .map(|&d| path_record_len(n.ident.get(d).map_or(1, Vec::len)) as u64)
            .sum()
    };
    let (p_pt, j_pt) = (pt_size(&primary), pt_size(&joliet));
    let mut alloc = Allocator { next: FIRST_FREE };
    let p_l = alloc.take(p_pt);
    let p_m = alloc.take(p_pt);
    let j_l = alloc.take(j_pt);
    let j_m = alloc.take(j_pt);
    let mut places = zero;
    for (t, names, measured) in [
        (Tree::Primary, &primary, &p_dirs),
        (Tree::Joliet, &joliet, &j_dirs),
    ] {
        for &d in &names.order {
            let len = measured.get(d).map_or(0, |b| b.len() as u64);
            set(&mut places.dirs_mut(t).sector, d, sector(alloc.take(len))?);
            set(&mut places.dirs_mut(t).size, d, len as u32);
        }
    }
    let ce_base = alloc.take(ce_sectors * SECTOR as u64);
    let data_start = alloc.next;
    let mut order = Vec::new();
    for &d in &primary.order {
        for (kind, _, _) in primary.entries.get(d).into_iter().flatten() {
            if let Kind::File(f) = *kind {
                let file = files.get(f).map(|f| f.1).ok_or_else(internal)?;
                if file.len > 0 {
                    set(&mut places.file_sector, f, sector(alloc.take(file.len))?);
                    order.push(f);
                }
            }
        }
    }
    let total_sectors = sector(alloc.next)?;

    // Pass 2: encode for real.
    let mut ce = Continuations::new(sector(ce_base)?);
    let p_dirs = directories(
        &dirs,
        &files,
        &primary,
        Tree::Primary,
        &places,
        &mut ce,
        opts,
    )?;
    let j_dirs = directories(
        &dirs,
        &files,
        &joliet,
        Tree::Joliet,
        &places,
        &mut Continuations::new(0),
        opts,
    )?;

    let mut head = vec![0u8; 16 * SECTOR];
    for (t, l, m) in [(Tree::Primary, p_l, p_m), (Tree::Joliet, j_l, j_m)] {
        let root_record = dir_record(
            &Record {
                ident: &[0],
                extent: places.dirs(t).sector.first().copied().unwrap_or(0),
                size: places.dirs(t).size.first().copied().unwrap_or(0),
                date: record_date(root.mtime),
                flags: FLAG_DIR,
            },
            &[],
        )
        .ok_or_else(internal)?;
        let (volume_id, application_id) = if t == Tree::Primary {
            (
                opts.label.as_bytes().to_vec(),
                APPLICATION.as_bytes().to_vec(),
            )
        } else {
            (ucs2(opts.label, 16), ucs2(APPLICATION, 64))
        };
        head.extend(volume_descriptor(&Volume {
            kind: if t == Tree::Primary { 1 } else { 2 },
            volume_id: &volume_id,
            application_id: &application_id,
            space_sectors: total_sectors,
            path_table_size: u32::try_from(if t == Tree::Primary { p_pt } else { j_pt })
                .map_err(|_| too_many())?,
            path_table_l: sector(l)?,
            path_table_m: sector(m)?,
            root_record: &root_record,
            created: opts.now,
        }));
    }
    head.extend(terminator());
    for (t, names) in [(Tree::Primary, &primary), (Tree::Joliet, &joliet)] {
        for big in [false, true] {
            let mut table = Vec::new();
            for &d in &names.order {
                let ident = names.ident.get(d).ok_or_else(internal)?;
                let parent = dirs.get(d).map(|x| x.parent).ok_or_else(internal)?;
                let parent_number = names.number.get(parent).copied().ok_or_else(internal)?;
                let at = places.dirs(t).sector.get(d).copied().ok_or_else(internal)?;
                table.extend(path_record(ident, at, parent_number, big));
            }
            pad_to_sector(&mut table);
            head.extend(table);
        }
    }
    for (names, encoded) in [(&primary, p_dirs), (&joliet, j_dirs)] {
        let mut encoded: Vec<Option<Vec<u8>>> = encoded.into_iter().map(Some).collect();
        for &d in &names.order {
            let bytes = encoded
                .get_mut(d)
                .and_then(Option::take)
                .ok_or_else(internal)?;
            head.extend(bytes);
        }
    }
    head.extend(ce.into_bytes());
    if head.len() as u64 != data_start * SECTOR as u64 {
        return Err(internal());
    }
    let files = order
        .into_iter()
        .map(|f| {
            let sector = places.file_sector.get(f).copied().ok_or_else(internal)?;
            let file = files.get(f).map(|x| x.1).ok_or_else(internal)?;
            Ok(PlacedFile { sector, file })
        })
        .collect::<Result<_, CdError>>()?;
    Ok(Plan {
        head,
        files,
        total_sectors,
    })
}

/// Hands out consecutive sectors.
struct Allocator {
    next: u64,
}

impl Allocator {
    /// The first sector of `bytes` rounded up to whole sectors.
    fn take(&mut self, bytes: u64) -> u64 {
        let at = self.next;
        self.next += bytes.div_ceil(SECTOR as u64);
        at
    }
}

fn internal() -> CdError {
    CdError::Internal("layout mismatch")
}

fn too_many() -> CdError {
    CdError::TooLarge("more than 65535 directories".into())
}

fn sector(n: u64) -> Result<u32, CdError> {
    u32::try_from(n).map_err(|_| CdError::TooLarge("the image would exceed 8 TiB".into()))
}

fn set(v: &mut [u32], i: usize, value: u32) {
    if let Some(slot) = v.get_mut(i) {
        *slot = value;
    }
}

fn pad_to_sector(bytes: &mut Vec<u8>) {
    let len = bytes.len().div_ceil(SECTOR).max(1) * SECTOR;
    bytes.resize(len, 0);
}

/// Flattens the tree: directories breadth first (root = 0) and files, each with its name.
#[allow(clippy::type_complexity)]
fn arena(root: &DirNode) -> (Vec<Dir<'_>>, Vec<(&str, &FileNode)>) {
    let mut dirs = vec![Dir {
        node: root,
        parent: 0,
        dirs: Vec::new(),
        files: Vec::new(),
    }];
    let mut files = Vec::new();
    let mut i = 0;
    while let Some(node) = dirs.get(i).map(|d| d.node) {
        let mut child_dirs = Vec::new();
        let mut child_files = Vec::new();
        for (name, child) in &node.children {
            match child {
                Node::Dir(d) => {
                    child_dirs.push((name.as_str(), dirs.len()));
                    dirs.push(Dir {
                        node: d,
                        parent: i,
                        dirs: Vec::new(),
                        files: Vec::new(),
                    });
                }
                Node::File(f) => {
                    child_files.push((name.as_str(), files.len()));
                    files.push((name.as_str(), f));
                }
            }
        }
        if let Some(dir) = dirs.get_mut(i) {
            dir.dirs = child_dirs;
            dir.files = child_files;
        }
        i += 1;
    }
    (dirs, files)
}

/// Names and sorts every directory's entries for one tree, and numbers the directories in
/// path table order (by level, then parent number, then identifier: breadth first over
/// sorted entries gives exactly that).
fn names<'t>(dirs: &[Dir<'t>], tree: Tree) -> Result<Names<'t>, CdError> {
    let mut entries = Vec::with_capacity(dirs.len());
    let mut ident = vec![vec![0u8]; dirs.len()];
    for dir in dirs {
        let kinds: Vec<(Kind, Named<'t>)> = dir
            .dirs
            .iter()
            .map(|&(name, d)| (Kind::Dir(d), Named { name, is_dir: true }))
            .chain(dir.files.iter().map(|&(name, f)| {
                (
                    Kind::File(f),
                    Named {
                        name,
                        is_dir: false,
                    },
                )
            }))
            .collect();
        let named: Vec<Named<'t>> = kinds.iter().map(|k| k.1).collect();
        let idents = match tree {
            Tree::Primary => primary_names(&named),
            Tree::Joliet => joliet_names(&named),
        };
        let mut list: Vec<(Kind, Vec<u8>, &'t str)> = kinds
            .into_iter()
            .zip(idents)
            .map(|((kind, named), id)| (kind, id, named.name))
            .collect();
        match tree {
            Tree::Primary => list.sort_by(|a, b| primary_order(&a.1, &b.1)),
            Tree::Joliet => list.sort_by(|a, b| a.1.cmp(&b.1)),
        }
        for (kind, id, _) in &list {
            if let Kind::Dir(d) = *kind {
                if let Some(slot) = ident.get_mut(d) {
                    *slot = id.clone();
                }
            }
        }
        entries.push(list);
    }
    let mut order = vec![0usize];
    let mut i = 0;
    while let Some(&d) = order.get(i) {
        for (kind, _, _) in entries.get(d).into_iter().flatten() {
            if let Kind::Dir(c) = *kind {
                order.push(c);
            }
        }
        i += 1;
    }
    let mut number = vec![0u16; dirs.len()];
    for (n, &d) in order.iter().enumerate() {
        let n = u16::try_from(n + 1).map_err(|_| too_many())?;
        set16(&mut number, d, n);
    }
    Ok(Names {
        entries,
        ident,
        order,
        number,
    })
}

fn set16(v: &mut [u16], i: usize, value: u16) {
    if let Some(slot) = v.get_mut(i) {
        *slot = value;
    }
}

/// Encodes every directory of one tree (indexed by arena id), each padded to whole sectors.
#[allow(clippy::too_many_arguments)]
fn directories(
    dirs: &[Dir<'_>],
    files: &[(&str, &FileNode)],
    names: &Names<'_>,
    tree: Tree,
    places: &Places,
    ce: &mut Continuations,
    opts: &Options<'_>,
) -> Result<Vec<Vec<u8>>, CdError> {
    let dir_at = |d: usize| -> (u32, u32) {
        (
            places.dirs(tree).sector.get(d).copied().unwrap_or(0),
            places.dirs(tree).size.get(d).copied().unwrap_or(0),
        )
    };
    let dir_posix = |d: usize| Posix {
        mode: DIR_MODE,
        links: 2 + dirs.get(d).map_or(0, |x| x.dirs.len() as u32),
    };
    let mut out = Vec::with_capacity(dirs.len());
    for (d, dir) in dirs.iter().enumerate() {
        let mut records = Vec::new();
        let mut push = |ident: &[u8],
                        extent: u32,
                        size: u32,
                        flags: u8,
                        mtime: i64,
                        rr: rrip::Entry<'_>|
         -> Result<(), CdError> {
            let su = match tree {
                Tree::Primary => rrip::system_use(ident.len(), &rrip::entries(&rr), ce),
                Tree::Joliet => Vec::new(),
            };
            let record = dir_record(
                &Record {
                    ident,
                    extent,
                    size,
                    date: record_date(mtime),
                    flags,
                },
                &su,
            )
            .ok_or_else(internal)?;
            records.push(record);
            Ok(())
        };
        let (at, size) = dir_at(d);
        let rr = |name, posix, mtime, root_self| rrip::Entry {
            name,
            posix,
            mtime,
            root_self,
        };
        push(
            &[0],
            at,
            size,
            FLAG_DIR,
            dir.node.mtime,
            rr(None, dir_posix(d), dir.node.mtime, d == 0),
        )?;
        let parent = dirs.get(dir.parent).ok_or_else(internal)?;
        let (p_at, p_size) = dir_at(dir.parent);
        push(
            &[1],
            p_at,
            p_size,
            FLAG_DIR,
            parent.node.mtime,
            rr(None, dir_posix(dir.parent), parent.node.mtime, false),
        )?;
        for (kind, ident, name) in names.entries.get(d).into_iter().flatten() {
            match *kind {
                Kind::Dir(c) => {
                    let (c_at, c_size) = dir_at(c);
                    let mtime = dirs.get(c).map_or(0, |x| x.node.mtime);
                    push(
                        ident,
                        c_at,
                        c_size,
                        FLAG_DIR,
                        mtime,
                        rr(Some(name), dir_posix(c), mtime, false),
                    )?;
                }
                Kind::File(f) => {
                    let file = files.get(f).map(|x| x.1).ok_or_else(internal)?;
                    let posix = Posix {
                        mode: if file.executable {
                            EXEC_MODE
                        } else {
                            FILE_MODE
                        },
                        links: 1,
                    };
                    let mut remaining = file.len;
                    let mut at = places.file_sector.get(f).copied().unwrap_or(0);
                    loop {
                        let part = remaining.min(u64::from(opts.max_extent));
                        let last = part == remaining;
                        let flags = if last { 0 } else { FLAG_MULTI_EXTENT };
                        push(
                            ident,
                            at,
                            part as u32,
                            flags,
                            file.mtime,
                            rr(Some(name), posix, file.mtime, false),
                        )?;
                        if last {
                            break;
                        }
                        remaining -= part;
                        at = at.saturating_add((part / SECTOR as u64) as u32);
                    }
                }
            }
        }
        out.push(pack(&records));
    }
    Ok(out)
}

/// Concatenates records so that none crosses a sector boundary (§6.8.1.1), padded to whole
/// sectors.
fn pack(records: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        let used = out.len() % SECTOR;
        if used + r.len() > SECTOR {
            out.resize(out.len() + SECTOR - used, 0);
        }
        out.extend_from_slice(r);
    }
    pad_to_sector(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{FileNode, Source};

    fn tree(files: &[(&str, &str)]) -> DirNode {
        let mut root = DirNode::new(0);
        for (path, content) in files {
            let parts: Vec<String> = path.split('/').map(String::from).collect();
            let file = FileNode {
                source: Source::Inline((*content).into()),
                len: content.len() as u64,
                mtime: 0,
                executable: false,
            };
            root.put_file(&parts, file, 0).unwrap();
        }
        root
    }

    fn opts() -> Options<'static> {
        Options {
            label: "cidata",
            now: 0,
            max_extent: MAX_EXTENT,
        }
    }

    fn u32_le(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
    }

    /// The fixed parts of ECMA-119 §8: descriptors at 16, 17, 18, sizes and pointers that
    /// agree with where things really are.
    #[test]
    fn sector_map_is_consistent() {
        let root = tree(&[("a/b", "x"), ("c", "hello")]);
        let plan = plan(&root, &opts()).unwrap();
        let h = &plan.head;
        let sector = |n: usize| &h[n * SECTOR..(n + 1) * SECTOR];
        assert!(h[..16 * SECTOR].iter().all(|&b| b == 0));
        let pvd = sector(16);
        assert_eq!((pvd[0], &pvd[1..6]), (1, &b"CD001"[..]));
        assert_eq!(&pvd[40..46], b"cidata");
        assert_eq!(u32_le(pvd, 80), plan.total_sectors);
        let svd = sector(17);
        assert_eq!((svd[0], &svd[88..91]), (2, &b"%/E"[..]));
        assert_eq!(
            &svd[40..52],
            &[0, b'c', 0, b'i', 0, b'd', 0, b'a', 0, b't', 0, b'a']
        );
        assert_eq!(sector(18)[0], 255);
        // The L path table's first record is the root, pointing at the root directory, whose
        // `.` record points at itself.
        let pt = sector(u32_le(pvd, 140) as usize);
        let root_at = u32_le(pt, 2);
        assert_eq!(u32_le(pvd, 156 + 2), root_at);
        assert_eq!(u32_le(sector(root_at as usize), 2), root_at);
        // Files follow the metadata, in order, and the image ends after the last one.
        assert_eq!(plan.files.len(), 2);
        assert_eq!(plan.files[0].sector as usize * SECTOR, h.len());
        assert_eq!(plan.files[1].sector, plan.files[0].sector + 1);
        assert_eq!(plan.total_sectors, plan.files[1].sector + 1);
    }

    #[test]
    fn more_than_65535_directories_is_refused() {
        let mut root = DirNode::new(0);
        for i in 0..65_535 {
            root.ensure_dir(&[format!("d{i}")], 0).unwrap();
        }
        // 65535 + the root does not fit the 16-bit path table numbers.
        let err = plan(&root, &opts()).unwrap_err();
        assert!(matches!(err, CdError::TooLarge(_)), "{err}");
    }
}
