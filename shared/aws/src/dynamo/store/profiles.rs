//! Profiles: what an account knows of the users it talks to, and of itself.
//! One item per (account, peer) under the account's partition; a `SELF`
//! item names which peer is the account itself, so there is one at most.

use super::io;
use super::DynamoStore;
use crate::dynamo::attrs::{get_n, get_s, n, s, Item};
use crate::dynamo::keys::{part_of, peer_key, peer_of_key};
use crate::error;
use tgdesk_core::domain::{AccountId, PeerProfile, TenantId};
use tgdesk_core::ports::{PortError, PortErrorKind};

/// Sort key of the item naming the account's own peer.
const SELF: &str = "SELF";

fn key(tenant: &TenantId, account: &AccountId, sk: String) -> Item {
    [("pk".to_owned(), s(part_of(tenant, "PROF", account.as_str()))), ("sk".to_owned(), s(sk))].into()
}

fn decode(item: &Item) -> Result<PeerProfile, PortError> {
    serde_json::from_str(get_s(item, "doc")?)
        .map_err(|_| PortError::new(PortErrorKind::Internal, "stored profile is invalid"))
}

fn encode(tenant: &TenantId, p: &PeerProfile) -> Result<Item, PortError> {
    let doc = serde_json::to_string(p).map_err(|_| PortError::new(PortErrorKind::Internal, "profile not encodable"))?;
    let mut item = key(tenant, &p.account_id, peer_key(p.peer));
    item.insert("doc".into(), s(doc));
    item.insert("contact".into(), aws_sdk_dynamodb::types::AttributeValue::Bool(p.is_contact));
    Ok(item)
}

impl DynamoStore {
    async fn get_profile_item(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        sk: String,
    ) -> Result<Option<Item>, PortError> {
        let main = &self.tables().await?.main;
        let out = self
            .client
            .get_item()
            .table_name(main)
            .set_key(Some(key(tenant, account, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| error::sdk("dynamodb get profile", e))?;
        Ok(out.item().cloned())
    }

    /// The body of `MessageWriter::upsert_profiles`.
    pub(crate) async fn put_profiles(&self, tenant: &TenantId, profiles: &[PeerProfile]) -> Result<(), PortError> {
        self.known_accounts(tenant, profiles.iter().map(|p| &p.account_id)).await?;
        let main = self.tables().await?.main.clone();
        let mut puts = Vec::with_capacity(profiles.len());
        for p in profiles {
            if p.is_self {
                self.move_self(tenant, p).await?;
            }
            puts.push(encode(tenant, p)?);
        }
        io::batch_write(&self.client, &main, puts, Vec::new()).await
    }

    /// Points the account's `SELF` item at `p` and clears the flag on the
    /// profile it pointed at before.
    async fn move_self(&self, tenant: &TenantId, p: &PeerProfile) -> Result<(), PortError> {
        let main = self.tables().await?.main.clone();
        if let Some(pointer) = self.get_profile_item(tenant, &p.account_id, SELF.to_owned()).await? {
            let old: i64 = get_n(&pointer, "peer")?;
            if old != p.peer {
                if let Some(item) = self.get_profile_item(tenant, &p.account_id, peer_key(old)).await? {
                    let earlier = PeerProfile { is_self: false, ..decode(&item)? };
                    io::batch_write(&self.client, &main, vec![encode(tenant, &earlier)?], Vec::new()).await?;
                }
            }
        }
        let mut pointer = key(tenant, &p.account_id, SELF.to_owned());
        pointer.insert("peer".into(), n(p.peer));
        io::batch_write(&self.client, &main, vec![pointer], Vec::new()).await
    }

    /// The body of `MessageReader::get_profile`.
    pub(crate) async fn profile(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
    ) -> Result<Option<PeerProfile>, PortError> {
        self.get_profile_item(tenant, account, peer_key(peer)).await?.as_ref().map(decode).transpose()
    }

    /// The body of `MessageReader::get_self_profile`.
    pub(crate) async fn self_profile(
        &self,
        tenant: &TenantId,
        account: &AccountId,
    ) -> Result<Option<PeerProfile>, PortError> {
        let Some(pointer) = self.get_profile_item(tenant, account, SELF.to_owned()).await? else {
            return Ok(None);
        };
        self.profile(tenant, account, get_n(&pointer, "peer")?).await
    }

    /// The body of `MessageReader::list_contacts`: contacts by peer id after `after`.
    pub(crate) async fn contacts(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<PeerProfile>, PortError> {
        let main = &self.tables().await?.main;
        let start = after.map_or_else(|| "0".repeat(20), peer_key);
        let mut pages = self
            .client
            .query()
            .table_name(main)
            // `SELF` sorts after every 20-digit peer key.
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .filter_expression("contact = :yes")
            .expression_attribute_values(":pk", s(part_of(tenant, "PROF", account.as_str())))
            .expression_attribute_values(":from", s(start))
            .expression_attribute_values(":to", s("9".repeat(20)))
            .expression_attribute_values(":yes", aws_sdk_dynamodb::types::AttributeValue::Bool(true))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        let mut out = Vec::new();
        while out.len() < limit {
            let Some(item) = pages.next().await else { break };
            let item = item.map_err(|e| error::sdk("dynamodb query contacts", e))?;
            let profile = decode(&item)?;
            if after.is_none_or(|a| profile.peer > a) && peer_of_key(get_s(&item, "sk")?).is_some() {
                out.push(profile);
            }
        }
        Ok(out)
    }
}
