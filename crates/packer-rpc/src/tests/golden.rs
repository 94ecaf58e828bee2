//! Byte-exact encodings against real ugorji v1.2.6 output (testdata/ugorji-v1.2.6.txt, produced by
//! testdata/ugorji-gen/main.go) and the Go captures in docs/design/plugin-protocol.md ('Captured
//! headers', 'Hook').

use chrono::DateTime;
use rmpv::Value;

use super::util::{assert_ugorji, decode, hex, map, to_hex};
use crate::codec::{self, RequestHeader, ResponseHeader, ERROR_BODY, NIL_BODY};
use crate::msgpack::{view, Writer};
use crate::services::builder::{encode_config_spec_response, encode_prepare_response};
use crate::services::communicator::{decode_file_info, encode_file_info};
use crate::services::hook::encode_hook_run_args;
use crate::services::ui::{encode_machine_args, encode_track_progress_args};
use crate::{FileInfo, HookData, PrepareOutcome};

fn written(f: impl FnOnce(&mut Writer)) -> Vec<u8> {
    let mut w = Writer::new();
    f(&mut w);
    w.finish().unwrap()
}

#[test]
fn go_signed_ints_use_int_markers_above_127() {
    for i in [
        0i64,
        127,
        128,
        200,
        32767,
        32768,
        70000,
        2147483647,
        2147483648,
        -1,
        -32,
        -33,
        -128,
        -129,
        -32768,
        -32769,
        -2147483648,
        -2147483649,
    ] {
        assert_ugorji(
            &format!("int:{i}"),
            &written(|w| {
                w.int(i);
            }),
        );
    }
}

#[test]
fn go_unsigned_ints_use_uint_markers() {
    for u in [
        0u64, 127, 128, 200, 255, 256, 65535, 65536, 4294967295, 4294967296,
    ] {
        assert_ugorji(
            &format!("uint:{u}"),
            &written(|w| {
                w.uint(u);
            }),
        );
    }
    assert_ugorji(
        "filemode:0644",
        &written(|w| {
            w.uint(0o644);
        }),
    );
}

#[test]
fn strings_bins_arrays_and_floats_match_ugorji() {
    for n in [3usize, 31, 32, 300, 70000] {
        let s = if n == 3 {
            "abc".to_string()
        } else {
            "x".repeat(n)
        };
        assert_ugorji(
            &format!("str:{n}"),
            &written(|w| {
                w.str(&s);
            }),
        );
    }
    for n in [0usize, 300, 70000] {
        assert_ugorji(
            &format!("bin:{n}"),
            &written(|w| {
                w.bin(&vec![7u8; n]);
            }),
        );
    }
    for n in [16usize, 70000] {
        assert_ugorji(
            &format!("array:{n}"),
            &written(|w| {
                w.array_len(n);
                for _ in 0..n {
                    w.int(0);
                }
            }),
        );
    }
    assert_ugorji(
        "float64:1.5",
        &written(|w| {
            w.f64(1.5);
        }),
    );
    assert_ugorji("emptystruct", ERROR_BODY);
}

#[test]
fn times_match_ugorji_and_read_back() {
    let cases = [
        ("time:4", 1_700_000_000i64, 0u32),
        ("time:8", 1_700_000_000, 123_456_789),
        ("time:12", -1, 5),
        ("time:12big", 1 << 34, 1),
    ];
    for (name, sec, nsec) in cases {
        let t = DateTime::from_timestamp(sec, nsec).unwrap();
        let bytes = written(|w| {
            w.time(Some(t));
        });
        assert_ugorji(name, &bytes);
        assert_eq!(
            view::time(name, &decode(&bytes)).unwrap(),
            Some(t),
            "{name}"
        );
    }
    assert_ugorji(
        "time:zero",
        &written(|w| {
            w.time(None);
        }),
    );
}

#[test]
fn upload_args_with_file_info_round_trip() {
    let info = FileInfo {
        name: "x".into(),
        size: 70000,
        mode: 0o644,
        mod_time: DateTime::from_timestamp(1_700_000_000, 123_456_789),
    };
    let bytes = written(|w| {
        w.map_len(3).str("Path").str("/tmp/x");
        w.str("ReaderStreamId").uint(300);
        w.str("FileInfo");
        encode_file_info(w, Some(&info));
    });
    assert_ugorji("upload:fi", &bytes);

    // Decoding Go's bytes gives the same FileInfo; a nil *fileInfo is None.
    let v = decode(&hex(super::util::ugorji("upload:fi")));
    let f = view::Fields::new(
        "CommunicatorUploadArgs",
        &v,
        &["Path", "ReaderStreamId", "FileInfo"],
    )
    .unwrap();
    assert_eq!(f.u32("ReaderStreamId").unwrap(), 300);
    assert_eq!(decode_file_info(f.get("FileInfo")).unwrap(), Some(info));
    let v = decode(&hex(super::util::ugorji("upload:nofi")));
    let f = view::Fields::new(
        "CommunicatorUploadArgs",
        &v,
        &["Path", "ReaderStreamId", "FileInfo"],
    )
    .unwrap();
    assert_eq!(decode_file_info(f.get("FileInfo")).unwrap(), None);
}

