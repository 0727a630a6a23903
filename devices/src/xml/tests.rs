use super::*;

const LOCAL: ReadOptions<'static> = ReadOptions::DEFAULT;
const NAMESPACED: ReadOptions<'static> = ReadOptions {
    namespaces: true,
    ..ReadOptions::DEFAULT
};

fn malformed(err: XmlError) -> (String, String) {
    match err {
        XmlError::Malformed {
            element, reason, ..
        } => (element, reason),
        XmlError::UnexpectedRoot(name) => panic!("unexpected root <{name}>"),
    }
}

#[test]
fn elements_keep_local_names_and_drop_prefixes() {
    let doc = r#"<?xml version="1.0"?>
<env:Envelope xmlns:env="urn:e" xmlns:tt="urn:t"><env:Body>
  <tt:Profiles tt:token="P&amp;1" fixed="true"><tt:Name> main &#x41; <![CDATA[<x>]]></tt:Name></tt:Profiles>
  <tt:Profiles token="P2"/>
</env:Body></env:Envelope>"#;
    let root = parse(doc, &LOCAL).unwrap();
    assert_eq!((root.name(), root.namespace()), ("Envelope", ""));
    let body = root.child("Body").unwrap();
    let profiles: Vec<_> = body.children_named("Profiles").collect();
    assert_eq!(profiles.len(), 2);
    assert_eq!(profiles[0].attr("token"), Some("P&1"));
    assert_eq!(profiles[0].attr("fixed"), Some("true"));
    assert_eq!(profiles[0].text_at(&["Name"]), Some("main A <x>"));
    assert_eq!(profiles[1].attr("token"), Some("P2"));
    assert_eq!(
        root.descendant("Name").map(Element::text),
        Some("main A <x>")
    );
}

#[test]
fn namespaces_attributes_and_text_resolve_when_asked() {
    let doc = parse(
        r#"<?xml version="1.0"?><s:E xmlns:s="urn:s" xmlns:a="urn:a">
             <s:B><a:P a:Type="t&amp;x">  v &lt; 1 </a:P><Q/></s:B></s:E>"#,
        &NAMESPACED,
    )
    .unwrap();
    assert!(doc.is("urn:s", "E"));
    let p = doc
        .child_ns("urn:s", "B")
        .and_then(|b| b.child_ns("urn:a", "P"))
        .unwrap();
    assert_eq!(p.text(), "v < 1");
    assert_eq!(p.attr("Type"), Some("t&x"));
    assert_eq!(doc.descendant("Q").map(Element::namespace), Some(""));
    assert!(doc.child_ns("urn:other", "B").is_none());
}

#[test]
fn qnames_in_text_resolve_against_the_prefixes_in_scope() {
    let doc = parse(
        r#"<E xmlns:x1="urn:dn" xmlns:x2="urn:tds"><T>x1:NVT x2:Device nope:Z bare</T></E>"#,
        &NAMESPACED,
    )
    .unwrap();
    assert_eq!(
        doc.child("T").unwrap().text_qnames(),
        [
            ("urn:dn".to_owned(), "NVT".to_owned()),
            ("urn:tds".to_owned(), "Device".to_owned()),
            (String::new(), "Z".to_owned()),
            (String::new(), "bare".to_owned()),
        ]
    );
}

#[test]
fn errors_name_where_reading_stopped() {
    let (element, _) = malformed(parse("<Envelope><Body><X>y</Body>", &LOCAL).unwrap_err());
    assert_eq!(element, "Envelope/Body/X");
    let (element, reason) = malformed(parse("<Envelope><Body>", &LOCAL).unwrap_err());
    assert_eq!(element, "Envelope/Body");
    assert!(reason.contains("ends before"), "{reason}");
    for (doc, says) in [
        ("", "no root"),
        ("<a/><b/>", "second root"),
        ("<a>&bogus;</a>", "bogus"),
        ("<a/>junk", "text outside"),
        ("junk<a/>", "text outside"),
    ] {
        let (_, reason) = malformed(parse(doc, &LOCAL).unwrap_err());
        assert!(reason.contains(says), "{doc:?}: {reason}");
    }
    assert!(parse("garbage", &LOCAL).is_err());
    assert!(
        parse("<a x='1' x='2'/>", &LOCAL).is_err(),
        "duplicate attribute"
    );
}

#[test]
fn depth_and_element_count_are_bounded() {
    let bounded = ReadOptions {
        max_depth: 4,
        max_elements: 5,
        ..ReadOptions::DEFAULT
    };
    assert!(parse("<a><b><c><d/></c></b></a>", &bounded).is_ok());
    let (_, reason) = malformed(parse("<a><b><c><d><e/></d></c></b></a>", &bounded).unwrap_err());
    assert!(reason.contains("deeper than 4"), "{reason}");
    assert!(parse("<a><b/><b/><b/><b/></a>", &bounded).is_ok());
    let (_, reason) = malformed(parse("<a><b/><b/><b/><b/><b/></a>", &bounded).unwrap_err());
    assert!(reason.contains("more than 5"), "{reason}");
    for hostile in [&"<a>".repeat(40), &"<a/>".repeat(3)] {
        assert!(parse(hostile, &NAMESPACED).is_err(), "{hostile:?}");
    }
}

#[test]
fn lenient_options_accept_what_strict_reading_refuses() {
    let lenient = ReadOptions {
        attributes: false,
        ignore_text_outside_root: true,
        ..ReadOptions::DEFAULT
    };
    let doc = "junk<a x='1' x='2'><b>t</b></a>\0more";
    assert!(parse(doc, &LOCAL).is_err());
    let root = parse(doc, &lenient).unwrap();
    assert_eq!((root.attr("x"), root.text_at(&["b"])), (None, Some("t")));
    // An undeclared prefix reads by local name, namespaces resolved or not.
    for options in [LOCAL, NAMESPACED] {
        let root = parse("<p:a><q:b>t</q:b></p:a>", &options).unwrap();
        assert_eq!(root.text_at(&["b"]), Some("t"));
    }
}

#[test]
fn the_root_is_checked_before_the_rest_is_read() {
    let options = ReadOptions {
        root: Some("EventNotificationAlert"),
        ..ReadOptions::DEFAULT
    };
    assert_eq!(
        parse("<Other><broken", &options),
        Err(XmlError::UnexpectedRoot("Other".into()))
    );
    assert!(parse("<EventNotificationAlert/>", &options).is_ok());
}

#[test]
fn take_child_moves_an_element_out() {
    let mut root = parse("<E><H>h</H><B>b</B></E>", &LOCAL).unwrap();
    let body = root.take_child("B").unwrap();
    assert_eq!(body.text(), "b");
    assert!(root.child("B").is_none());
    assert_eq!(root.children().len(), 1);
}
