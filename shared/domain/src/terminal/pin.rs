//! Booking PINs: six digits, derived from the booking's id under a key only the service holds,
//! so no PIN is stored anywhere and any function with the key can show or check one.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The PIN of booking `booking_id` of `tenant_id` under `key` (the signing secret's
/// `booking-pin` key).
pub fn booking_pin(key: &[u8; 32], tenant_id: &str, booking_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(tenant_id.as_bytes());
    mac.update(b"/");
    mac.update(booking_id.as_bytes());
    let bytes = mac.finalize().into_bytes();
    let number = u64::from_be_bytes(bytes[..8].try_into().expect("8 bytes"));
    format!("{:06}", number % 1_000_000)
}

/// Whether `given` is the booking's PIN, compared in constant time.
pub fn pin_matches(key: &[u8; 32], tenant_id: &str, booking_id: &str, given: &str) -> bool {
    let pin = booking_pin(key, tenant_id, booking_id);
    pin.as_bytes().ct_eq(given.trim().as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_six_digits_stable_and_differ_per_booking_and_key() {
        let key = [7u8; 32];
        let pin = booking_pin(&key, "t", "bkg_1");
        assert_eq!(pin.len(), 6);
        assert!(pin.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(pin, booking_pin(&key, "t", "bkg_1"));
        assert!(pin_matches(&key, "t", "bkg_1", &pin));
        assert!(!pin_matches(&key, "t", "bkg_1", "12345"));
        let others: std::collections::HashSet<String> = (0..50)
            .map(|i| booking_pin(&key, "t", &format!("bkg_{i}")))
            .collect();
        assert!(others.len() > 45, "PINs spread: {}", others.len());
        assert_ne!(booking_pin(&[8u8; 32], "t", "bkg_1"), pin);
    }
}
