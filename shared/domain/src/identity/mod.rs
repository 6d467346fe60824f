//! People and their credentials.

mod email;
pub mod hashing;
mod password;
pub mod recovery;
pub mod second_factor;
pub mod single_sign_on;
pub mod tokens;

pub use email::{Email, EmailError};
pub use password::{Password, PasswordError};
