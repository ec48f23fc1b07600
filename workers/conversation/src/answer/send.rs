//! What a turn sends, as commands to `outbound.send`. Command ids are derived from what
//! the message answers, so a turn run again after a crash resends nothing.

use cita_shared::{
    amqp::{PublishError, Publisher, Topology},
    contracts::outbound::{Command, Message, Outgoing, Purpose},
    spanish,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// An id derived from a key, for commands that must be the same on every retry.
pub fn derived_id(key: &str) -> Uuid {
    let digest = Sha256::digest(key.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

pub struct Sender<'a> {
    pub publisher: &'a Publisher,
    pub topology: &'a Topology,
    pub organization_id: Uuid,
}

impl Sender<'_> {
    async fn send(&self, command: Outgoing) -> Result<(), PublishError> {
        self.publisher
            .send(self.topology, &Command::SendV1(command))
            .await
    }

    /// A text in a conversation. `key` names what it answers (stable across retries).
    pub async fn text(
        &self,
        key: &str,
        to: &str,
        conversation_id: Uuid,
        body: &str,
    ) -> Result<(), PublishError> {
        self.message(key, to, conversation_id, spanish::text(body.to_owned()))
            .await
    }

    /// A reply of any kind (text, buttons, list) in a conversation.
    pub async fn message(
        &self,
        key: &str,
        to: &str,
        conversation_id: Uuid,
        message: Message,
    ) -> Result<(), PublishError> {
        self.send(Outgoing {
            command_id: derived_id(key),
            organization_id: self.organization_id,
            to: to.to_owned(),
            conversation_id: Some(conversation_id),
            purpose: Purpose::Reply,
            reply_to: None,
            message,
            fallback: None,
            author: None,
        })
        .await
    }

    /// Marks `wamid` (and what came before it) read, with the typing indicator.
    pub async fn read_receipt(
        &self,
        to: &str,
        conversation_id: Uuid,
        wamid: &str,
    ) -> Result<(), PublishError> {
        self.send(Outgoing {
            command_id: derived_id(&format!("read:{wamid}")),
            organization_id: self.organization_id,
            to: to.to_owned(),
            conversation_id: Some(conversation_id),
            purpose: Purpose::Reply,
            reply_to: None,
            message: Message::ReadReceipt {
                message_id: wamid.to_owned(),
                typing: true,
            },
            fallback: None,
            author: None,
        })
        .await
    }

    /// A notice to a staff member (the owner), with its template for a closed window.
    pub async fn staff_notice(
        &self,
        key: &str,
        to: &str,
        body: String,
        locale: &str,
    ) -> Result<(), PublishError> {
        let (message, fallback) = spanish::notice(body, locale);
        self.send(Outgoing {
            command_id: derived_id(key),
            organization_id: self.organization_id,
            to: to.to_owned(),
            conversation_id: None,
            purpose: Purpose::Notification,
            reply_to: None,
            message,
            fallback,
            author: None,
        })
        .await
    }
}
