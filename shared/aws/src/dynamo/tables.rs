//! The tables the adapters use, defined once: key schema, TTL attribute and
//! stream, so `TGDESK_AWS_CREATE=1`, the tests and `template.yaml` agree.

use crate::context::AwsContext;
use crate::error;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use tgdesk_core::ports::{PortError, PortErrorKind};

/// A table with a string partition key `pk` and a sort key `sk`, and global
/// secondary indexes `<g>` keyed by `<g>pk` (string) and `<g>sk` (string),
/// projecting every attribute.
#[derive(Clone, Copy, Debug)]
pub struct TableSpec {
    /// The name after the prefix (`<prefix>-<suffix>`).
    pub suffix: &'static str,
    /// The sort key's type (`sk`): a string, or a number.
    pub numeric_sort_key: bool,
    /// Global secondary index names.
    pub indexes: &'static [&'static str],
    /// The attribute DynamoDB's TTL deletes by, if any.
    pub ttl_attribute: Option<&'static str>,
    /// Whether the table has a stream with old and new images (the archiver
    /// and indexer read it).
    pub stream: bool,
}

/// Returns the DynamoDB name of index `g` (`g1` → `g1-index`): index names
/// take at least three characters; the key attributes are `<g>pk`/`<g>sk`.
pub fn index_name(g: &str) -> String {
    format!("{g}-index")
}

/// Account leases of the session fleet: `pk` = tenant, `sk` = account.
pub const LEASES: TableSpec =
    TableSpec { suffix: "leases", numeric_sort_key: false, indexes: &[], ttl_attribute: None, stream: false };

/// Everything but messages (see `shared/aws/DESIGN.md` for the item kinds):
/// `g1` accounts by owner and dialogs in their owner's inbox order, `g2`
/// accounts by team and sends by batch, `g3` the runnable accounts.
pub const MAIN: TableSpec = TableSpec {
    suffix: "main",
    numeric_sort_key: false,
    indexes: &["g1", "g2", "g3"],
    ttl_attribute: Some("expires"),
    stream: false,
};

/// Messages: `pk` = tenant#account#peer, `sk` = message id; they expire after
/// the hot window, and the stream carries the expired ones to the archive.
pub const MESSAGES: TableSpec = TableSpec {
    suffix: "messages",
    numeric_sort_key: true,
    indexes: &[],
    ttl_attribute: Some("expires"),
    stream: true,
};

/// Makes sure `spec`'s table exists, creating it (on-demand capacity, with
/// its TTL) when missing and the settings allow; returns its full name.
pub async fn ensure(ctx: &AwsContext, client: &aws_sdk_dynamodb::Client, spec: TableSpec) -> Result<String, PortError> {
    let name = ctx.name(spec.suffix);
    match client.describe_table().table_name(&name).send().await {
        Ok(_) => return Ok(name),
        Err(e) => {
            let e = error::sdk("dynamodb describe_table", e);
            if e.kind != PortErrorKind::NotFound {
                return Err(e);
            }
            if !ctx.settings.create_missing {
                return Err(PortError::not_found(format!("table {name} does not exist (deploy the template)")));
            }
        }
    }
    let created = create_request(client, &name, spec)?.send().await;
    match created {
        Ok(_) => {}
        // Another process created it meanwhile.
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => return Ok(name),
        Err(e) => return Err(error::sdk("dynamodb create_table", e)),
    }
    wait_active(client, &name).await?;
    if let Some(attr) = spec.ttl_attribute {
        let ttl = TimeToLiveSpecification::builder()
            .attribute_name(attr)
            .enabled(true)
            .build()
            .map_err(|e| error::build("ttl", e))?;
        client
            .update_time_to_live()
            .table_name(&name)
            .time_to_live_specification(ttl)
            .send()
            .await
            .map_err(|e| error::sdk("dynamodb update_time_to_live", e))?;
    }
    Ok(name)
}

/// Builds the `CreateTable` request of `spec`.
fn create_request(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    spec: TableSpec,
) -> Result<aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder, PortError> {
    let key = |attr: String, kind: KeyType| {
        KeySchemaElement::builder().attribute_name(attr).key_type(kind).build().map_err(|e| error::build("key", e))
    };
    let def = |attr: String, kind: ScalarAttributeType| {
        AttributeDefinition::builder()
            .attribute_name(attr)
            .attribute_type(kind)
            .build()
            .map_err(|e| error::build("attribute", e))
    };
    let sort_type = if spec.numeric_sort_key { ScalarAttributeType::N } else { ScalarAttributeType::S };
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk".into(), KeyType::Hash)?)
        .key_schema(key("sk".into(), KeyType::Range)?)
        .attribute_definitions(def("pk".into(), ScalarAttributeType::S)?)
        .attribute_definitions(def("sk".into(), sort_type)?);
    for index in spec.indexes {
        let (pk, sk) = (format!("{index}pk"), format!("{index}sk"));
        request = request
            .attribute_definitions(def(pk.clone(), ScalarAttributeType::S)?)
            .attribute_definitions(def(sk.clone(), ScalarAttributeType::S)?)
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(index_name(index))
                    .key_schema(key(pk, KeyType::Hash)?)
                    .key_schema(key(sk, KeyType::Range)?)
                    .projection(Projection::builder().projection_type(ProjectionType::All).build())
                    .build()
                    .map_err(|e| error::build("index", e))?,
            );
    }
    if spec.stream {
        request = request.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .map_err(|e| error::build("stream", e))?,
        );
    }
    Ok(request)
}

/// Waits until a table just created is `ACTIVE` (seconds on AWS, at once on moto).
async fn wait_active(client: &aws_sdk_dynamodb::Client, name: &str) -> Result<(), PortError> {
    use aws_sdk_dynamodb::types::TableStatus;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let out = client.describe_table().table_name(name).send().await.map_err(|e| error::sdk("describe_table", e))?;
        if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(PortError::new(PortErrorKind::Unavailable, format!("table {name} is not active after 120 s")));
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}
