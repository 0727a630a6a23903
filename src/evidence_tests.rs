use super::*;

fn png(width: u32, height: u32) -> Vec<u8> {
    let gray =
        image::ImageBuffer::from_fn(width, height, |x, y| image::Luma([(x * 97 + y) as u16]));
    let mut out = Vec::new();
    let mut cursor = Cursor::new(&mut out);
    DynamicImage::ImageLuma16(gray)
        .write_to(&mut cursor, ImageFormat::Png)
        .unwrap();
    out
}

/// A data directory with its store, and a way to hand it a source file.
fn setup() -> (
    tempfile::TempDir,
    EvidenceStore,
    impl Fn(&str, &[u8]) -> PathBuf,
) {
    let data = tempfile::tempdir().unwrap();
    let store = EvidenceStore::new(data.path());
    let src = data.path().join("incoming");
    std::fs::create_dir(&src).unwrap();
    let put = move |name: &str, bytes: &[u8]| {
        std::fs::write(src.join(name), bytes).unwrap();
        src.join(name)
    };
    (data, store, put)
}

#[test]
fn a_16_bit_xray_view_is_kept_by_its_hash_with_a_thumbnail() {
    let (_data, store, put) = setup();
    let bytes = png(600, 300);
    let kept = store
        .keep(&put("P1-TOP.PNG", &bytes), EvidenceKind::XrayView)
        .unwrap();
    assert_eq!(kept.sha256, hex::encode(Sha256::digest(&bytes)));
    let rel = format!("evidence/{}/{}.png", &kept.sha256[..2], kept.sha256);
    assert_eq!(
        (kept.rel_path.clone(), kept.path.clone()),
        (rel.clone().into(), store.resolve(rel.as_ref()))
    );
    assert_eq!(std::fs::read(&kept.path).unwrap(), bytes);
    assert_eq!(
        (kept.width, kept.height, kept.decode_error),
        (Some(600), Some(300), None)
    );
    // The thumbnail is made on first request, where `thumb` said, and kept.
    let expected = kept.thumb.clone().unwrap();
    assert!(!expected.exists(), "not made before anyone asks");
    let made = store.thumbnail(&kept.rel_path).unwrap();
    assert_eq!(made, expected);
    let thumb = image::open(&made).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (256, 128));
    let modified = std::fs::metadata(&made).unwrap().modified().unwrap();
    assert_eq!(store.thumbnail(&kept.rel_path).unwrap(), made);
    assert_eq!(
        std::fs::metadata(&made).unwrap().modified().unwrap(),
        modified,
        "made once"
    );
    let small = store
        .keep(&put("s.png", &png(30, 10)), EvidenceKind::PlateSnapshot)
        .unwrap();
    let thumb = image::open(store.thumbnail(&small.rel_path).unwrap()).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (30, 10), "never enlarged");
}

#[test]
fn a_picture_made_here_is_kept_with_the_thumbnail_it_came_with() {
    let (_data, store, _put) = setup();
    let jpeg = b"\xFF\xD8 a burned frame \xFF\xD9";
    let made = Made {
        jpeg,
        width: 1280,
        height: 810,
        thumbnail: b"\xFF\xD8 its thumbnail \xFF\xD9",
    };
    let source = Path::new("camera-C1-7.jpg");
    let kept = store
        .keep_made(&made, source, EvidenceKind::CameraFrame)
        .unwrap();
    assert_eq!(kept.sha256, hex::encode(Sha256::digest(jpeg)));
    assert_eq!(std::fs::read(&kept.path).unwrap(), jpeg);
    assert_eq!(
        (
            kept.width,
            kept.height,
            kept.decode_error.clone(),
            kept.already_kept
        ),
        (Some(1280), Some(810), None, false)
    );
    // The thumbnail is where `thumb` says and is what came with the picture; asking for it
    // hands back that file, not one made again.
    let thumb = kept.thumb.clone().unwrap();
    assert_eq!(std::fs::read(&thumb).unwrap(), made.thumbnail);
    assert_eq!(store.thumbnail(&kept.rel_path).unwrap(), thumb);
    // Kept again: nothing is copied, and the thumbnail stays.
    let again = store
        .keep_made(&made, source, EvidenceKind::CameraFrame)
        .unwrap();
    assert!(again.already_kept);
    assert_eq!(again.thumb, Some(thumb.clone()));
    assert_eq!(std::fs::read(&thumb).unwrap(), made.thumbnail);
}