#[test]
fn hook_run_args_match_go() {
    let mut data = HookData::new();
    data.insert("Port".into(), Value::from(2222));
    assert_ugorji(
        "hookrun:port",
        &encode_hook_run_args("packer_provision", &data, 200).unwrap(),
    );

    // plugin-protocol.md, 'Hook', captured: HookRunArgs{packer_provision, {ID:x}, 2}
    let mut data = HookData::new();
    data.insert("ID".into(), Value::from("x"));
    assert_eq!(
        to_hex(&encode_hook_run_args("packer_provision", &data, 2).unwrap()),
        "83a44e616d65b07061636b65725f70726f766973696f6ea44461746181a24944a178a853747265616d496402"
    );
}

#[test]
fn ui_arguments_match_go() {
    assert_ugorji(
        "machine",
        &encode_machine_args("interop", &["a".into(), "b".into()]).unwrap(),
    );
    assert_ugorji("machine:nil", &encode_machine_args("c", &[]).unwrap());
    assert_ugorji(
        "progress",
        &encode_track_progress_args("download", 1000, 0).unwrap(),
    );
}

#[test]
fn builder_replies_match_go() {
    assert_ugorji(
        "prepare:nil",
        &encode_prepare_response(&PrepareOutcome::default()).unwrap(),
    );
    let full = PrepareOutcome {
        generated_vars: vec!["InteropVar".into()],
        warnings: vec!["w".into()],
        error: Some("name: must not be fail".into()),
    };
    assert_ugorji("prepare:full", &encode_prepare_response(&full).unwrap());
    assert_ugorji(
        "configspec",
        &encode_config_spec_response(&[1, 2, 3]).unwrap(),
    );
}

#[test]
fn dynamic_values_match_go() {
    let state = map(&[("InteropVar", Value::from("value"))]);
    assert_ugorji(
        "state:generated",
        &written(|w| {
            w.value(&state);
        }),
    );
    // []interface{}{int64(300), uint32(300), "s", []byte("b"), nil, 2.5, true, []string{}}
    let bytes = written(|w| {
        w.array_len(8);
        w.value(&Value::from(300i64))
            .uint(300)
            .str("s")
            .bin(b"b")
            .nil()
            .f64(2.5)
            .bool(true);
        w.strings(Some(&[]));
    });
    assert_ugorji("nested", &bytes);
}

#[test]
fn headers_match_go_captures() {
    let req = codec::encode_request(
        &RequestHeader {
            service_method: "Builder.Prepare".into(),
            seq: 0,
        },
        &[],
    );
    assert_eq!(
        to_hex(&req),
        "82ad536572766963654d6574686f64af4275696c6465722e50726570617265a353657100"
    );
    let ok = codec::encode_response(
        &ResponseHeader {
            service_method: "Builder.Prepare".into(),
            seq: 0,
            error: String::new(),
        },
        &[],
    );
    assert_eq!(
        to_hex(&ok),
        "83ad536572766963654d6574686f64af4275696c6465722e50726570617265a353657100a54572726f72a0"
    );
    let boom = codec::encode_response(
        &ResponseHeader {
            service_method: "Builder.Run".into(),
            seq: 1,
            error: "boom".into(),
        },
        &[],
    );
    assert_eq!(
        to_hex(&boom),
        "83ad536572766963654d6574686f64ab4275696c6465722e52756ea353657101a54572726f72a4626f6f6d"
    );
    let full = codec::encode_request(
        &RequestHeader {
            service_method: "Builder.ConfigSpec".into(),
            seq: 0,
        },
        NIL_BODY,
    );
    assert_eq!(
        to_hex(&full),
        "82ad536572766963654d6574686f64b24275696c6465722e436f6e66696753706563a353657100c0"
    );
    // And they decode back.
    let h = codec::decode_response_header(&decode(&boom)).unwrap();
    assert_eq!(
        (h.service_method.as_str(), h.seq, h.error.as_str()),
        ("Builder.Run", 1, "boom")
    );
}

#[test]
fn captured_prepare_request_frames_and_decodes() {
    // plugin-protocol.md, 'Captured headers':
    // 82 ad"ServiceMethod" af"Builder.Prepare" a3"Seq" 01 | 81 a7"Configs" 92 81
    // b1"packer_build_name" a1"x" c4 02 7b7d
    let msg = hex(
        "82ad536572766963654d6574686f64af4275696c6465722e50726570617265a353657101\
         81a7436f6e6669677392 81b17061636b65725f6275696c645f6e616d65a178 c4027b7d",
    );
    let mut dec = codec::ValueDecoder::new();
    // Fed in two arbitrary pieces: values span frames.
    dec.feed(&msg[..30]);
    assert!(dec.next_value().unwrap().is_none());
    dec.feed(&msg[30..]);
    let header = codec::decode_request_header(&dec.next_value().unwrap().unwrap()).unwrap();
    assert_eq!(
        header,
        RequestHeader {
            service_method: "Builder.Prepare".into(),
            seq: 1
        }
    );
    let body = dec.next_value().unwrap().unwrap();
    assert!(dec.next_value().unwrap().is_none());
    dec.finish().unwrap();
    let f = view::Fields::new("BuilderPrepareArgs", &body, &["Configs"]).unwrap();
    let Value::Array(configs) = f.get("Configs") else {
        panic!("Configs not an array")
    };
    assert_eq!(configs[0], map(&[("packer_build_name", Value::from("x"))]));
    assert_eq!(configs[1], Value::Binary(b"{}".to_vec()));
}
