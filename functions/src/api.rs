//! The `api` function: the REST API of the local server (`tgdesk_api`'s
//! router, unchanged) behind API Gateway's REST proxy, through
//! `lambda_http`. What differs from the server is only the composition:
//! login counters in DynamoDB (every instance sees every attempt), events
//! onto the push queue (the sockets are API Gateway's), the wait for the
//! fleet under API Gateway's 29 s, and the caller's address from the
//! request context instead of a socket.

use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::Response;
use lambda_http::request::RequestContext;
use lambda_http::RequestExt;
use secrecy::{ExposeSecret, SecretString};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tgdesk_api::ApiState;
use tgdesk_aws::{session_sealer, AwsContext, AwsPorts, DynamoThrottle, KmsSealer, ENV_KMS_KEY};
use tgdesk_core::auth::{
    ensure_min_len, LoginThrottle, TokenService, ENV_JWT_SECRET, ENV_OPERATOR_TOKEN, MIN_JWT_SECRET, MIN_OPERATOR_TOKEN,
};
use tgdesk_core::ports::{SearchIndex, SessionSealer};
use tgdesk_core::push_queue::QueuedPush;
use tgdesk_core::usecases::Desk;
use tgdesk_telegram::{SessionCipher, StringSessionImporter, ENV_SESSION_KEY};

/// How long a request waits for the fleet (a login code, a send): under
/// API Gateway's 29 s integration limit, so a slow fleet gets the use
/// case's 504 `fleet_timeout`, not a gateway timeout that hides what
/// happened.
pub const FLEET_WAIT: Duration = Duration::from_secs(25);
/// Variable `lambda_http` reads: when set, a request's path is the one the
/// client asked for (`/api/me`), not prefixed with the stage (`/prod/api/me`),
/// which is what the router's routes are. The template sets it.
pub const ENV_IGNORE_STAGE: &str = "AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH";
/// Variable: lifetime of issued tokens (`12h` when unset).
pub const ENV_TOKEN_TTL: &str = "TGDESK_TOKEN_TTL";
/// Variable: the first admin's password; when set, a cold start makes sure
/// the tenant [`ENV_TENANT`] and its admin `admin` exist.
pub const ENV_ADMIN_PASSWORD: &str = "TGDESK_ADMIN_PASSWORD";
/// Variable: the first tenant's name (`demo` when unset).
pub const ENV_TENANT: &str = "TGDESK_TENANT";

/// What the function is configured with, besides the AWS context.
pub struct ApiSettings {
    /// Signs and checks agents' tokens.
    pub jwt_secret: SecretString,
    /// Lifetime of issued tokens.
    pub token_ttl: Duration,
    /// Bearer token of the operator API (off when unset).
    pub operator_token: Option<SecretString>,
    /// Seals Telegram sessions and 2FA passwords (shared with the fleet):
    /// KMS when [`ENV_KMS_KEY`] names a key, else the key in [`ENV_SESSION_KEY`].
    pub sealer: Arc<dyn SessionSealer>,
    /// The first tenant and its admin's password, made sure of at start.
    pub first_admin: Option<(String, SecretString)>,
}

impl ApiSettings {
    /// The token service of a function that only checks tokens
    /// (`ws-connect`): [`ENV_JWT_SECRET`] and [`ENV_TOKEN_TTL`].
    pub fn token_service_from_env() -> Result<TokenService, String> {
        let secret = std::env::var(ENV_JWT_SECRET).map_err(|_| format!("{ENV_JWT_SECRET} is not set"))?;
        ensure_min_len(ENV_JWT_SECRET, &secret, MIN_JWT_SECRET)?;
        Ok(TokenService::new(secret.as_bytes(), token_ttl_from_env()?))
    }

