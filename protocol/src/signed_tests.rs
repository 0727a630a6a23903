use super::*;

const TOPIC: &str = "customs-edge/3511W001/down/permits";
const MSG: &[u8] = br#"{"schema":1,"id":"p:down:1","body":{"a":[1, 2]}}"#;

fn keys(seed: u8) -> (SealKey, TrustedKeys) {
    let k = SealKey::from_seed(&[seed; 32]);
    let mut t = TrustedKeys::default();
    t.add(k.public());
    (k, t)
}

#[test]
fn a_sealed_message_opens_to_its_exact_bytes() {
    let (k, t) = keys(1);
    let payload = k.seal(TOPIC, MSG, 2000);
    let opened = t.open(TOPIC, &payload, 1000).unwrap();
    assert_eq!(opened.msg, MSG);
    assert_eq!(opened.key, k.id());
    assert!(serde_json::from_slice::<serde_json::Value>(&payload).is_ok());
}

#[test]
fn each_kind_of_forgery_gets_its_own_reason() {
    let (k, t) = keys(1);
    let (other, _) = keys(2);
    let good = k.seal(TOPIC, MSG, 2000);
    let tampered = String::from_utf8(good.clone())
        .unwrap()
        .replace("[1, 2]", "[1, 3]");
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (MSG.to_vec(), TOPIC, "unsigned"),
        (b"{\"sig\":1}".to_vec(), TOPIC, "bad_signature_wrapper"),
        (other.seal(TOPIC, MSG, 2000), TOPIC, "unknown_key"),
        (tampered.into_bytes(), TOPIC, "bad_signature"),
        (
            good.clone(),
            "customs-edge/OTHER/down/permits",
            "bad_signature",
        ),
        (k.seal(TOPIC, MSG, 999), TOPIC, "expired"),
    ];
    for (payload, topic, code) in cases {
        let err = t.open(topic, &payload, 1000).unwrap_err();
        assert_eq!(err.code(), code, "{err}");
    }
}

#[test]
fn a_changed_expiry_breaks_the_signature() {
    let (k, t) = keys(1);
    let payload = String::from_utf8(k.seal(TOPIC, MSG, 2000)).unwrap();
    let later = payload.replace("\"exp\":2000", "\"exp\":9000");
    assert_eq!(
        t.open(TOPIC, later.as_bytes(), 1000).unwrap_err(),
        SignatureError::BadSignature
    );
}

#[test]
fn two_trusted_keys_both_verify_during_a_rotation() {
    let old = SealKey::from_seed(&[1; 32]);
    let new = SealKey::from_seed(&[2; 32]);
    let t = TrustedKeys::from_hex(&[old.public_hex(), new.public_hex()]).unwrap();
    for k in [&old, &new] {
        assert!(t.open(TOPIC, &k.seal(TOPIC, MSG, 2000), 1000).is_ok());
    }
    let round = SealKey::from_hex(&old.to_hex()).unwrap();
    assert_eq!(round.id(), old.id());
    assert!(TrustedKeys::from_hex(&["abcd"]).is_err());
}

const MSG2: &[u8] = br#"{"schema":1,"id":"p:down:2","body":{}}"#;
const MSG3: &[u8] = br#"{"schema":1,"id":"p:down:3","body":"three"}"#;

#[test]
fn a_batch_opens_to_its_envelopes_in_order_and_a_single_opens_as_one() {
    let (k, t) = keys(1);
    let batch = k.seal_batch(TOPIC, &[MSG, MSG2, MSG3], 2000);
    let opened = t.open_many(TOPIC, &batch, 1000).unwrap();
    assert_eq!(opened.msgs, vec![MSG, MSG2, MSG3]);
    assert_eq!(opened.key, k.id());
    let sealed = k.seal(TOPIC, MSG, 2000);
    let single = t.open_many(TOPIC, &sealed, 1000).unwrap();
    assert_eq!(single.msgs, vec![MSG]);
    let refused = t.open(TOPIC, &batch, 1000).unwrap_err();
    assert_eq!(refused.code(), "bad_signature_wrapper", "{refused}");
}

#[test]
fn no_envelope_can_be_taken_out_of_added_to_or_moved_within_a_batch() {
    let (k, t) = keys(1);
    let batch = String::from_utf8(k.seal_batch(TOPIC, &[MSG, MSG2], 2000)).unwrap();
    let [m1, m2] = [MSG, MSG2].map(|m| std::str::from_utf8(m).unwrap());
    let forged = [
        batch.replace(&format!("[{m1},{m2}]"), &format!("[{m2},{m1}]")),
        batch.replace(&format!(",{m2}]"), "]"),
        batch.replace(&format!(",{m2}]"), &format!(",{m2},{m2}]")),
        // The batch's signature offered as a single message's.
        batch.replace(&format!("\"msgs\":[{m1},{m2}]"), &format!("\"msg\":{m1}")),
    ];
    for payload in forged {
        let err = t.open_many(TOPIC, payload.as_bytes(), 1000).unwrap_err();
        assert_eq!(err, SignatureError::BadSignature, "{payload}");
    }
    // A single message's signature offered as a batch of one.
    let single = String::from_utf8(k.seal(TOPIC, MSG, 2000)).unwrap();
    let as_batch = single.replace(&format!("\"msg\":{m1}"), &format!("\"msgs\":[{m1}]"));
    let err = t.open_many(TOPIC, as_batch.as_bytes(), 1000).unwrap_err();
    assert_eq!(err, SignatureError::BadSignature);
    // A batch for one topic does not verify on another.
    let other = t
        .open_many("customs-edge/OTHER/down/permits", batch.as_bytes(), 1000)
        .unwrap_err();
    assert_eq!(other, SignatureError::BadSignature);
}

#[test]
fn a_wrapper_needs_exactly_one_of_msg_and_msgs() {
    let (k, t) = keys(1);
    let head = |rest: &str| {
        let sig = "0".repeat(128);
        format!(r#"{{"sig":"{sig}","key":"{}","exp":2000{rest}}}"#, k.id())
    };
    let m1 = std::str::from_utf8(MSG).unwrap();
    for payload in [
        head(""),
        head(r#","msgs":[]"#),
        head(&format!(r#","msg":{m1},"msgs":[{m1}]"#)),
    ] {
        let err = t.open_many(TOPIC, payload.as_bytes(), 1000).unwrap_err();
        assert_eq!(err.code(), "bad_signature_wrapper", "{payload}: {err}");
    }
}
