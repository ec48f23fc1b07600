//! Key rotation: tokens sealed with an old key are re-sealed with the new one, and the
//! worker keeps sending with them once the old key is gone.

mod common;

use cita_outbound::tokens;
use cita_shared::{crypto::Keyring, secret::Secret};
use common::{PATIENCE, SECRETS_KEY, TOKEN, World};

const NEW_KEY: &str = "t2:ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

#[tokio::test]
async fn rotating_the_secrets_key_keeps_tokens_usable() {
    let both = Keyring::parse(&Secret::new(format!("{NEW_KEY},{SECRETS_KEY}"))).unwrap();
    let mut world = World::with(&[("CITA_SECRETS_KEY", NEW_KEY)]).await;

    assert_eq!(tokens::reseal(&world.db.pool, &both).await.unwrap(), 1);
    assert_eq!(
        tokens::reseal(&world.db.pool, &both).await.unwrap(),
        0,
        "nothing left"
    );
    let client = world.db.pool.get().await.unwrap();
    let key_id: String = client
        .query_one(
            "SELECT access_token_key_id FROM organizations WHERE id = $1",
            &[&world.organization],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(key_id, "t2");
    drop(client);

    // The worker now runs with the new key alone.
    world.start().await;
    let send = world.text("después de rotar");
    world.publish(&send).await;
    world.wait_status(send.command_id, "sent").await;
    let sent = world.graph.wait_for_sends(1, PATIENCE).await;
    assert_eq!(
        sent[0].authorization.as_deref(),
        Some(&*format!("Bearer {TOKEN}"))
    );
    world.stop().await;
}
