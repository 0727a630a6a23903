//! Tests of the camera config: customs camera codes, points, every problem by path.

use super::*;

#[test]
fn the_published_example_code_is_valid() {
    assert_eq!(check_customs_camera_code("42010011101320803002"), Ok(()));
}

#[test]
fn each_wrong_field_of_a_customs_code_is_named() {
    for (code, field) in [
        ("4201001110132080300", "20 digits"),
        ("00000011101320803002", "district"),
        ("42010014101320803002", "department"),
        ("42010011201320803002", "industry"),
        ("42010011101330803002", "device type"),
        ("42010011101320603002", "site category"),
    ] {
        let err = check_customs_camera_code(code).unwrap_err();
        assert!(err.contains(field), "{code}: {err}");
    }
}

#[test]
fn points_read_back_as_written() {
    for text in ["line:L1:xray_exit", "line:L1:decision", "gate:01"] {
        assert_eq!(PointSpec::parse(text).unwrap().key(), text);
    }
    for bad in [
        "line:L1",
        "line::decision",
        "gate:",
        "lane:1",
        "line:L1:exit",
    ] {
        assert!(PointSpec::parse(bad).is_err(), "{bad}");
    }
}

fn problems(cameras: &str) -> Vec<(String, String)> {
    let text = format!(
        "[site]\ncode = \"3501\"\n[[lines]]\nid = \"L1\"\nplc.address = \"127.0.0.1:502\"\n\
         [[lines.scanners]]\nname = \"top\"\naddress = \"127.0.0.1:2001\"\n{cameras}"
    );
    match super::super::parse(&text, std::path::Path::new("t.toml")) {
        Ok(_) => Vec::new(),
        Err(super::super::ConfigError::Invalid { problems, .. }) => {
            problems.into_iter().map(|p| (p.path, p.message)).collect()
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn a_captured_camera_watching_the_x_ray_exit_is_valid() {
    let found = problems(
        "[[cameras]]\nid = \"35000011101320502001\"\nname = \"X光机出口\"\n\
         stream_url = \"rtsp://10.0.0.30:554/ch1\"\npoints = [\"line:L1:xray_exit\", \"line:L1:decision\"]\n",
    );
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn every_camera_problem_is_named_with_its_path() {
    let found = problems(
        "[[cameras]]\nid = \"35110100001310000001\"\nstream_url = \"rtsp://admin:pw@10.0.0.30/ch1\"\n\
         watchdog_s = 0.1\nsnapshot_poll_ms = 20\npoints = [\"line:L9:decision\", \"gate:01\", \"dock:3\"]\n\
         username = \"admin\"\n",
    );
    let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    for path in [
        "cameras[0].id",
        "cameras[0].stream_url",
        "cameras[0].watchdog_s",
        "cameras[0].snapshot_poll_ms",
        "cameras[0].points[0]",
        "cameras[0].points[1]",
        "cameras[0].points[2]",
        "cameras[0].password_env",
    ] {
        assert!(paths.contains(&path), "{path} in {found:?}");
    }
    assert!(
        found
            .iter()
            .any(|(_, m)| m.contains("controlling department")),
        "{found:?}"
    );
}

#[test]
fn credentials_in_a_url_are_noticed() {
    assert!(has_userinfo("rtsp://admin:pw@10.0.0.1/live"));
    assert!(!has_userinfo("rtsp://10.0.0.1/live?a=b@c"));
}
