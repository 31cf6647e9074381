//! The tables the adapters use, defined once: key schema, TTL attribute and
//! stream, so `TGDESK_AWS_CREATE=1`, the tests and `template.yaml` agree.

use crate::context::AwsContext;
use crate::error;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TimeToLiveSpecification,
};
use tgdesk_core::ports::{PortError, PortErrorKind};

/// A table with a string partition key `pk` and string sort key `sk`.
#[derive(Clone, Copy, Debug)]
pub struct TableSpec {
    /// The name after the prefix (`<prefix>-<suffix>`).
    pub suffix: &'static str,
    /// The attribute DynamoDB's TTL deletes by, if any.
    pub ttl_attribute: Option<&'static str>,
}

/// Account leases of the session fleet: `pk` = tenant, `sk` = account.
pub const LEASES: TableSpec = TableSpec { suffix: "leases", ttl_attribute: None };

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
    let key = |attr: &str, kind: KeyType| KeySchemaElement::builder().attribute_name(attr).key_type(kind).build();
    let def =
        |attr: &str| AttributeDefinition::builder().attribute_name(attr).attribute_type(ScalarAttributeType::S).build();
    let created = client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash).map_err(|e| error::build("key schema", e))?)
        .key_schema(key("sk", KeyType::Range).map_err(|e| error::build("key schema", e))?)
        .attribute_definitions(def("pk").map_err(|e| error::build("attribute", e))?)
        .attribute_definitions(def("sk").map_err(|e| error::build("attribute", e))?)
        .send()
        .await;
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