    /// Reads the settings from the function's environment; the error names
    /// the variable that is missing or wrong.
    pub fn from_env(ctx: &AwsContext) -> Result<Self, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if std::env::var_os(ENV_IGNORE_STAGE).is_none() {
            return Err(format!("{ENV_IGNORE_STAGE} must be set: the routes have no stage in their paths"));
        }
        let jwt_secret = var(ENV_JWT_SECRET).ok_or_else(|| format!("{ENV_JWT_SECRET} is not set"))?;
        ensure_min_len(ENV_JWT_SECRET, &jwt_secret, MIN_JWT_SECRET)?;
        let operator_token = var(ENV_OPERATOR_TOKEN);
        if let Some(token) = &operator_token {
            ensure_min_len(ENV_OPERATOR_TOKEN, token, MIN_OPERATOR_TOKEN)?;
        }
        let token_ttl = token_ttl_from_env()?;
        let key = match var(ENV_SESSION_KEY) {
            Some(key) => Some(Arc::new(SessionCipher::from_base64(&key, ENV_SESSION_KEY).map_err(|e| e.to_string())?)),
            None => None,
        };
        let sealer: Arc<dyn SessionSealer> = match (var(ENV_KMS_KEY), key) {
            (kms_key, Some(key)) => session_sealer(ctx, kms_key, key),
            (Some(key_id), None) => Arc::new(KmsSealer::new(ctx, key_id)),
            (None, None) => return Err(format!("neither {ENV_KMS_KEY} nor {ENV_SESSION_KEY} is set")),
        };
        let tenant = var(ENV_TENANT).unwrap_or_else(|| "demo".to_owned());
        Ok(Self {
            jwt_secret: jwt_secret.into(),
            token_ttl,
            operator_token: operator_token.map(Into::into),
            sealer,
            first_admin: var(ENV_ADMIN_PASSWORD).map(|p| (tenant, p.into())),
        })
    }
}

/// [`ENV_TOKEN_TTL`], 12 hours when unset.
fn token_ttl_from_env() -> Result<Duration, String> {
    match std::env::var(ENV_TOKEN_TTL).ok().filter(|v| !v.is_empty()) {
        Some(text) => humantime::parse_duration(&text).map_err(|e| format!("{ENV_TOKEN_TTL}: {e}")),
        None => Ok(Duration::from_secs(12 * 3600)),
    }
}

/// Opens the desk the function serves: the AWS adapters with events onto
/// the push queue, login counters in DynamoDB, sessions sealed with the
/// deployment's key, and the first admin when configured.
pub async fn open_desk(
    ctx: &AwsContext,
    settings: &ApiSettings,
    search: Option<Arc<dyn SearchIndex>>,
) -> Result<Desk, String> {
    let importer = StringSessionImporter::new(settings.sealer.clone());
    open_desk_importing(ctx, settings, search, importer).await
}

/// [`open_desk`] with the session strings imports take checked by
/// `importer` (the local gateway's, against the simulator, takes its addresses).
pub async fn open_desk_importing(
    ctx: &AwsContext,
    settings: &ApiSettings,
    search: Option<Arc<dyn SearchIndex>>,
    importer: StringSessionImporter,
) -> Result<Desk, String> {
    let aws = AwsPorts::open(ctx, |queue| Arc::new(QueuedPush::new(queue)), search).await.map_err(|e| e.to_string())?;
    let mut ports = aws.ports;
    ports.sessions = Some(Arc::new(importer));
    ports.sealer = Some(settings.sealer.clone());
    let tokens = TokenService::new(settings.jwt_secret.expose_secret().as_bytes(), settings.token_ttl);
    let mut desk = Desk::new(ports, tokens);
    let throttle = DynamoThrottle::new(ctx);
    throttle.check().await.map_err(|e| e.to_string())?;
    desk.throttle = Arc::new(LoginThrottle::over(Arc::new(throttle)));
    desk.fleet_timeout = FLEET_WAIT;
    if let Some((tenant, password)) = &settings.first_admin {
        let created = desk.ensure_tenant(tenant, "admin", password.expose_secret()).await.map_err(|e| e.to_string())?;
        if created {
            tracing::info!(tenant, "created the first tenant and its admin");
        }
    }
    Ok(desk)
}

/// The router the function serves: the REST API, with the caller's
/// address taken from API Gateway's request context.
pub fn app(desk: Desk, operator_token: Option<SecretString>) -> axum::Router {
    tgdesk_api::router(ApiState { desk, operator_token }).layer(axum::middleware::from_fn(caller_address))
}

/// Gives the request the caller's address API Gateway saw (its
/// `sourceIp`, which the caller cannot set), where the server has the
/// socket's peer: the login throttle keys on it.
async fn caller_address(mut request: Request, next: Next) -> Response {
    let source = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context.identity.source_ip.as_deref(),
        _ => None,
    };
    if let Some(ip) = source.and_then(|ip| ip.parse::<IpAddr>().ok()) {
        request.extensions_mut().insert(ConnectInfo(SocketAddr::new(ip, 0)));
    }
    next.run(request).await
}
