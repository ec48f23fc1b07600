//! `cita-demo [--as customer|staff|owner] [--phone WA_ID] [--script FILE]
//!            [--ingress URL] [--sandbox URL]`: chat with the demo barbershop from the
//! terminal. What you write is posted to the ingress as a signed WhatsApp webhook; the
//! replies are read from the sandbox, with options numbered (answer with the number)
//! and delivery ticks. With `--script`, plays the file and exits 1 unless the booking
//! landed in the database (`CITA_DATABASE_URL`).

use std::{collections::HashMap, time::Duration};

use anyhow::Context;
use cita_demo::{
    chat::{Chat, Choice, choices, render, ticks},
    script,
};

struct Options {
    persona: String,
    phone: Option<String>,
    script: Option<String>,
    ingress: String,
    sandbox: String,
}

#[tokio::main]
async fn main() {
    match run().await {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(error) => {
            eprintln!("cita-demo: {error:#}");
            std::process::exit(1);
        }
    }
}

fn options() -> anyhow::Result<Options> {
    let mut options = Options {
        persona: "customer".into(),
        phone: None,
        script: None,
        ingress: "http://127.0.0.1:8080/webhooks/whatsapp".into(),
        sandbox: "http://127.0.0.1:9190".into(),
    };
    for (flag, value) in cita_demo::flags().map_err(anyhow::Error::msg)? {
        match flag.as_str() {
            "--as" => options.persona = value,
            "--phone" => options.phone = Some(value),
            "--script" => options.script = Some(value),
            "--ingress" => options.ingress = value,
            "--sandbox" => options.sandbox = value,
            other => anyhow::bail!(
                "unknown flag {other:?}; usage: cita-demo [--as customer|staff|owner] [--phone WA_ID] [--script FILE] [--ingress URL] [--sandbox URL]"
            ),
        }
    }
    Ok(options)
}

async fn run() -> anyhow::Result<bool> {
    let options = options()?;
    // The demo barbershop's people (sql/seed/demo.sql), as WhatsApp sends Mexican numbers.
    let (phone, name, who) = match options.persona.as_str() {
        "customer" => ("5215512345678", "Cliente Demo", "cliente"),
        "staff" => ("5215511110002", "Luis Torres", "barbero (Luis)"),
        "owner" => ("5215511110001", "José María Ramírez", "dueño (José María)"),
        other => anyhow::bail!("--as {other:?}: expected customer, staff or owner"),
    };
    let phone = options.phone.clone().unwrap_or_else(|| phone.to_owned());
    let secret = cita_demo::app_secret();
    let mut chat = Chat::new(
        options.ingress.clone(),
        options.sandbox.clone(),
        secret,
        phone.clone(),
        name.into(),
    );
    chat.received()
        .await
        .context("the sandbox does not answer; is `make run` running?")?;

    if let Some(path) = &options.script {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
        let lines = script::parse(&text)?;
        let started = jiff::Timestamp::now();
        let played = script::play(&mut chat, &lines, &mut |line| println!("{line}")).await;
        if let Err(error) = played {
            eprintln!("cita-demo: the script failed: {error}");
            return Ok(false);
        }
        let database = std::env::var("CITA_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/cita".into());
        let landed = script::landed(&database, &phone, started)
            .await
            .context("checking the booking in the database")?;
        if landed {
            println!("cita-demo: the booking landed");
        } else {
            eprintln!("cita-demo: the script ran but no booking landed for {phone}");
        }
        return Ok(landed);
    }

    println!(
        "Chat con Barbería El Centro como {who} ({phone}). Escribe y presiona Enter; \
         responde a las opciones con su número. Ctrl-D para salir."
    );
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    // What was sent before this session is not shown again.
    let mut shown: HashMap<u64, usize> = chat
        .received()
        .await?
        .iter()
        .map(|m| (m.seq, m.statuses.len()))
        .collect();
    let mut options_now: Vec<Choice> = Vec::new();
    let mut closing: Option<std::time::Instant> = None;
    loop {
        tokio::select! {
            line = lines.recv(), if closing.is_none() => {
                let Some(line) = line else {
                    // Input ended (Ctrl-D, or the end of piped input): show what is
                    // still on its way, then stop.
                    closing = Some(std::time::Instant::now());
                    continue;
                };
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                let picked = line
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| n.checked_sub(1))
                    .and_then(|i| options_now.get(i).cloned());
                match picked {
                    Some(choice) => chat.tap(&choice).await?,
                    None => chat.say(line).await?,
                }
            }
            () = tokio::time::sleep(Duration::from_millis(250)) => {
                if closing.is_some_and(|at| at.elapsed() > Duration::from_secs(2)) {
                    return Ok(true);
                }
                let received = match chat.received().await {
                    Ok(received) => received,
                    Err(error) => {
                        eprintln!("cita-demo: {error}");
                        continue;
                    }
                };
                for message in &received {
                    let statuses = message.statuses.len();
                    match shown.get(&message.seq) {
                        None => {
                            println!("\nBarbería: {}", render(&message.message));
                            let offered = choices(&message.message);
                            if !offered.is_empty() {
                                options_now = offered;
                            }
                        }
                        Some(before) if *before < statuses => {
                            println!("          {}", ticks(&message.statuses[statuses - 1]));
                        }
                        Some(_) => continue,
                    }
                    shown.insert(message.seq, statuses);
                }
            }
        }
    }
}
