//! Runs the API: the HTTP server on `CITA_LISTEN_ADDR` beside the worker runtime (admin
//! port, publisher for login codes, the live event feed), on a pool whose connections
//! take the `cita_api` role.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use cita_shared::{
    amqp::{rpc::RpcClient, topology::SCHEDULING_RPC},
    clock::Clock,
    config::Settings,
    db,
    runtime::Worker,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    live::{self, Live},
    reads::{self, ReadCache},
    routes,
    state::AppState,
};

/// How long the start waits for the live event feed before serving without it.
const FEED_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] cita_shared::config::ConfigError),
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error("cannot reach Redis for the login rate limits")]
    Redis(#[from] redis::RedisError),
}

/// Serves until `shutdown`: requests in hand finish, then the runtime stops in order.
pub async fn serve(
    settings: &Settings,
    listener: TcpListener,
    admin_listener: TcpListener,
    clock: Clock,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    let keys = settings.api.require_token_keys()?.to_vec();
    let pool = db::pool_as(
        &settings.database_url,
        settings.database_pool_size,
        &settings.api.database_role,
    )?;
    let redis = cita_shared::redis::connect(&settings.redis_url, Duration::from_secs(2)).await?;
    let mut worker = Worker::with_pool(settings, pool.clone(), clock.clone(), shutdown.clone(), 1);
    let live = Live::default();
    let (bound, mut is_bound) = tokio::sync::watch::channel(false);
    worker.spawn(live::feed(
        settings.amqp_url.clone(),
        worker.topology.clone(),
        live.clone(),
        bound,
        shutdown.clone(),
    ));
    // Streams opened before the feed is bound would miss events until it is.
    if tokio::time::timeout(FEED_WAIT, is_bound.wait_for(|bound| *bound))
        .await
        .is_err()
    {
        tracing::warn!("the live event feed is not bound yet; serving without it meanwhile");
    }
    let reads = ReadCache::default();
    reads.register(worker.registry());
    worker.spawn(reads::follow(
        settings.database_url.clone(),
        reads.clone(),
        shutdown.clone(),
    ));
    let state = Arc::new(AppState {
        pool,
        scheduling: RpcClient::new(
            settings.amqp_url.clone(),
            "cita-api-rpc",
            worker.topology.clone(),
            SCHEDULING_RPC,
        ),
        publisher: worker.publisher.clone(),
        topology: worker.topology.clone(),
        redis,
        keys,
        clock,
        rpc_timeout: settings.api.rpc_timeout,
        session_requests_per_minute: settings.api.session_requests_per_minute,
        live,
        reads,
        shutdown: shutdown.clone(),
    });
    // The API under /v1 and the dashboard's pages beside it, on one origin.
    let app = crate::web::router()
        .with_state(state.clone())
        .merge(routes::router(state))
        .into_make_service_with_connect_info::<SocketAddr>();
    tracing::info!(listen = %settings.listen_addr, "cita-api serving");
    worker.spawn(async move {
        if let Err(error) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
        {
            tracing::error!(%error, "the HTTP server failed");
        }
    });
    worker.run(admin_listener).await;
    Ok(())
}
