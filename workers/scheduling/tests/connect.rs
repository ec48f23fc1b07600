//! `cita-scheduling connect-mercadopago`: the business's Mercado Pago token is read from
//! standard input, stored sealed, and opens again for the seller notifications name.

mod common;

use std::{
    io::Write,
    process::{Command, Stdio},
};

use cita_scheduling::payments::accounts;
use cita_shared::{crypto::Keyring, secret::Secret};
use common::Shop;

const SECRETS_KEY: &str = "t1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn connect(shop: &Shop, organization: &str, token: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cita-scheduling"))
        .args(["connect-mercadopago", organization, "2025436155"])
        .env("CITA_DATABASE_URL", shop.db.url.expose())
        .env("CITA_SECRETS_KEY", SECRETS_KEY)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(token.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn the_token_is_stored_sealed_for_the_business_named_by_slug() {
    let shop = Shop::open().await;
    let slug = cita_shared::testing::barbershop::SLUG;
    let connected = connect(&shop, slug, "APP_USR-secret-1234\n");
    assert!(connected.status.success(), "{connected:?}");
    let stored: Vec<u8> = shop
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query_one("SELECT token_ciphertext FROM payment_accounts", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        !String::from_utf8_lossy(&stored).contains("APP_USR"),
        "sealed, not stored in the clear"
    );
    let keyring = Keyring::parse(&Secret::new(SECRETS_KEY)).unwrap();
    let account = accounts::by_seller(&shop.db.pool, &keyring, "2025436155")
        .await
        .unwrap()
        .expect("the seller's account");
    assert_eq!(account.organization_id, shop.org);
    assert_eq!(account.token.expose(), "APP_USR-secret-1234");
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&connected.stdout),
        String::from_utf8_lossy(&connected.stderr)
    );
    assert!(!logs.contains("APP_USR-secret"), "{logs}");

    let unknown = connect(&shop, "no-such-shop", "APP_USR-x");
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("no organization with id or slug"),
        "{unknown:?}"
    );
    let empty = connect(&shop, slug, "  \n");
    assert!(!empty.status.success());
}
