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
async fn wrong_passwords_are_counted_and_audited_and_never_lock_the_account() {
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
    for i in 1..=20u32 {
        let (a, s) = (account.clone(), source.clone());
        let count = store
            .writer
            .write(move |tx| record_failed_login(tx, &a, now, &s))
            .await
            .unwrap();
        assert_eq!(count, i);
    }
    let after = store
        .reader
        .read(move |c| by_id(c, account.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.locked_until, None, "no lock anyone could trigger");
    assert_eq!(after.failed_logins, 20);
    let actions: Vec<String> = audit_actions(&store).into_iter().map(|a| a.1).collect();
    assert_eq!(actions.iter().filter(|a| *a == "login_failed").count(), 20);
    assert!(!actions.contains(&"account_locked".to_owned()));
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
        handle: "h-ab".into(),
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

#[tokio::test]
async fn a_role_change_is_audited_and_the_last_administrator_keeps_the_role() {
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
    let officer = store
        .writer
        .write(move |tx| set_role(tx, op.id, Role::Officer, "admin"))
        .await
        .unwrap();
    assert_eq!(officer.role, Role::Officer);
    let unchanged = store
        .writer
        .write(move |tx| set_role(tx, op.id, Role::Officer, "admin"))
        .await
        .unwrap();
    assert_eq!(unchanged, officer);

    let last = store
        .writer
        .write(move |tx| set_role(tx, admin.id, Role::Viewer, "someone.else"))
        .await
        .unwrap_err();
    assert!(
        last.to_string().contains("last enabled administrator"),
        "{last}"
    );
    store
        .writer
        .write(|tx| create(tx, &new_account("admin.two", Role::Admin), "admin"))
        .await
        .unwrap();
    let own = store
        .writer
        .write(move |tx| set_role(tx, admin.id, Role::Viewer, "ADMIN"))
        .await
        .unwrap_err();
    assert!(own.to_string().contains("own role"), "{own}");
    let demoted = store
        .writer
        .write(move |tx| set_role(tx, admin.id, Role::Viewer, "admin.two"))
        .await
        .unwrap();
    assert_eq!(demoted.role, Role::Viewer);

    let roles: Vec<(String, String, String)> = audit_actions(&store)
        .into_iter()
        .filter(|a| a.1 == "account_role")
        .collect();
    assert_eq!(
        roles.len(),
        2,
        "refusals and no-ops are not audited: {roles:?}"
    );
    let detail: serde_json::Value = serde_json::from_str(&roles[0].2).unwrap();
    assert_eq!(detail["from"], "operator");
    assert_eq!(detail["to"], "officer");
    assert_eq!(roles[1].0, "admin.two");
}

fn session_for(account_id: i64, token: &str) -> NewSession {
    let now = chrono::Utc::now();
    NewSession {
        token_sha256: token.repeat(32),
        handle: format!("h-{token}"),
        account_id,
        csrf_token: format!("csrf-{token}"),
        created_at: now,
        expires_at: now + chrono::TimeDelta::hours(12),
        source: LoginSource::default(),
    }
}

#[tokio::test]
async fn an_own_password_change_keeps_the_asking_session_and_ends_the_others() {
    let (_dir, store) = store();
    let op = store
        .writer
        .write(|tx| create(tx, &new_account("op.wang", Role::Operator), "admin"))
        .await
        .unwrap();
    let old_hash = "$argon2id$test$op.wang".to_owned();
    for token in ["aa", "bb", "cc"] {
        let (o, s) = (op.clone(), session_for(op.id, token));
        store
            .writer
            .write(move |tx| {
                record_login(tx, &o, &s, chrono::Utc::now() - chrono::TimeDelta::hours(8))
            })
            .await
            .unwrap();
    }
    let writer = store.clone();
    let change = move |verified: String, session: &'static str| {
        let store = writer.clone();
        async move {
            store
                .writer
                .write(move |tx| {
                    change_own_password(
                        tx,
                        &OwnPassword {
                            account_id: op.id,
                            verified_hash: &verified,
                            new_hash: "$argon2id$new",
                            session_sha256: &session.repeat(32),
                        },
                    )
                })
                .await
        }
    };
    let stale = change("$argon2id$other".into(), "aa").await.unwrap_err();
    assert!(stale.to_string().contains("changed meanwhile"), "{stale}");
    let gone = change(old_hash.clone(), "zz").await.unwrap_err();
    assert!(gone.to_string().contains("session has ended"), "{gone}");

    let (account, ended) = change(old_hash, "aa").await.unwrap();
    assert_eq!((account.username.as_str(), ended), ("op.wang", 2));
    for (token, kept) in [("aa", true), ("bb", false), ("cc", false)] {
        let found = store
            .reader
            .read(move |c| session(c, &token.repeat(32)))
            .await
            .unwrap();
        assert_eq!(found.is_some(), kept, "session {token}");
    }
    let (_, hash) = store
        .reader
        .read(|c| by_username(c, "op.wang"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hash, "$argon2id$new");
    let changes: Vec<(String, String, String)> = audit_actions(&store)
        .into_iter()
        .filter(|a| a.1 == "password_change")
        .collect();
    assert_eq!(changes.len(), 1, "refused changes are not audited");
    assert_eq!(changes[0].0, "op.wang", "the owner is the actor");
    assert!(!changes[0].2.contains("argon2"), "{}", changes[0].2);
}

#[tokio::test]
async fn wrong_current_passwords_and_wrong_logins_share_one_count() {
    let (_dir, store) = store();
    let account = store
        .writer
        .write(|tx| create(tx, &new_account("officer.li", Role::Officer), "admin"))
        .await
        .unwrap();
    let now = chrono::Utc::now();
    for i in 1..=5u32 {
        let a = account.clone();
        let count = store
            .writer
            .write(move |tx| {
                let source = LoginSource::default();
                if i % 2 == 0 {
                    record_wrong_current_password(tx, &a, now, &source)
                } else {
                    record_failed_login(tx, &a, now, &source)
                }
            })
            .await
            .unwrap();
        assert_eq!(count, i, "one count for both");
    }
    let actions: Vec<(String, String, String)> =
        audit_actions(&store).into_iter().skip(1).collect();
    let changes: Vec<&(String, String, String)> = actions
        .iter()
        .filter(|a| a.1 == "password_change_failed")
        .collect();
    assert_eq!(changes.len(), 2);
    assert!(changes.iter().all(|a| a.0 == "officer.li"));
    assert!(actions.iter().all(|a| a.1 != "account_locked"));
}
