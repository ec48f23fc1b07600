//! Every message that crosses a queue, as serde types, so producers and consumers can't
//! drift. Enums are internally tagged (`"type"`) so variants can be added without
//! breaking old consumers.

pub mod conversation;
pub mod events;
pub mod outbound;
pub mod scheduling;

/// For a field that may be absent (leave it), `null` (clear it) or a value (set it):
/// `#[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]`
/// on an `Option<Option<T>>`. Serde alone reads `null` as absent.
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}
