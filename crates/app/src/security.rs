//! Cryptographic primitives: Argon2id passwords, RFC 6238 TOTP, random tokens, digests.
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use data_encoding::{BASE32_NOPAD, BASE64URL_NOPAD, HEXLOWER};
use hmac::{Hmac, Mac};
use openiop_domain::{DomainError, Result};
use sha2::{Digest, Sha256};

/// Hashes a password with Argon2id (the crate's defaults follow OWASP's recommended parameters).
pub fn hash_password(password: &str) -> Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| DomainError::Internal(format!("password hashing: {e}")))
}

/// Checks a password against a stored PHC string. A malformed hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => Argon2::default().verify_password(password.as_bytes(), &h).is_ok(),
        Err(_) => false,
    }
}

/// A hash to verify against when the account does not exist, so that the time taken does not
/// reveal which emails have accounts.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not-a-real-password-at-all").unwrap_or_default())
}

/// `n` bytes from the operating system's CSPRNG.
pub fn random_bytes(n: usize) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).map_err(|e| DomainError::Internal(format!("random: {e}")))?;
    Ok(buf)
}

/// An unguessable URL-safe token with 256 bits of entropy.
pub fn random_token() -> Result<String> {
    Ok(BASE64URL_NOPAD.encode(&random_bytes(32)?))
}

pub fn sha256_hex(s: &str) -> String {
    HEXLOWER.encode(&Sha256::digest(s.as_bytes()))
}

/// A keyed hash (HMAC-SHA256, 128 bits shown) of a value that must not be stored as typed,
/// e.g. the account typed into a failed sign-in: the same value always gives the same text, so
/// attempts can be counted and searched, but the value cannot be read back.
pub fn keyed_hash(key: &str, value: &str) -> String {
    match Hmac::<Sha256>::new_from_slice(key.as_bytes()) {
        Ok(mut mac) => {
            mac.update(value.as_bytes());
            HEXLOWER.encode(&mac.finalize().into_bytes()[..16])
        }
        // HMAC takes keys of any length; this cannot happen.
        Err(_) => sha256_hex(&format!("{key}:{value}"))[..32].to_string(),
    }
}

/// Constant-time comparison of two secrets.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// TOTP per RFC 6238: HMAC-SHA1, 30-second steps, 6 digits (what authenticator apps expect).
pub mod totp {
    use super::*;

    pub const STEP_SECONDS: i64 = 30;
    pub const DIGITS: u32 = 6;

    /// A new 160-bit secret, base32 as authenticator apps expect.
    pub fn new_secret() -> Result<String> {
        Ok(BASE32_NOPAD.encode(&random_bytes(20)?))
    }

    pub fn step_at(unix_seconds: i64) -> i64 {
        unix_seconds.div_euclid(STEP_SECONDS)
    }

    /// The code for one time step (RFC 4226 dynamic truncation).
    pub fn code(secret_b32: &str, step: i64) -> Result<String> {
        let key = BASE32_NOPAD
            .decode(secret_b32.trim_end_matches('=').as_bytes())
            .map_err(|_| DomainError::Internal("stored TOTP secret is not base32".into()))?;
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&key).map_err(|e| DomainError::Internal(e.to_string()))?;
        mac.update(&step.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        let offset = (digest[19] & 0x0f) as usize;
        let bin = u32::from_be_bytes([digest[offset] & 0x7f, digest[offset + 1], digest[offset + 2], digest[offset + 3]]);
        Ok(format!("{:06}", bin % 10u32.pow(DIGITS)))
    }

    /// The time step a typed code matches, allowing one step of clock drift either way.
    pub fn matching_step(secret_b32: &str, typed: &str, unix_seconds: i64) -> Result<Option<i64>> {
        let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
        if typed.len() != DIGITS as usize || !typed.chars().all(|c| c.is_ascii_digit()) {
            return Ok(None);
        }
        let now = step_at(unix_seconds);
        for step in [now, now - 1, now + 1] {
            if same_secret(&code(secret_b32, step)?, &typed) {
                return Ok(Some(step));
            }
        }
        Ok(None)
    }

    /// The `otpauth://` URI that authenticator apps import (Key Uri Format).
    pub fn otpauth_uri(issuer: &str, account: &str, secret_b32: &str) -> String {
        use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
        let i = utf8_percent_encode(issuer, NON_ALPHANUMERIC).to_string();
        let a = utf8_percent_encode(account, NON_ALPHANUMERIC).to_string();
        format!("otpauth://totp/{i}:{a}?secret={secret_b32}&issuer={i}&algorithm=SHA1&digits=6&period=30")
    }

    /// The URI as a QR code, as an SVG data URI for an `<img>` (allowed by our CSP).
    pub fn qr_data_uri(uri: &str) -> Result<String> {
        let code = qrcode::QrCode::new(uri.as_bytes()).map_err(|e| DomainError::Internal(format!("qr: {e}")))?;
        let svg = code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).build();
        Ok(format!("data:image/svg+xml;base64,{}", data_encoding::BASE64.encode(svg.as_bytes())))
    }
}

/// Recovery codes: ten single-use codes shown once, stored as SHA-256 (they carry 50 bits each).
pub fn new_recovery_codes() -> Result<Vec<String>> {
    (0..10)
        .map(|_| {
            let raw = BASE32_NOPAD.encode(&random_bytes(7)?).to_lowercase();
            Ok(format!("{}-{}", &raw[0..5], &raw[5..10]))
        })
        .collect()
}

pub fn normalize_recovery_code(s: &str) -> String {
    s.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_matches_the_rfc_6238_test_vector() {
        // RFC 6238 Appendix B, SHA-1 seed "12345678901234567890" at T = 59 s → 94287082 (8 digits);
        // the 6-digit code is its last six digits.
        let secret = BASE32_NOPAD.encode(b"12345678901234567890");
        assert_eq!(totp::code(&secret, totp::step_at(59)).expect("code"), "287082");
        assert_eq!(totp::code(&secret, totp::step_at(1_111_111_109)).expect("code"), "081804");
    }

    #[test]
    fn a_code_from_the_previous_step_is_accepted_but_not_one_from_long_ago() {
        let secret = totp::new_secret().expect("secret");
        let now = 1_800_000_000;
        let prev = totp::code(&secret, totp::step_at(now) - 1).expect("code");
        assert_eq!(totp::matching_step(&secret, &prev, now).expect("ok"), Some(totp::step_at(now) - 1));
        let old = totp::code(&secret, totp::step_at(now) - 5).expect("code");
        assert_eq!(totp::matching_step(&secret, &old, now).expect("ok"), None);
        assert_eq!(totp::matching_step(&secret, "12ab56", now).expect("ok"), None);
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong horse battery", &h));
        assert!(!verify_password("x", "not a hash"));
    }
}
