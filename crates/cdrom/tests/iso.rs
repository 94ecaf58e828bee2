//! `build_iso` end to end: images read back by xorriso, isoinfo, isovfy and blkid.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use cdrom::{build_iso, CdError, CdSpec};
use support::*;

fn spec(base: &Path, files: &[&str], content: &[(&str, &str)], label: &str) -> CdSpec {
    CdSpec {
        files: files.iter().map(|s| s.to_string()).collect(),
        content: content
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        label: label.to_owned(),
        base_dir: base.to_owned(),
    }
}

fn expected(pairs: &[(&str, &[u8])]) -> BTreeMap<String, Vec<u8>> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_vec()))
        .collect()
}

#[tokio::test]
async fn cloud_init_cidata() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    write_tree(
        src.path(),
        &[
            ("meta-data", b"instance-id: packer\n"),
            ("user-data", b"#cloud-config\nusers: []\n"),
        ],
    );
    let iso = build_iso(
        &spec(src.path(), &["meta-data", "user-data"], &[], "cidata"),
        out.path(),
    )
    .await
    .unwrap();
    assert_eq!(iso.files, ["meta-data", "user-data"]);
    assert_eq!(std::fs::metadata(&iso.path).unwrap().len(), iso.size);
    assert_eq!(iso.size % 2048, 0);
    assert!(iso.path.starts_with(out.path()));

    let blkid = blkid(&iso.path);
    assert!(blkid.contains("LABEL=\"cidata\""), "{blkid}");
    assert!(blkid.contains("TYPE=\"iso9660\""), "{blkid}");
    let d = isoinfo_d(&iso.path);
    assert!(d.contains("Volume id: cidata\n"), "{d}");
    assert!(d.contains("Joliet with UCS level 3 found"), "{d}");
    assert!(d.contains("Rock Ridge signatures version 1 found"), "{d}");
    assert!(isovfy(&iso.path).contains("No errors found"));
    let want = expected(&[
        ("meta-data", b"instance-id: packer\n"),
        ("user-data", b"#cloud-config\nusers: []\n"),
    ]);
    assert_eq!(extract(&iso.path, View::RockRidge), want);
    assert_eq!(extract(&iso.path, View::Joliet), want);
    assert_eq!(
        only_files(&extract(&iso.path, View::Plain))
            .into_keys()
            .collect::<Vec<_>>(),
        ["META_DAT", "USER_DAT"]
    );
}

#[tokio::test]
async fn label_case_is_kept_and_defaults_to_packer() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    write_tree(src.path(), &[("ks.cfg", b"text\n")]);
    let iso = build_iso(&spec(src.path(), &["ks.cfg"], &[], "OEMDRV"), out.path())
        .await
        .unwrap();
    assert!(blkid(&iso.path).contains("LABEL=\"OEMDRV\""));
    let iso = build_iso(&spec(src.path(), &["ks.cfg"], &[], ""), out.path())
        .await
        .unwrap();
    assert!(isoinfo_d(&iso.path).contains("Volume id: packer\n"));
    // 32 bytes is the most a volume label holds; blkid merges the Joliet label back in.
    let long = "Windows_Answer_Files_Mixed_Case1";
    let iso = build_iso(&spec(src.path(), &["ks.cfg"], &[], long), out.path())
        .await
        .unwrap();
    let b = blkid(&iso.path);
    assert!(b.contains(&format!("LABEL=\"{long}\"")), "{b}");
    let err = build_iso(
        &spec(src.path(), &["ks.cfg"], &[], &format!("{long}x")),
        out.path(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, CdError::Label { .. }), "{err}");
}

/// The tree of Packer's own StepCreateCD test: directories with and without a trailing
/// slash, names with spaces and capitals, nested folders, `cd_content` overriding files and
/// creating folders of its own.
#[tokio::test]
async fn packer_step_create_cd_layout() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    write_tree(
        src.path(),
        &[
            ("test folder/b/test1", b"1"),
            ("test folder/b/test2", b"2"),
            ("test folder 2/x", b"3"),
            ("test_cd_roms.tmp", b"4"),
            ("test cd files.tmp", b"5"),
            ("Test-Test-Test5.tmp", b"6"),
            ("fwdslashes/nested/test", b"7"),
            ("subfolder/meta-data", b"subfolder/meta-data from files"),
            ("subfolder/user-data", b"subfolder/user-data from files"),
            ("user-data", b"user-data from files"),
            ("vendor-data", b"vendor-data from files"),
        ],
    );
    let abs_fwd = format!("{}/fwdslashes", src.path().display());
    let files = [
        "test folder",
        "test folder 2/",
        "test_cd_roms.tmp",
        "test cd files.tmp",
        "Test-Test-Test5.tmp",
        abs_fwd.as_str(),
        "subfolder",
        "user-data",
        "vendor-data",
    ];
    let content = [
        ("subfolder not created by files/test.tmp", "test"),
        ("subfolder/meta-data", "subfolder/meta-data from content"),
        ("user-data", "user-data from content"),
    ];
    let iso = build_iso(&spec(src.path(), &files, &content, "cidata"), out.path())
        .await
        .unwrap();
    let want = expected(&[
        ("test folder/b/test1", b"1"),
        ("test folder/b/test2", b"2"),
        // "test folder 2/" has a trailing slash: its contents land at the root.
        ("x", b"3"),
        ("test_cd_roms.tmp", b"4"),
        ("test cd files.tmp", b"5"),
        ("Test-Test-Test5.tmp", b"6"),
        ("fwdslashes/nested/test", b"7"),
        ("subfolder not created by files/test.tmp", b"test"),
        ("subfolder/meta-data", b"subfolder/meta-data from content"),
        ("subfolder/user-data", b"subfolder/user-data from files"),
        ("user-data", b"user-data from content"),
        ("vendor-data", b"vendor-data from files"),
    ]);
    assert_eq!(only_files(&extract(&iso.path, View::RockRidge)), want);
    assert_eq!(only_files(&extract(&iso.path, View::Joliet)), want);
    assert_eq!(iso.files, want.keys().cloned().collect::<Vec<_>>());
    assert!(isovfy(&iso.path).contains("No errors found"));
}

