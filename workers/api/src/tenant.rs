//! Reads under row-level security: a transaction that names its organization first.
//! Every tenant table's policy compares `organization_id` with that setting, so a query
//! that forgets a `WHERE organization_id` still sees one organization, and a transaction
//! that never names one sees nothing.

use deadpool_postgres::{Object, Transaction};
use uuid::Uuid;

use crate::problem::ApiResult;

/// Opens a read-only transaction on `client` for `organization_id`.
pub async fn read(client: &mut Object, organization_id: Uuid) -> ApiResult<Transaction<'_>> {
    let tx = client.build_transaction().read_only(true).start().await?;
    name(&tx, organization_id).await?;
    Ok(tx)
}

/// Opens a read-write transaction (for the API's own tables) for `organization_id`.
pub async fn write(client: &mut Object, organization_id: Uuid) -> ApiResult<Transaction<'_>> {
    let tx = client.transaction().await?;
    name(&tx, organization_id).await?;
    Ok(tx)
}

async fn name(tx: &Transaction<'_>, organization_id: Uuid) -> ApiResult<()> {
    let statement = tx
        .prepare_cached("SELECT set_config('cita.organization_id', $1, true)")
        .await?;
    tx.execute(&statement, &[&organization_id.to_string()])
        .await?;
    Ok(())
}
