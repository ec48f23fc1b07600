//! One customer per person, whichever form of their number arrives first: WhatsApp's
//! (`521` + 10 digits for a Mexican mobile) or the one staff type (`52` + 10 digits).

use cita_shared::{customers, testing::TestDb};
use uuid::Uuid;

async fn organization(db: &TestDb) -> Uuid {
    db.pool
        .get()
        .await
        .unwrap()
        .query_one(
            "INSERT INTO organizations (slug, name, timezone) VALUES ('shop', 'Shop', 'America/Mexico_City') RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_writer_and_a_walk_in_of_the_same_number_are_one_customer() {
    let db = TestDb::migrated().await;
    let org = organization(&db).await;
    let client = db.pool.get().await.unwrap();

    let writer = customers::for_sender(&client, org, "5215512345678", None, Some("Ana WA"))
        .await
        .unwrap();
    let walk_in = customers::for_phone(&client, org, "525512345678", Some("Ana"))
        .await
        .unwrap();
    assert_eq!(writer, walk_in);
    assert_eq!(
        customers::find(&client, org, "525512345678").await.unwrap(),
        Some(writer)
    );

    // The other way round: staff typed the number first, then the person writes.
    let typed = customers::for_phone(&client, org, "525598765432", Some("Luis"))
        .await
        .unwrap();
    let wrote = customers::for_sender(&client, org, "5215598765432", None, Some("Luisito"))
        .await
        .unwrap();
    assert_eq!(typed, wrote);
    let (name, wa_id): (String, String) = {
        let row = client
            .query_one("SELECT name, wa_id FROM customers WHERE id = $1", &[&typed])
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(name, "Luis", "the name staff gave stands");
    assert_eq!(wa_id, "5215598765432");
    let count: i64 = client
        .query_one("SELECT count(*) FROM customers", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 2);
}
