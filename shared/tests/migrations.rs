//! The migration runner and the schema's invariants, against a real PostgreSQL.

use cita_shared::{
    db::{self, DbError},
    testing::TestDb,
};
use tokio_postgres::error::SqlState;

#[tokio::test]
async fn migrations_apply_on_an_empty_database_and_again_as_a_no_op() {
    let test_db = TestDb::empty().await;
    let mut client = test_db.pool.get().await.unwrap();

    let first = db::migrate(&mut client).await.unwrap();
    let second = db::migrate(&mut client).await.unwrap();

    let all: Vec<i32> = db::MIGRATIONS.iter().map(|m| m.version).collect();
    assert_eq!(first, all);
    assert!(second.is_empty(), "second run applied {second:?}");
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'
             AND table_name IN ('organizations', 'appointments', 'messages', 'outbox')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 4);
}

#[tokio::test]
async fn two_runners_at_once_apply_each_migration_once() {
    let test_db = TestDb::empty().await;
    let mut a = test_db.pool.get().await.unwrap();
    let mut b = test_db.pool.get().await.unwrap();

    let (ra, rb) = tokio::join!(db::migrate(&mut a), db::migrate(&mut b));

    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(
        ra.len() + rb.len(),
        db::MIGRATIONS.len(),
        "one runner applies, the other waits: {ra:?} {rb:?}"
    );
    let rows: i64 = a
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows as usize, db::MIGRATIONS.len());
}

#[tokio::test]
async fn an_applied_migration_that_was_edited_is_refused() {
    let test_db = TestDb::migrated().await;
    let mut client = test_db.pool.get().await.unwrap();
    client
        .execute(
            "UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1",
            &[],
        )
        .await
        .unwrap();

    let error = db::migrate(&mut client).await.unwrap_err();

    assert!(
        matches!(error, DbError::EditedMigration { version: 1, .. }),
        "{error}"
    );
}

#[tokio::test]
async fn a_database_newer_than_the_binary_is_refused() {
    let test_db = TestDb::migrated().await;
    let mut client = test_db.pool.get().await.unwrap();
    client
        .execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'future', 'x')",
            &[],
        )
        .await
        .unwrap();

    let error = db::migrate(&mut client).await.unwrap_err();

    assert!(matches!(error, DbError::UnknownMigration(9999)), "{error}");
}

#[test]
fn every_file_in_sql_migrations_is_listed_in_order() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../sql/migrations");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".sql"))
        .collect();
    files.sort();
    let listed: Vec<String> = db::MIGRATIONS
        .iter()
        .map(|m| format!("{:04}_{}.sql", m.version, m.name))
        .collect();
    assert_eq!(files, listed);
}

#[tokio::test]
async fn the_demo_seed_loads_twice_without_change() {
    let test_db = TestDb::migrated().await;
    let mut client = test_db.pool.get().await.unwrap();

    db::seed(&mut client).await.unwrap();
    db::seed(&mut client).await.unwrap();

    let row = client
        .query_one(
            "SELECT o.timezone, o.currency,
                    (SELECT count(*) FROM staff WHERE organization_id = o.id),
                    (SELECT count(*) FROM service_types WHERE organization_id = o.id AND currency = 'MXN'),
                    (SELECT count(*) FROM business_hours WHERE organization_id = o.id AND weekday = 1)
             FROM organizations o WHERE o.slug = 'barberia-el-centro'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "America/Mexico_City");
    assert_eq!(row.get::<_, String>(1), "MXN");
    assert_eq!(row.get::<_, i64>(2), 2);
    assert_eq!(row.get::<_, i64>(3), 3);
    // Morning and afternoon shifts: the lunch break is the gap between them.
    assert_eq!(row.get::<_, i64>(4), 2);
}

/// Two organizations, each with two staff, a customer and a service.
async fn two_tenants(client: &tokio_postgres::Client) {
    client
        .batch_execute(
            "INSERT INTO organizations (id, slug, name, timezone) VALUES
               ('00000000-0000-4000-8000-00000000000a', 'a', 'A', 'America/Mexico_City'),
               ('00000000-0000-4000-8000-00000000000b', 'b', 'B', 'America/Bogota');
             INSERT INTO staff (id, organization_id, name, phone) VALUES
               ('00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-00000000000a', 'Ana', '525511111111'),
               ('00000000-0000-4000-8000-0000000000a2', '00000000-0000-4000-8000-00000000000a', 'Beto', '525522222222'),
               ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-00000000000b', 'Caro', '573001111111');
             INSERT INTO customers (id, organization_id, wa_id, phone) VALUES
               ('00000000-0000-4000-8000-0000000000ac', '00000000-0000-4000-8000-00000000000a', '5215533333333', '525533333333'),
               ('00000000-0000-4000-8000-0000000000bc', '00000000-0000-4000-8000-00000000000b', '573004444444', '573004444444');
             INSERT INTO service_types (id, organization_id, name, duration_minutes, price_minor, currency) VALUES
               ('00000000-0000-4000-8000-0000000000a5', '00000000-0000-4000-8000-00000000000a', 'Corte', 45, 25000, 'MXN'),
               ('00000000-0000-4000-8000-0000000000b5', '00000000-0000-4000-8000-00000000000b', 'Corte', 45, 3000000, 'COP');",
        )
        .await
        .unwrap();
}