#[tokio::test]
async fn globs_and_directories() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    write_tree(
        src.path(),
        &[
            ("http/ks.cfg", b"ks"),
            ("http/preseed.cfg", b"preseed"),
            ("http/readme.txt", b"no"),
            ("drivers/net/e1000.inf", b"inf"),
            ("drivers/storage/vioscsi.inf", b"scsi"),
            ("scripts/setup.ps1", b"ps"),
        ],
    );
    let iso = build_iso(
        &spec(
            src.path(),
            &["http/*.cfg", "drivers/*", "scripts"],
            &[],
            "cidata",
        ),
        out.path(),
    )
    .await
    .unwrap();
    let tree = extract(&iso.path, View::RockRidge);
    assert_eq!(
        tree.keys().collect::<Vec<_>>(),
        [
            "ks.cfg",
            "net/",
            "net/e1000.inf",
            "preseed.cfg",
            "scripts/",
            "scripts/setup.ps1",
            "storage/",
            "storage/vioscsi.inf"
        ]
    );
    // A glob with no match names the entry, as the task asks.
    let err = build_iso(
        &spec(src.path(), &["http/ks.cfg", "x/*.cfg"], &[], "cidata"),
        out.path(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.to_string(), "cd_files[1]: no file matches \"x/*.cfg\"");
}

#[tokio::test]
async fn long_and_unicode_names_survive() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let long = format!("{}-End.Config.yaml", "Very_Long_Mixed_Case_Name".repeat(7));
    let longest = "L".repeat(255);
    let unicode = "Überprüfung 日本語 😀.txt";
    write_tree(
        src.path(),
        &[
            (long.as_str(), b"long"),
            (longest.as_str(), b"255"),
            (unicode, b"unicode"),
            ("Deep/a/b/c/d/e/f/g/h/i/j/leaf.txt", b"deep"),
        ],
    );
    let iso = build_iso(
        &spec(
            src.path(),
            &[&long, &longest, unicode, "Deep"],
            &[],
            "cidata",
        ),
        out.path(),
    )
    .await
    .unwrap();
    let rr = only_files(&extract(&iso.path, View::RockRidge));
    assert_eq!(
        rr,
        expected(&[
            (long.as_str(), b"long"),
            (longest.as_str(), b"255"),
            (unicode, b"unicode"),
            ("Deep/a/b/c/d/e/f/g/h/i/j/leaf.txt", b"deep"),
        ])
    );
    // Joliet keeps case and Unicode (UCS-2: no emoji) but cuts names to 64 characters,
    // keeping the extension.
    let joliet = only_files(&extract(&iso.path, View::Joliet));
    let names: Vec<&String> = joliet.keys().collect();
    let cut_long = format!("{}.yaml", &long[..59]);
    assert!(names.contains(&&cut_long), "{names:?}");
    assert!(names.contains(&&"L".repeat(64)), "{names:?}");
    assert!(
        names.contains(&&"Überprüfung 日本語 _.txt".to_string()),
        "{names:?}"
    );
    assert!(isovfy(&iso.path).contains("No errors found"));
}

/// Enough entries with long names that directories span several sectors and Rock Ridge
/// continuation areas fill more than one sector.
#[tokio::test]
async fn large_directories() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut want = BTreeMap::new();
    for i in 0..400 {
        let name = format!(
            "file number {i:04} with a rather long name to force continuation areas {}.txt",
            "x".repeat(i % 90)
        );
        let path = format!("many/{name}");
        std::fs::create_dir_all(src.path().join("many")).unwrap();
        std::fs::write(src.path().join(&path), name.as_bytes()).unwrap();
        want.insert(path, name.into_bytes());
    }
    let iso = build_iso(&spec(src.path(), &["many"], &[], "cidata"), out.path())
        .await
        .unwrap();
    assert_eq!(only_files(&extract(&iso.path, View::RockRidge)), want);
    assert_eq!(only_files(&extract(&iso.path, View::Joliet)).len(), 400);
    assert_eq!(only_files(&extract(&iso.path, View::Plain)).len(), 400);
    assert!(isovfy(&iso.path).contains("No errors found"));
}

