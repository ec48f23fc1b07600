//! A scripted conversation: lines of `say <text>`, `tap <number or title>` (`tap?` when
//! the option may not be offered) and `expect <words>`, played against the running
//! fleet. After it, the booking must be in the database — that makes it a smoke test.

use std::time::{Duration, Instant};

use crate::chat::{Chat, ChatError, Received, choices, render};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Say(String),
    Tap { what: String, optional: bool },
    Expect(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("line {line}: {reason}")]
    Syntax { line: usize, reason: String },
    #[error(transparent)]
    Chat(#[from] ChatError),
    #[error("no reply within {0:?}")]
    Silent(Duration),
    #[error("expected {expected:?} in the replies, got: {got}")]
    Missing { expected: String, got: String },
    #[error("no option {0:?} to tap")]
    NoOption(String),
}

pub fn parse(text: &str) -> Result<Vec<Line>, ScriptError> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(line, l)| {
            let (verb, rest) = l.split_once(' ').unwrap_or((l, ""));
            let rest = rest.trim().to_owned();
            if rest.is_empty() {
                return Err(ScriptError::Syntax {
                    line,
                    reason: format!("{verb} needs an argument"),
                });
            }
            match verb {
                "say" => Ok(Line::Say(rest)),
                "tap" => Ok(Line::Tap {
                    what: rest,
                    optional: false,
                }),
                "tap?" => Ok(Line::Tap {
                    what: rest,
                    optional: true,
                }),
                "expect" => Ok(Line::Expect(rest)),
                other => Err(ScriptError::Syntax {
                    line,
                    reason: format!("unknown verb {other:?} (say, tap, tap?, expect)"),
                }),
            }
        })
        .collect()
}

/// How long a reply may take (the AI may think for a while), and how long the chat must
/// be quiet before the replies to one message are taken as complete.
const REPLY_WITHIN: Duration = Duration::from_secs(60);
const QUIET: Duration = Duration::from_millis(800);

/// Plays `lines`, printing the conversation with `print`. A `tap` picks from the last
/// options the person was sent (before this call too).
pub async fn play(
    chat: &mut Chat,
    lines: &[Line],
    print: &mut impl FnMut(String),
) -> Result<(), ScriptError> {
    let mut seen = chat.received().await?.len();
    let mut last: Vec<Received> = Vec::new();
    let mut all = chat.received().await?;
    for line in lines {
        match line {
            Line::Say(text) => {
                print(format!("> {text}"));
                chat.say(text).await?;
            }
            Line::Tap { what, optional } => {
                let options = all
                    .iter()
                    .rev()
                    .map(|r| choices(&r.message))
                    .find(|c| !c.is_empty())
                    .unwrap_or_default();
                let found = match what.parse::<usize>() {
                    Ok(n) => n.checked_sub(1).and_then(|i| options.get(i)),
                    Err(_) => options.iter().find(|c| c.title.starts_with(what.as_str())),
                };
                match (found, optional) {
                    (Some(choice), _) => {
                        print(format!("> [{}]", choice.title));
                        chat.tap(&choice.clone()).await?;
                    }
                    (None, true) => continue,
                    (None, false) => return Err(ScriptError::NoOption(what.clone())),
                }
            }
            Line::Expect(words_expected) => {
                let got: Vec<String> = last.iter().map(|r| render(&r.message)).collect();
                if !got.iter().any(|g| g.contains(words_expected.as_str())) {
                    return Err(ScriptError::Missing {
                        expected: words_expected.clone(),
                        got: got.join(" | "),
                    });
                }
                continue;
            }
        }
        all = replies(chat, seen).await?;
        last = all[seen..].to_vec();
        seen = all.len();
        for reply in &last {
            print(format!("< {}", render(&reply.message)));
        }
    }
    Ok(())
}

/// Waits for at least one message past `seen`, then for the chat to be quiet.
pub async fn replies(chat: &Chat, seen: usize) -> Result<Vec<Received>, ScriptError> {
    let started = Instant::now();
    let mut count = seen;
    let mut changed = Instant::now();
    loop {
        let all = chat.received().await?;
        if all.len() != count {
            count = all.len();
            changed = Instant::now();
        }
        if count > seen && changed.elapsed() >= QUIET {
            return Ok(all);
        }
        if count == seen && started.elapsed() > REPLY_WITHIN {
            return Err(ScriptError::Silent(REPLY_WITHIN));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether `wa_id` has a live appointment created since `since`.
pub async fn landed(
    database_url: &str,
    wa_id: &str,
    since: jiff::Timestamp,
) -> Result<bool, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(database_url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let row = client
        .query_one(
            "SELECT count(*) FROM appointments a JOIN customers c ON c.id = a.customer_id
             WHERE c.wa_id = $1 AND a.created_at >= $2 AND a.status IN ('pending', 'confirmed')",
            &[&wa_id, &since],
        )
        .await?;
    Ok(row.get::<_, i64>(0) > 0)
}

/// `lines` cut before each `say` and `tap`: one message and what is expected of its
/// replies per part.
pub fn parts(lines: &[Line]) -> Vec<Vec<Line>> {
    let mut parts: Vec<Vec<Line>> = Vec::new();
    for line in lines {
        match (line, parts.last_mut()) {
            (Line::Expect(_), Some(part)) => part.push(line.clone()),
            _ => parts.push(vec![line.clone()]),
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_parse_and_name_their_mistakes() {
        let lines =
            parse("# a booking\nsay hola\n\ntap Agendar cita\ntap? Me da igual\nexpect ¡Listo!")
                .unwrap();
        assert_eq!(
            lines,
            [
                Line::Say("hola".into()),
                Line::Tap {
                    what: "Agendar cita".into(),
                    optional: false
                },
                Line::Tap {
                    what: "Me da igual".into(),
                    optional: true
                },
                Line::Expect("¡Listo!".into()),
            ]
        );
        let error = parse("say hola\nclick 1").unwrap_err().to_string();
        assert_eq!(
            error,
            "line 2: unknown verb \"click\" (say, tap, tap?, expect)"
        );
        assert!(parse("say").is_err());
    }

    #[test]
    fn parts_start_at_each_message() {
        let lines = parse("say hola\nexpect Agendar\ntap 1\ntap? x\nexpect y").unwrap();
        let parts = parts(&lines);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0].len(), 2);
        assert_eq!(
            parts[2],
            [
                Line::Tap {
                    what: "x".into(),
                    optional: true
                },
                Line::Expect("y".into())
            ]
        );
    }
}
