//! Applies the plain SQL files of `sql/migrations` in order, once each.
//!
//! All pending migrations run in one transaction that first takes a transaction-scoped
//! advisory lock, so two runners started at once serialize: the second waits, then finds
//! nothing to do. Each applied file's SHA-256 is recorded; an applied file that was edited
//! afterwards stops the runner instead of leaving schemas that differ between databases.

use sha2::{Digest, Sha256};
use tokio_postgres::{Client, error::SqlState};

use super::DbError;
use crate::tls::Endpoint;

pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, in order. A test checks that this list and `sql/migrations/` agree.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "core",
        sql: include_str!("../../../sql/migrations/0001_core.sql"),
    },
    Migration {
        version: 2,
        name: "scheduling",
        sql: include_str!("../../../sql/migrations/0002_scheduling.sql"),
    },
    Migration {
        version: 3,
        name: "outbound",
        sql: include_str!("../../../sql/migrations/0003_outbound.sql"),
    },
    Migration {
        version: 4,
        name: "reminders",
        sql: include_str!("../../../sql/migrations/0004_reminders.sql"),
    },
    Migration {
        version: 5,
        name: "conversation",
        sql: include_str!("../../../sql/migrations/0005_conversation.sql"),
    },
    Migration {
        version: 6,
        name: "guided",
        sql: include_str!("../../../sql/migrations/0006_guided.sql"),
    },
    Migration {
        version: 7,
        name: "retention_and_traces",
        sql: include_str!("../../../sql/migrations/0007_retention_and_traces.sql"),
    },
    Migration {
        version: 8,
        name: "api",
        sql: include_str!("../../../sql/migrations/0008_api.sql"),
    },
    Migration {
        version: 9,
        name: "business_and_audit",
        sql: include_str!("../../../sql/migrations/0009_business_and_audit.sql"),
    },
    Migration {
        version: 10,
        name: "api_keys",
        sql: include_str!("../../../sql/migrations/0010_api_keys.sql"),
    },
    Migration {
        version: 11,
        name: "conversations_by_people",
        sql: include_str!("../../../sql/migrations/0011_conversations_by_people.sql"),
    },
    Migration {
        version: 12,
        name: "read_cache",
        sql: include_str!("../../../sql/migrations/0012_read_cache.sql"),
    },
    Migration {
        version: 13,
        name: "operator_grants",
        sql: include_str!("../../../sql/migrations/0013_operator_grants.sql"),
    },
    Migration {
        version: 14,
        name: "staff_welcome",
        sql: include_str!("../../../sql/migrations/0014_staff_welcome.sql"),
    },
    Migration {
        version: 15,
        name: "holds",
        sql: include_str!("../../../sql/migrations/0015_holds.sql"),
    },
    Migration {
        version: 16,
        name: "service_cutoff",
        sql: include_str!("../../../sql/migrations/0016_service_cutoff.sql"),
    },
    Migration {
        version: 17,
        name: "deposits",
        sql: include_str!("../../../sql/migrations/0017_deposits.sql"),
    },
    Migration {
        version: 18,
        name: "no_show_forfeits",
        sql: include_str!("../../../sql/migrations/0018_no_show_forfeits.sql"),
    },
];

/// Demo data (`cita-migrate --seed`); each file is idempotent.
pub const SEEDS: &[(&str, &str)] = &[("demo", include_str!("../../../sql/seed/demo.sql"))];

/// An arbitrary constant that identifies the migration lock among advisory locks.
const LOCK_KEY: i64 = 0x0C17_A000_0001;

/// Applies pending migrations and returns the versions it applied.
pub async fn migrate(client: &mut Client) -> Result<Vec<i32>, DbError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    integer PRIMARY KEY,
             name       text NOT NULL,
             checksum   text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await?;
    let applied: Vec<(i32, String)> = tx
        .query(
            "SELECT version, checksum FROM schema_migrations ORDER BY version",
            &[],
        )
        .await?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();

    if let Some((unknown, _)) = applied
        .iter()
        .find(|(version, _)| !MIGRATIONS.iter().any(|m| m.version == *version))
    {
        return Err(DbError::UnknownMigration(*unknown));
    }

    let mut newly_applied = Vec::new();
    for migration in MIGRATIONS {
        let checksum = hex::encode(Sha256::digest(migration.sql.as_bytes()));
        match applied
            .iter()
            .find(|(version, _)| *version == migration.version)
        {
            Some((_, recorded)) if *recorded == checksum => continue,
            Some(_) => {
                return Err(DbError::EditedMigration {
                    version: migration.version,
                    name: migration.name.to_owned(),
                });
            }
            None => {}
        }
        tx.batch_execute(migration.sql).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            &[&migration.version, &migration.name, &checksum],
        )
        .await?;
        newly_applied.push(migration.version);
    }
    tx.commit().await?;
    Ok(newly_applied)
}

/// Loads the demo data.
pub async fn seed(client: &mut Client) -> Result<(), DbError> {
    let tx = client.transaction().await?;
    for (_, sql) in SEEDS {
        tx.batch_execute(sql).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Creates the database named in `url` if it does not exist yet, through the `postgres`
/// maintenance database of the same server. Returns whether it created it.
pub async fn create_database_if_missing(url: &Endpoint) -> Result<bool, DbError> {
    let (config, connector) = super::connect::prepare(url)?;
    match connector.connect(&config).await {
        Ok(_) => return Ok(false),
        Err(e) if e.code() == Some(&SqlState::INVALID_CATALOG_NAME) => {}
        Err(e) => return Err(e.into()),
    }
    let name = config.get_dbname().unwrap_or("postgres").to_owned();
    let mut maintenance = config.clone();
    maintenance.dbname("postgres");
    let (client, driver) = connector.connect(&maintenance).await?;
    let created = match client
        .batch_execute(&format!(
            "CREATE DATABASE \"{}\"",
            name.replace('"', "\"\"")
        ))
        .await
    {
        Ok(()) => true,
        // Someone else created it in the meantime.
        Err(e) if e.code() == Some(&SqlState::DUPLICATE_DATABASE) => false,
        Err(e) => return Err(e.into()),
    };
    drop(client);
    let _ = driver.await;
    Ok(created)
}
