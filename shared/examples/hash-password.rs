//! Prints the argon2id hash of a password read from standard input, for `SWITCHBOARD_USERS`.
//!
//! `printf '%s' 'the password' | cargo run -q -p shared --example hash-password`

use std::io::Read;

use secrecy::SecretString;

fn main() {
    let mut password = String::new();
    if let Err(err) = std::io::stdin().read_to_string(&mut password) {
        eprintln!("could not read the password from standard input: {err}");
        std::process::exit(1);
    }
    let password = password.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        eprintln!("give the password on standard input");
        std::process::exit(1);
    }
    let digest = shared::password::hash(&SecretString::from(password.to_string()));
    println!("{}", digest.as_str());
}
