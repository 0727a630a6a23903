use super::*;
use crate::store::Store;

fn new_account(username: &str, role: Role) -> NewAccount {
    NewAccount {
        username: username.into(),
        display_name: String::new(),
        role,
        // Not a real hash: the store never looks inside it.
        password_hash: format!("$argon2id$test${username}"),
    }
}

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    (dir, store)
}

fn audit_actions(store: &Store) -> Vec<(String, String, String)> {
    store
        .reader
        .read_blocking(|c| {
            let mut stmt = c.prepare("SELECT actor, action, detail FROM audit_log ORDER BY id")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .unwrap()
}

#[tokio::test]
async fn the_first_admin_is_created_once_and_audited_without_the_hash() {
    let (_dir, store) = store();
    assert!(!store.reader.read(admin_exists).await.unwrap());
    let first = store
        .writer
        .write(|tx| create_first_admin(tx, &new_account("root.admin", Role::Viewer), "setup"))
        .await
        .unwrap()
        .expect("created");
    assert_eq!(
        first.role,
        Role::Admin,
        "the first account is an administrator whatever asked"
    );
    assert_eq!(first.display_name, "root.admin");
    let again = store
        .writer
        .write(|tx| create_first_admin(tx, &new_account("other", Role::Admin), "setup"))
        .await
        .unwrap();
    assert!(again.is_none());
    assert!(store.reader.read(admin_exists).await.unwrap());
    let audit = audit_actions(&store);
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].0, "setup");
    assert_eq!(audit[0].1, "account_create");
    assert!(!audit[0].2.contains("argon2"), "{}", audit[0].2);
}

#[tokio::test]
async fn usernames_are_unique_regardless_of_case() {
    let (_dir, store) = store();
    store
        .writer
        .write(|tx| create(tx, &new_account("Op.Zhang", Role::Operator), "admin"))
        .await
        .unwrap();
    let taken = store
        .writer
        .write(|tx| create(tx, &new_account("op.zhang", Role::Officer), "admin"))
        .await
        .unwrap_err();
    assert!(taken.to_string().contains("taken"), "{taken}");
    let (found, hash) = store
        .reader
        .read(|c| by_username(c, "OP.ZHANG"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.role, Role::Operator);
    assert_eq!(hash, "$argon2id$test$Op.Zhang");
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_account_and_a_login_clears_the_count() {
    let (_dir, store) = store();
    let account = store
        .writer
        .write(|tx| create(tx, &new_account("officer.li", Role::Officer), "admin"))
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let source = LoginSource {
        ip: Some("10.0.0.7".into()),
        user_agent: None,
    };
    for i in 1..=MAX_FAILED_LOGINS {
        let (a, s) = (account.clone(), source.clone());
        let locked = store
            .writer
            .write(move |tx| record_failed_login(tx, &a, now, &s))
            .await
            .unwrap();
        assert_eq!(locked.is_some(), i == MAX_FAILED_LOGINS, "attempt {i}");
    }
    let locked = store
        .reader
        .read(move |c| by_id(c, account.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(locked.locked_until, Some(timestamp(now + LOCKOUT)));
    assert_eq!(
        locked.failed_logins, 0,
        "the count starts over after the lock"
    );
    let actions: Vec<String> = audit_actions(&store).into_iter().map(|a| a.1).collect();
    assert_eq!(actions.iter().filter(|a| *a == "login_failed").count(), 5);
    assert!(actions.contains(&"account_locked".to_owned()));

    // A password reset unlocks.
    let unlocked = store
        .writer
        .write(move |tx| set_password(tx, account.id, "$argon2id$new", "admin"))
        .await
        .unwrap();
    assert_eq!(unlocked.locked_until, None);
}

#[tokio::test]
async fn sessions_are_found_by_token_hash_and_end_when_the_account_is_disabled() {
    let (_dir, store) = store();
    let (admin, op) = store
        .writer
        .write(|tx| {
            Ok((
                create(tx, &new_account("admin", Role::Admin), "setup")?,
                create(tx, &new_account("op.wang", Role::Operator), "admin")?,
            ))
        })
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let new = NewSession {
        token_sha256: "ab".repeat(32),
        account_id: op.id,
        csrf_token: "csrf-1".into(),
        created_at: now,
        expires_at: now + chrono::TimeDelta::hours(12),
        source: LoginSource::default(),
    };
    let (o, s) = (op.clone(), new.clone());
    store
        .writer
        .write(move |tx| record_login(tx, &o, &s, now - chrono::TimeDelta::hours(8)))
        .await
        .unwrap();
    let found = store
        .reader
        .read(|c| session(c, &"ab".repeat(32)))
        .await
        .unwrap()
        .expect("session");
    assert_eq!(found.account.username, "op.wang");
    assert_eq!(found.csrf_token, "csrf-1");

    let disabled = store
        .writer
        .write(move |tx| set_disabled(tx, op.id, true, "admin"))
        .await
        .unwrap();
    assert!(disabled.disabled);
    assert!(
        store
            .reader
            .read(|c| session(c, &"ab".repeat(32)))
            .await
            .unwrap()
            .is_none()
    );

    // The last enabled administrator stays.
    let refused = store
        .writer
        .write(move |tx| set_disabled(tx, admin.id, true, "admin"))
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("last enabled administrator"),
        "{refused}"
    );
    let actions: Vec<String> = audit_actions(&store).into_iter().map(|a| a.1).collect();
    assert_eq!(
        actions,
        [
            "account_create",
            "account_create",
            "login",
            "account_disable"
        ]
    );
}
