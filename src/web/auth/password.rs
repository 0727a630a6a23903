//! Passwords: argon2id hashes (PHC strings) and the rules a new password must meet.
//!
//! Hashing costs tens of milliseconds of CPU and 19 MiB of memory by design; callers on
//! the async threads run it on the hashing threads (`Auth::hashing`).

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};

/// Shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted, in characters (hashing cost does not depend on it; this only
/// bounds what a request can make the server read and hash).
pub const MAX_PASSWORD_CHARS: usize = 256;
/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 64;
/// A username as the API documents it (`pattern` in the OpenAPI document).
pub const USERNAME_PATTERN: &str = "^[A-Za-z0-9._@-]{2,64}$";
/// Longest username, in characters.
pub const MAX_USERNAME_CHARS: usize = 64;

/// The hasher: argon2id v1.3 with OWASP's first recommendation (19 MiB, 2 passes, 1 lane),
/// the crate's defaults written out so a change of defaults cannot weaken new hashes.
fn argon2() -> Argon2<'static> {
    let params = Params::new(
        Params::DEFAULT_M_COST,
        Params::DEFAULT_T_COST,
        Params::DEFAULT_P_COST,
        None,
    )
    .expect("the default argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hash a password with a fresh random salt; returns the PHC string to store.
pub fn hash(password: &str) -> Result<String, String> {
    argon2()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Whether `password` matches the stored PHC string (parameters come from the string).
pub fn verify(password: &str, phc: &str) -> bool {
    argon2().verify_password(password.as_bytes(), phc).is_ok()
}

/// A hash of a password nobody knows, verified against when the username is unknown so
/// that a wrong username takes as long to refuse as a wrong password.
static DECOY: LazyLock<String> = LazyLock::new(|| {
    let random = format!("{:032x}", rand::random::<u128>());
    hash(&random).unwrap_or_default()
});

/// Spend the time of one verification, for an unknown username.
pub fn verify_decoy(password: &str) {
    let _ = verify(password, &DECOY);
}

/// Check a username: 2–64 characters, ASCII letters, digits, `.`, `_`, `-`, `@`.
pub fn check_username(username: &str) -> Result<(), String> {
    let n = username.chars().count();
    if !(2..=MAX_USERNAME_CHARS).contains(&n) {
        return Err(format!(
            "a username has 2 to {MAX_USERNAME_CHARS} characters"
        ));
    }
    if let Some(c) = username
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')))
    {
        return Err(format!(
            "a username has letters, digits, '.', '_', '-' and '@' only, not {c:?} \
             (the display name may be anything, e.g. Chinese)"
        ));
    }
    Ok(())
}

/// Check a display name: at most [`MAX_DISPLAY_NAME_CHARS`] characters, no control
/// characters.
pub fn check_display_name(name: &str) -> Result<(), String> {
    if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(format!(
            "a display name has at most {MAX_DISPLAY_NAME_CHARS} characters"
        ));
    }
    Ok(())
}

/// Check a new password for `username`: at least [`MIN_PASSWORD_CHARS`] characters, at
/// most [`MAX_PASSWORD_CHARS`] characters, and not the username.
pub fn check_password(username: &str, password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "a password has at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(format!(
            "a password has at most {MAX_PASSWORD_CHARS} characters"
        ));
    }
    if password.trim().to_lowercase() == username.trim().to_lowercase() {
        return Err("the password cannot be the username".into());
    }
    let strength = zxcvbn::zxcvbn(password, &[username, "customs", "edge", "sanming", "admin"]);
    if u8::from(strength.score()) < MIN_STRENGTH {
        let why = strength
            .feedback()
            .and_then(zxcvbn::feedback::Feedback::warning)
            .map(|w| format!(" ({w})"))
            .unwrap_or_default();
        return Err(format!(
            "this password is too easy to guess{why}: a common word, name, date, keyboard \
             pattern or repetition; add unrelated words or characters"
        ));
    }
    Ok(())
}

/// The least zxcvbn score a new password needs (0–4): 2 resists about 10^8 guesses, far
/// beyond what the login delays let anyone try online; the argon2 hash guards offline.
pub const MIN_STRENGTH: u8 = 2;

#[cfg(test)]
mod strength_tests {
    use super::check_password;

    #[test]
    fn common_and_trivial_passwords_are_refused() {
        for pw in [
            "aaaaaaaaaa",
            "password123",
            "qwertyuiop",
            "1234567890",
            "admin12345",
            "zhang.wei2026",
        ] {
            let e = check_password("zhang.wei", pw).unwrap_err();
            assert!(e.contains("too easy"), "{pw}: {e}");
        }
    }

    #[test]
    fn the_passwords_the_tests_and_demo_use_pass() {
        for (user, pw) in [
            ("op.zhao", "op.zhao-pass-2026"),
            ("viewer", "demo-0a1b2c3d4e5f"),
            ("admin", "admin-pass-3511-w001"),
            ("op.zhao", "op-zhao-new-pass-1"),
            ("viewer.chen", "viewer-new-pass-1"),
            ("op.wu", "op-wu-password-1"),
            ("x", "wall-screen-pass-1"),
        ] {
            assert!(
                check_password(user, pw).is_ok(),
                "{user}: {pw}: {:?}",
                check_password(user, pw)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_argon2id_and_verifies_only_its_password() {
        let phc = hash("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("correct horse battery", &phc));
        assert!(!verify("correct horse batterY", &phc));
        assert!(!verify("correct horse battery", "not a phc string"));
        assert_ne!(hash("correct horse battery").unwrap(), phc, "salted");
    }

    #[test]
    fn password_rules_name_what_is_wrong() {
        assert!(
            check_password("zhang", "short")
                .unwrap_err()
                .contains("at least 10")
        );
        assert!(
            check_password("zhang.wei.01", "Zhang.Wei.01")
                .unwrap_err()
                .contains("username")
        );
        assert!(
            check_password("zhang", &"x".repeat(300))
                .unwrap_err()
                .contains("at most")
        );
        assert!(check_password("zhang", "十个汉字的密码也可以用").is_ok());
        assert!(check_username("op.zhang").is_ok());
        assert!(check_username("张伟").unwrap_err().contains("letters"));
        assert!(check_username("a").is_err());
    }
}