/// Books organization `org`'s customer and service with `staff` on 1 December 2026,
/// between two local times in Mexico City (UTC-6).
async fn book(
    client: &tokio_postgres::Client,
    org: &str,
    staff: &str,
    status: &str,
    starts: &str,
    ends: &str,
) -> Result<u64, tokio_postgres::Error> {
    let sql = format!(
        "INSERT INTO appointments (organization_id, customer_id, staff_id, service_type_id, starts_at, ends_at,
                                   status, source, hold_expires_at)
         VALUES ('00000000-0000-4000-8000-00000000000{org}', '00000000-0000-4000-8000-0000000000{org}c',
                 '00000000-0000-4000-8000-0000000000{staff}', '00000000-0000-4000-8000-0000000000{org}5',
                 '2026-12-01 {starts}-06', '2026-12-01 {ends}-06', '{status}', 'whatsapp',
                 CASE WHEN '{status}' = 'pending' THEN timestamptz '2026-12-01 {starts}-06' END)"
    );
    client.execute(sql.as_str(), &[]).await
}

#[tokio::test]
async fn one_staff_member_cannot_have_two_overlapping_live_appointments() {
    let test_db = TestDb::migrated().await;
    let client = test_db.pool.get().await.unwrap();
    two_tenants(&client).await;
    book(&client, "a", "a1", "confirmed", "10:00", "10:45")
        .await
        .unwrap();

    let overlapping = book(&client, "a", "a1", "pending", "10:30", "11:15").await;

    let error = overlapping.unwrap_err();
    assert_eq!(
        error.code(),
        Some(&SqlState::EXCLUSION_VIOLATION),
        "{error}"
    );
    assert_eq!(
        error.as_db_error().unwrap().constraint(),
        Some("appointments_no_overlap")
    );
}

#[tokio::test]
async fn overlaps_are_fine_for_another_staff_member_back_to_back_or_when_cancelled() {
    let test_db = TestDb::migrated().await;
    let client = test_db.pool.get().await.unwrap();
    two_tenants(&client).await;
    book(&client, "a", "a1", "confirmed", "10:00", "10:45")
        .await
        .unwrap();

    // Another staff member at the same time.
    book(&client, "a", "a2", "confirmed", "10:00", "10:45")
        .await
        .unwrap();
    // The same staff member, starting when the first ends.
    book(&client, "a", "a1", "confirmed", "10:45", "11:30")
        .await
        .unwrap();
    // Cancelled and no-show appointments don't hold the slot.
    book(&client, "a", "a1", "cancelled", "10:15", "10:30")
        .await
        .unwrap();
    book(&client, "a", "a1", "no_show", "10:15", "10:30")
        .await
        .unwrap();

    let live: i64 = client
        .query_one(
            "SELECT count(*) FROM appointments WHERE status IN ('pending', 'confirmed')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(live, 3);
}

#[tokio::test]
async fn an_appointment_cannot_point_at_another_organizations_staff() {
    let test_db = TestDb::migrated().await;
    let client = test_db.pool.get().await.unwrap();
    two_tenants(&client).await;

    // Organization a's customer and service with organization b's staff member.
    let crossed = book(&client, "a", "b1", "confirmed", "10:00", "10:45").await;

    let error = crossed.unwrap_err();
    assert_eq!(
        error.code(),
        Some(&SqlState::FOREIGN_KEY_VIOLATION),
        "{error}"
    );
}

#[tokio::test]
async fn whatsapp_message_ids_are_unique() {
    let test_db = TestDb::migrated().await;
    let client = test_db.pool.get().await.unwrap();
    two_tenants(&client).await;
    client
        .batch_execute(
            "INSERT INTO conversations (id, organization_id, wa_id, customer_id) VALUES
               ('00000000-0000-4000-8000-0000000000cc', '00000000-0000-4000-8000-00000000000a',
                '5215533333333', '00000000-0000-4000-8000-0000000000ac')",
        )
        .await
        .unwrap();
    let insert = "INSERT INTO messages (organization_id, conversation_id, direction, sender_kind, content_kind, body, wa_message_id, status)
                  VALUES ('00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-0000000000cc',
                          'inbound', 'customer', 'text', 'hola', 'wamid.SAME', 'received')";
    client.execute(insert, &[]).await.unwrap();

    let duplicate = client.execute(insert, &[]).await.unwrap_err();

    assert_eq!(duplicate.code(), Some(&SqlState::UNIQUE_VIOLATION));
}
