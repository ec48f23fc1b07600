//! What every request handler shares.

use std::{sync::Arc, time::Duration};

use cita_shared::{
    amqp::{Publisher, Topology, rpc::RpcClient},
    clock::Clock,
    config::TokenKey,
    contracts::{
        outbound::Command,
        scheduling::{Reply, Request},
    },
};
use deadpool_postgres::{Object, Pool};
use redis::aio::ConnectionManager;
use tokio_util::sync::CancellationToken;

use crate::{
    live::Live,
    problem::{ApiError, ApiResult},
    reads::ReadCache,
};

pub type Shared = Arc<AppState>;

pub struct AppState {
    /// Connections that have taken the `cita_api` role: row-level security applies.
    pub pool: Pool,
    pub scheduling: RpcClient,
    pub publisher: Arc<Publisher>,
    pub topology: Topology,
    pub redis: ConnectionManager,
    pub keys: Vec<TokenKey>,
    pub clock: Clock,
    pub rpc_timeout: Duration,
    /// Requests a login session may make in a minute.
    pub session_requests_per_minute: u64,
    /// The organization's live events, from `cita.events`.
    pub live: Live,
    /// Appointment lists, dropped as the database's changes are heard.
    pub reads: ReadCache,
    /// Ends the live streams when the server stops (they would hold it open).
    pub shutdown: CancellationToken,
}

impl AppState {
    pub async fn db(&self) -> ApiResult<Object> {
        Ok(self
            .pool
            .get()
            .await
            .map_err(cita_shared::error::Infra::from)?)
    }

    /// Publishes a send command to outbound, confirmed by the broker before it returns.
    pub async fn send(&self, command: &Command) -> ApiResult<()> {
        self.publisher
            .send(&self.topology, command)
            .await
            .map_err(|error| {
                tracing::warn!(error = %cita_shared::error::Chain(&error), "outbound.send refused a command");
                ApiError::WritesUnavailable
            })
    }

    /// Asks scheduling. No answer (the broker or scheduling away) is
    /// [`ApiError::WritesUnavailable`]: a 503 with `Retry-After`, never a guess.
    pub async fn schedule(
        &self,
        request: &Request,
    ) -> ApiResult<cita_shared::contracts::scheduling::Outcome> {
        match self
            .scheduling
            .call::<_, Reply>(request, self.rpc_timeout)
            .await
        {
            Ok(Reply::Ok(outcome)) => {
                // This replica's next read sees the change even if the database's
                // notification of it is still on its way.
                self.reads.invalidate(request.actor().organization_id);
                Ok(outcome)
            }
            Ok(Reply::Error(error)) => Err(ApiError::Scheduling(error)),
            Err(error) => {
                tracing::warn!(request = request.name(), error = %cita_shared::error::Chain(&error), "scheduling did not answer");
                Err(ApiError::WritesUnavailable)
            }
        }
    }
}
