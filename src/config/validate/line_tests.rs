use crate::config::Config;

/// The problems of a one-line site with `bag_scanners` added (TOML tables), by path.
fn bag_scanner_problems(bag_scanners: &str) -> Vec<(String, String)> {
    let cfg: Config = toml::from_str(&format!(
        "[site]\ncode = \"S1\"\n[[lines]]\nid = \"L1\"\nplc.address = \"127.0.0.1:502\"\n\
         [[lines.scanners]]\nname = \"top\"\naddress = \"127.0.0.1:2001\"\n{bag_scanners}"
    ))
    .unwrap();
    cfg.validate()
        .into_iter()
        .filter(|p| p.path.contains("bag_scanners"))
        .map(|p| (p.path, p.message))
        .collect()
}

#[test]
fn a_bag_scanner_at_the_release_lane_is_valid() {
    let problems = bag_scanner_problems(
        "[[lines.bag_scanners]]\nname = \"bag-1\"\naddress = \"127.0.0.1:2101\"\n",
    );
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn bag_scanners_are_checked_field_by_field() {
    let problems = bag_scanner_problems(
        "[[lines.bag_scanners]]\nname = \"top\"\naddress = \"nowhere\"\nlane = 2\n\
         bag_prefix = \"\"\nmax_length = 0\n\
         [[lines.bag_scanners]]\nname = \"bag-2\"\naddress = \"127.0.0.1:2102\"\n\
         [[lines.bag_scanners]]\nname = \"bag-3\"\naddress = \"127.0.0.1:2103\"\n",
    );
    let paths: Vec<&str> = problems.iter().map(|p| p.0.as_str()).collect();
    assert_eq!(
        paths,
        [
            "lines[0].bag_scanners[0].name",
            "lines[0].bag_scanners[0].address",
            "lines[0].bag_scanners[0].lane",
            "lines[0].bag_scanners[0].bag_prefix",
            "lines[0].bag_scanners[0].max_length",
            "lines[0].bag_scanners[2].lane",
        ],
        "{problems:?}"
    );
    assert!(problems[0].1.contains("duplicate"), "{problems:?}");
    assert!(problems[2].1.contains("not a release lane"), "{problems:?}");
    assert!(
        problems[5].1.contains("another bag-label scanner"),
        "{problems:?}"
    );
}