#[test]
fn the_same_content_is_copied_once_and_leaves_no_temporary_files() {
    let (_data, store, put) = setup();
    let bytes = png(40, 20);
    let first = store
        .keep(&put("a.png", &bytes), EvidenceKind::CameraFrame)
        .unwrap();
    let again = store
        .keep(&put("b.png", &bytes), EvidenceKind::CameraFrame)
        .unwrap();
    assert!(!first.already_kept && again.already_kept);
    assert_eq!(
        (&again.path, &again.thumb, again.width),
        (&first.path, &first.thumb, Some(40))
    );
    store.thumbnail(&first.rel_path).unwrap();
    let files = std::fs::read_dir(first.path.parent().unwrap())
        .unwrap()
        .count();
    assert_eq!(files, 2, "the file and its thumbnail only");
}

#[test]
fn junk_and_truncated_files_are_kept_without_a_thumbnail_and_with_a_reason() {
    let (_data, store, put) = setup();
    let junk = store
        .keep(&put("junk.png", b"abc"), EvidenceKind::XrayView)
        .unwrap();
    assert_eq!(
        junk.sha256,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(std::fs::read(&junk.path).unwrap(), b"abc");
    assert_eq!((junk.thumb, junk.width), (None, None));
    assert!(junk.decode_error.unwrap().contains("junk.png"));
    let no_thumb = store.thumbnail(&junk.rel_path).unwrap_err();
    assert!(
        matches!(&no_thumb, EvidenceError::NoThumbnail { path, .. } if *path == junk.path),
        "{no_thumb}"
    );
    let whole = png(64, 64);
    let cut = store.keep(
        &put("cut.png", &whole[..whole.len() / 2]),
        EvidenceKind::XrayView,
    );
    let cut = cut.unwrap();
    assert!(cut.thumb.is_none() && cut.decode_error.unwrap().contains("cut.png"));
    let tif = store
        .keep(&put("v.TIFF", b"II*\0junk"), EvidenceKind::XrayView)
        .unwrap();
    assert!(tif.rel_path.to_string_lossy().ends_with(".tif") && tif.decode_error.is_some());
}

#[test]
fn a_file_over_the_cap_or_missing_is_an_error_naming_it() {
    let (_data, store, put) = setup();
    let store = store.with_max_bytes(10);
    let err = store
        .keep(&put("big.jpg", &[0; 11]), EvidenceKind::CameraFrame)
        .unwrap_err();
    assert!(
        matches!(
            err,
            EvidenceError::TooLarge {
                bytes: 11,
                max: 10,
                ..
            }
        ),
        "{err}"
    );
    let err = store.keep(
        Path::new("/nonexistent/gone.jpg"),
        EvidenceKind::CameraFrame,
    );
    let err = err.unwrap_err();
    assert!(matches!(err, EvidenceError::Io { .. }) && err.to_string().contains("gone.jpg"));
}

#[test]
fn kinds_and_extensions_have_stable_names() {
    for kind in [
        EvidenceKind::XrayView,
        EvidenceKind::CameraFrame,
        EvidenceKind::PlateSnapshot,
    ] {
        assert_eq!(EvidenceKind::parse(kind.as_str()), Some(kind));
    }
    let ext = |s: &str| normal_extension(Path::new(s));
    assert_eq!(
        (ext("a.JPEG"), ext("a"), ext("a.p ng")),
        ("jpg".into(), "bin".into(), "bin".into())
    );
    assert_eq!(
        thumb_path_of(Path::new("/e/ab/abc.png")),
        Path::new("/e/ab/abc.thumb.jpg")
    );
}