/// A file larger than any buffer we use, streamed and read back byte for byte.
#[tokio::test]
async fn large_file_is_streamed_intact() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    // 24 MiB + 7 bytes of a pattern no two positions of which repeat within 251 bytes.
    let data: Vec<u8> = (0..(24u32 << 20) + 7).map(|i| (i % 251) as u8).collect();
    std::fs::write(src.path().join("installer.bin"), &data).unwrap();
    let iso = build_iso(
        &spec(src.path(), &["installer.bin"], &[("small", "s")], "cidata"),
        out.path(),
    )
    .await
    .unwrap();
    let tree = extract(&iso.path, View::RockRidge);
    assert!(
        tree.get("installer.bin") == Some(&data),
        "installer.bin differs"
    );
    assert_eq!(tree.get("small").map(Vec::as_slice), Some(&b"s"[..]));
}

#[tokio::test]
async fn errors_name_the_entry_and_leave_nothing_behind() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    write_tree(src.path(), &[("a", b"1")]);
    let err = build_iso(
        &spec(src.path(), &["a", "missing.cfg"], &[], "cidata"),
        out.path(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, CdError::Source { entry, .. } if entry == "cd_files[1]"),
        "{err}"
    );
    assert!(
        err.to_string().starts_with("cd_files[1]: cannot read"),
        "{err}"
    );
    let err = build_iso(&spec(src.path(), &[], &[], "cidata"), out.path())
        .await
        .unwrap_err();
    assert!(matches!(err, CdError::Empty));
    let err = build_iso(
        &spec(src.path(), &["a"], &[], "cidata"),
        &src.path().join("no-such-dir"),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, CdError::Output { .. }), "{err}");
    assert!(isos_in(out.path()).is_empty());
}

#[tokio::test]
async fn content_only_and_empty_files() {
    let out = tempfile::tempdir().unwrap();
    let iso = build_iso(
        &spec(
            Path::new("/nonexistent"),
            &[],
            &[
                ("empty", ""),
                ("nested/dir/file.cfg", "x=1\n"),
                ("/abs/slash", "y"),
            ],
            "cidata",
        ),
        out.path(),
    )
    .await
    .unwrap();
    assert_eq!(
        only_files(&extract(&iso.path, View::RockRidge)),
        expected(&[
            ("abs/slash", b"y"),
            ("empty", b""),
            ("nested/dir/file.cfg", b"x=1\n")
        ])
    );
    assert!(isovfy(&iso.path).contains("No errors found"));
}

/// The same tree made into an image the way Packer's SDK does when xorriso is installed
/// (`xorriso -as genisoimage -rock -joliet -volid LABEL`): both images must read back the
/// same through Rock Ridge and Joliet, with the same label and extensions.
#[tokio::test]
async fn reads_like_the_image_packer_makes_with_xorriso() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let files: &[(&str, &[u8])] = &[
        ("meta-data", b"instance-id: x\n"),
        ("user-data", b"#cloud-config\n"),
        ("Autounattend.xml", b"<unattend/>"),
        ("drivers/NetKVM/w11/amd64/netkvm.inf", b"inf"),
        ("scripts/Install Guest Tools.ps1", b"ps1"),
        (".hidden", b"h"),
        ("empty", b""),
    ];
    write_tree(src.path(), files);
    let ours = build_iso(
        &spec(
            src.path(),
            &[
                "meta-data",
                "user-data",
                "Autounattend.xml",
                "drivers",
                "scripts",
                ".hidden",
                "empty",
            ],
            &[],
            "cidata",
        ),
        out.path(),
    )
    .await
    .unwrap();
    let theirs = out.path().join("xorriso.iso");
    run(
        "xorriso",
        &[
            "-as",
            "genisoimage",
            "-rock",
            "-joliet",
            "-volid",
            "cidata",
            "-output",
            theirs.to_str().unwrap(),
            src.path().to_str().unwrap(),
        ],
    );
    for view in [View::RockRidge, View::Joliet] {
        assert_eq!(
            extract(&ours.path, view),
            extract(&theirs, view),
            "{view:?} view differs"
        );
    }
    let summary = |iso: &Path| -> Vec<String> {
        isoinfo_d(iso)
            .lines()
            .filter(|l| {
                l.starts_with("Volume id") || l.contains("Joliet") || l.contains("Rock Ridge")
            })
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(summary(&ours.path), summary(&theirs));
    let label = |iso: &Path| {
        blkid(iso)
            .split_whitespace()
            .find(|f| f.starts_with("LABEL="))
            .map(str::to_owned)
    };
    assert_eq!(label(&ours.path), label(&theirs));
}
