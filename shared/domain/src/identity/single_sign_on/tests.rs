use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;

use super::*;

const ISSUER: &str = "https://idp.example";
const CLIENT: &str = "steward";
const NONCE: &str = "n-0S6_WzA2Mj";
const NOW: i64 = 1_800_000_000;

/// A P-256 key of the provider: what signs, and its public half as a JWK named `kid`.
struct ProviderKey {
    pkcs8: Vec<u8>,
    jwk: Value,
}

impl ProviderKey {
    fn new(kid: &str) -> Self {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        // The uncompressed point: 0x04, x, y.
        let point = pair.public_key().as_ref();
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        Self {
            pkcs8: pkcs8.as_ref().to_vec(),
            jwk: json!({
                "kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
                "x": b64(&point[1..33]), "y": b64(&point[33..]),
            }),
        }
    }

    fn sign(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_der(&self.pkcs8)).unwrap()
    }
}

fn keys(of: &[&ProviderKey]) -> JwkSet {
    serde_json::from_value(json!({ "keys": of.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() }))
        .unwrap()
}

fn claims() -> Value {
    json!({
        "iss": ISSUER, "aud": CLIENT, "sub": "248289761001", "exp": NOW + 300, "iat": NOW - 5,
        "nonce": NONCE, "email": "Ada@People.test", "email_verified": true, "name": "Ada",
        "groups": ["room-admins", "everyone"],
    })
}

fn expected() -> Expected<'static> {
    Expected {
        issuer: ISSUER,
        client_id: CLIENT,
        nonce: NONCE,
        now: NOW,
        groups_claim: "groups",
    }
}

fn with(change: impl FnOnce(&mut Value)) -> Value {
    let mut claims = claims();
    change(&mut claims);
    claims
}

#[test]
fn a_token_the_provider_signed_for_this_sign_in_names_the_person_and_their_groups() {
    let key = ProviderKey::new("k1");
    let identity = verify(&key.sign("k1", &claims()), &keys(&[&key]), expected()).unwrap();
    assert_eq!(identity.subject, "248289761001");
    assert_eq!(identity.email, "ada@people.test");
    assert_eq!(identity.name.as_deref(), Some("Ada"));
    assert_eq!(
        identity.groups,
        BTreeSet::from(["everyone".to_owned(), "room-admins".to_owned()])
    );
}

#[test]
fn each_failed_check_is_named() {
    let key = ProviderKey::new("k1");
    let cases: Vec<(Value, IdTokenError)> = vec![
        (
            with(|c| c["iss"] = json!("https://other.example")),
            IdTokenError::Issuer,
        ),
        (
            with(|c| c["aud"] = json!("someone-else")),
            IdTokenError::Audience,
        ),
        (
            with(|c| c["aud"] = json!([CLIENT, "someone-else"])),
            IdTokenError::Audience,
        ),
        (with(|c| c["exp"] = json!(NOW - 61)), IdTokenError::Expired),
        (
            with(|c| c["iat"] = json!(NOW + 120)),
            IdTokenError::IssuedAt,
        ),
        (
            with(|c| c["iat"] = json!(NOW - 3_600)),
            IdTokenError::IssuedAt,
        ),
        (with(|c| c["nonce"] = json!("another")), IdTokenError::Nonce),
        (
            with(|c| {
                c.as_object_mut()
                    .unwrap()
                    .remove("nonce")
                    .map(drop)
                    .unwrap()
            }),
            IdTokenError::Nonce,
        ),
        (
            with(|c| c["email_verified"] = json!(false)),
            IdTokenError::EmailNotVerified,
        ),
        (
            with(|c| {
                c.as_object_mut()
                    .unwrap()
                    .remove("email")
                    .map(drop)
                    .unwrap()
            }),
            IdTokenError::Missing("email"),
        ),
    ];
    for (claims, refusal) in cases {
        assert_eq!(
            verify(&key.sign("k1", &claims), &keys(&[&key]), expected()),
            Err(refusal.clone()),
            "{claims}"
        );
    }
    // Entra ID says the address is its domain owner's with `xms_edov` instead.
    let entra = with(|c| {
        c.as_object_mut().unwrap().remove("email_verified");
        c["xms_edov"] = json!(true);
    });
    let accepted = verify(&key.sign("k1", &entra), &keys(&[&key]), expected());
    assert!(accepted.is_ok(), "{accepted:?}");
    // Several audiences are accepted when the authorized party is this client.
    let several = with(|c| {
        c["aud"] = json!([CLIENT, "someone-else"]);
        c["azp"] = json!(CLIENT);
    });
    assert!(verify(&key.sign("k1", &several), &keys(&[&key]), expected()).is_ok());
}

#[test]
fn another_key_an_unknown_key_id_none_and_hmac_are_refused() {
    let key = ProviderKey::new("k1");
    let impostor = ProviderKey::new("k1");
    let known = keys(&[&key]);
    assert_eq!(
        verify(&impostor.sign("k1", &claims()), &known, expected()),
        Err(IdTokenError::Signature)
    );
    assert_eq!(
        verify(&impostor.sign("k2", &claims()), &known, expected()),
        Err(IdTokenError::UnknownKey)
    );
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let payload = b64(claims().to_string().as_bytes());
    let unsigned = format!("{}.{payload}.", b64(br#"{"alg":"none","kid":"k1"}"#));
    assert_eq!(
        verify(&unsigned, &known, expected()),
        Err(IdTokenError::Malformed)
    );
    // HS256 keyed with the provider's public key, which anyone can read.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("k1".into());
    let public = serde_json::to_vec(&key.jwk).unwrap();
    let hmac =
        jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(&public)).unwrap();
    assert_eq!(
        verify(&hmac, &known, expected()),
        Err(IdTokenError::Algorithm("HS256".into()))
    );
    assert_eq!(
        verify("not a token", &known, expected()),
        Err(IdTokenError::Malformed)
    );
}

#[test]
fn a_rotated_key_is_found_by_its_id_among_several() {
    let old = ProviderKey::new("old");
    let new = ProviderKey::new("new");
    let both = keys(&[&old, &new]);
    assert!(verify(&new.sign("new", &claims()), &both, expected()).is_ok());
    assert!(verify(&old.sign("old", &claims()), &both, expected()).is_ok());
}

#[test]
fn discovery_is_the_configured_issuers_and_offers_s256() {
    let metadata = |issuer: &str, methods: &[&str]| ProviderMetadata {
        issuer: issuer.into(),
        authorization_endpoint: format!("{issuer}/auth"),
        token_endpoint: format!("{issuer}/token"),
        jwks_uri: format!("{issuer}/jwks"),
        code_challenge_methods_supported: methods.iter().map(|m| (*m).to_owned()).collect(),
    };
    assert_eq!(metadata(ISSUER, &["S256"]).check(ISSUER), Ok(()));
    assert_eq!(metadata(ISSUER, &[]).check(ISSUER), Ok(()));
    assert_eq!(
        metadata(ISSUER, &["plain"]).check(ISSUER),
        Err(DiscoveryError::NoPkce)
    );
    assert!(matches!(
        metadata("https://evil.example", &["S256"]).check(ISSUER),
        Err(DiscoveryError::OtherIssuer { .. })
    ));
}

#[test]
fn the_code_challenge_is_rfc_7636s_example() {
    // RFC 7636, appendix B.
    assert_eq!(
        code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
}
