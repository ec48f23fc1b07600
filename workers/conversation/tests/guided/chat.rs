//! One person's side of a guided chat, and what the tests read from the messages.

#![allow(dead_code)]

use serde_json::Value;

use crate::common::fleet::Fleet;

pub const OTHER_WA: &str = "5215599999999";

/// One person's side of the chat: what they were sent, and taps on it.
pub struct Chat<'a> {
    pub fleet: &'a Fleet,
    pub who: &'static str,
    pub seen: usize,
}

impl<'a> Chat<'a> {
    pub fn new(fleet: &'a Fleet, who: &'static str) -> Self {
        Chat {
            fleet,
            who,
            seen: fleet.replies_now(who).len(),
        }
    }

    /// The replies to what was just sent: once the conversation answered it and its
    /// messages reached the fake Graph API.
    /// The replies to the message `wamid` just sent: once it is answered and what was
    /// published to the person reached the fake Graph API.
    pub async fn replies_to(&mut self, wamid: &str) -> Vec<Value> {
        self.fleet.answered(wamid).await;
        self.fleet.quiet(self.who).await;
        let all = self.fleet.replies_now(self.who);
        assert!(all.len() > self.seen, "no reply to {}", self.who);
        let new = all[self.seen..].to_vec();
        self.seen = all.len();
        new
    }

    pub async fn say(&mut self, text: &str) -> Vec<Value> {
        let wamid = self.fleet.say(self.who, text).await;
        self.replies_to(&wamid).await
    }

    /// Taps the option of the last interactive message whose title starts with `title`.
    pub async fn tap(&mut self, title: &str) -> Vec<Value> {
        let (kind, id, full) = self.option(title);
        let wamid = self.fleet.tap(self.who, kind, &id, &full).await;
        self.replies_to(&wamid).await
    }

    /// From wherever the chat is: menu, haircut, Tuesday 8, `time`, confirm.
    pub async fn book_haircut_on_tuesday_at(&mut self, time: &str) {
        self.say("menu").await;
        self.tap("Agendar cita").await;
        self.tap("Corte de cabello").await;
        self.tap("Martes 8 dic").await;
        self.tap(time).await;
        let done = self.tap("Confirmar").await;
        starts_with(&done[0], "¡Listo!");
    }

    pub fn option(&self, title: &str) -> (&'static str, String, String) {
        let last = self.last_interactive();
        let kind = if last["interactive"]["type"] == "button" {
            "button_reply"
        } else {
            "list_reply"
        };
        options(&last)
            .into_iter()
            .find(|(_, t)| t.starts_with(title))
            .map(|(id, t)| (kind, id, t))
            .unwrap_or_else(|| panic!("no option {title:?} in {last:#}"))
    }

    pub fn last_interactive(&self) -> Value {
        self.fleet
            .replies_now(self.who)
            .into_iter()
            .rev()
            .find(|m| m["type"] == "interactive")
            .expect("an interactive message was sent")
    }
}

/// (id, title) of a buttons or list message's options, checked against WhatsApp's limits.
pub fn options(message: &Value) -> Vec<(String, String)> {
    let interactive = &message["interactive"];
    let pairs: Vec<(String, String)> = if interactive["type"] == "button" {
        let buttons = interactive["action"]["buttons"].as_array().unwrap();
        assert!(buttons.len() <= 3, "{message:#}");
        buttons
            .iter()
            .map(|b| {
                (
                    b["reply"]["id"].as_str().unwrap().into(),
                    b["reply"]["title"].as_str().unwrap().into(),
                )
            })
            .collect()
    } else {
        let rows: Vec<&Value> = interactive["action"]["sections"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["rows"].as_array().unwrap())
            .collect();
        assert!(rows.len() <= 10, "{message:#}");
        for row in &rows {
            assert!(
                row["title"].as_str().unwrap().chars().count() <= 24,
                "{row}"
            );
            assert!(
                row["description"].as_str().unwrap_or("").chars().count() <= 72,
                "{row}"
            );
        }
        rows.iter()
            .map(|r| {
                (
                    r["id"].as_str().unwrap().into(),
                    r["title"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    let limit = if interactive["type"] == "button" {
        20
    } else {
        24
    };
    assert!(
        pairs.iter().all(|(_, t)| t.chars().count() <= limit),
        "{message:#}"
    );
    pairs
}

/// Asserts that `message`'s text starts with `prefix`, showing the message if not.
#[track_caller]
pub fn starts_with(message: &Value, prefix: &str) {
    assert!(text(message).starts_with(prefix), "{message:#}");
}

pub fn titles(message: &Value) -> Vec<String> {
    options(message).into_iter().map(|(_, t)| t).collect()
}

/// The text of a message: a text's body, or an interactive message's body.
pub fn text(message: &Value) -> String {
    message["text"]["body"]
        .as_str()
        .or(message["interactive"]["body"]["text"].as_str())
        .unwrap_or_default()
        .to_owned()
}

pub async fn guided_fleet() -> Fleet {
    let fleet = Fleet::start().await;
    fleet
        .shop
        .execute(
            "UPDATE organizations SET assistant_mode = 'guided' WHERE id = $1",
            &[&fleet.shop.org],
        )
        .await;
    fleet
}

pub async fn appointments(fleet: &Fleet) -> Vec<(String, String, String)> {
    let client = fleet.shop.db.pool.get().await.unwrap();
    client
        .query(
            "SELECT s.name, to_char(a.starts_at AT TIME ZONE 'America/Mexico_City', 'YYYY-MM-DD HH24:MI'), a.status
             FROM appointments a JOIN service_types s ON s.id = a.service_type_id ORDER BY a.created_at",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}
