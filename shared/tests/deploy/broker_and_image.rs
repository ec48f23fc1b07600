//! The broker's definitions and policies, the image's Dockerfile, and who sets replica
//! counts.

use super::*;

fn definitions() -> serde_json::Value {
    serde_json::from_str(&read("rabbitmq/definitions.json")).unwrap()
}

/// A node that imports definitions at boot seeds no default user, so boot-time import
/// would leave the operator's `<cluster>-default-user` credentials (and, with
/// definitions holding no users, every credential) invalid.
#[test]
fn no_broker_password_ships_and_nothing_stops_the_default_user_being_seeded() {
    let file = definitions();
    for key in ["users", "permissions"] {
        assert_eq!(
            file[key].as_array().map(Vec::len).unwrap_or(0),
            0,
            "definitions.json declares {key}"
        );
    }
    let text = read("rabbitmq/definitions.json");
    assert!(
        !text.contains("password"),
        "definitions.json holds a password"
    );

    let boot_import = |config: &str| {
        config
            .lines()
            .map(str::trim)
            .filter(|l| !l.starts_with('#'))
            .any(|l| l.contains("load_definitions") || l.starts_with("definitions."))
    };
    assert!(
        !boot_import(&read("rabbitmq/rabbitmq.conf")),
        "rabbitmq.conf imports definitions at boot"
    );
    let documents = manifests();
    for cluster in of_kind(&documents, "RabbitmqCluster") {
        let additional = cluster["spec"]["rabbitmq"]["additionalConfig"]
            .as_str()
            .unwrap_or("");
        assert!(
            !boot_import(additional),
            "{} imports definitions at boot",
            name(cluster)
        );
    }
    assert!(
        of_kind(&documents, "Secret").is_empty(),
        "secrets are created by hand, never committed"
    );
    let users = of_kind(&documents, "User");
    assert_eq!(users.len(), 1);
    assert!(
        users[0]["spec"]["importCredentialsSecret"]["name"]
            .as_str()
            .is_some(),
        "the application user's password comes from a Secret"
    );
}

/// The operator path does not load definitions.json, so the policies (the one thing in
/// it that the binaries do not declare) are Policy objects: the same ones.
#[test]
fn the_clusters_policies_are_those_of_definitions_json() {
    let documents = manifests();
    let cluster = name(of_kind(&documents, "RabbitmqCluster")[0]);
    let in_manifests: BTreeSet<String> = of_kind(&documents, "Policy")
        .into_iter()
        .map(|p| {
            let spec = &p["spec"];
            assert_eq!(spec["rabbitmqClusterReference"]["name"], cluster);
            serde_json::json!({
                "vhost": spec["vhost"].as_str().unwrap_or("/"),
                "name": spec["name"].as_str().unwrap(),
                "pattern": spec["pattern"].as_str().unwrap(),
                "apply-to": spec["applyTo"].as_str().unwrap_or("all"),
                "priority": spec["priority"].as_i64().unwrap_or(0),
                "definition": serde_json::to_value(&spec["definition"]).unwrap(),
            })
            .to_string()
        })
        .collect();
    let in_file: BTreeSet<String> = definitions()["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert_eq!(in_manifests, in_file);
}

/// The instructions of each stage of a Dockerfile, continuation lines joined.
fn dockerfile_stages(text: &str) -> Vec<(String, Vec<String>)> {
    let mut stages: Vec<(String, Vec<String>)> = Vec::new();
    let mut instruction = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && instruction.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => {
                instruction.push_str(part);
                instruction.push(' ');
            }
            None => {
                instruction.push_str(line);
                let done = std::mem::take(&mut instruction);
                if let Some(from) = done.strip_prefix("FROM ") {
                    stages.push((from.to_owned(), Vec::new()));
                } else if !done.is_empty() {
                    stages.last_mut().unwrap().1.push(done);
                }
            }
        }
    }
    stages
}

const PRODUCTION_BINARIES: [&str; 8] = [
    "cita-ingress",
    "cita-api",
    "cita-scheduling",
    "cita-conversation",
    "cita-outbound",
    "cita-reminders",
    "cita-migrate",
    "cita-replay",
];

#[test]
fn the_production_image_holds_only_the_production_binaries_and_runs_as_a_numeric_user() {
    let stages = dockerfile_stages(&read("deploy/Dockerfile"));
    let (last, _) = stages.last().unwrap();
    assert!(
        last.ends_with(" AS production"),
        "the default target (the last stage) is production, not {last}"
    );
    // The production stage and the stages it is built FROM, nearest first.
    let mut chain = Vec::new();
    let mut stage = "production";
    while let Some((header, instructions)) = stages
        .iter()
        .find(|(h, _)| h.ends_with(&format!(" AS {stage}")))
    {
        chain.push(instructions);
        stage = header.split(' ').next().unwrap();
    }
    let instructions: Vec<&String> = chain.iter().flat_map(|i| i.iter()).collect();

    let user = instructions
        .iter()
        .find_map(|i| i.strip_prefix("USER "))
        .expect("the image names its user");
    assert_eq!(
        user,
        format!("{IMAGE_USER}:{IMAGE_USER}"),
        "numeric, so that runAsNonRoot can check it"
    );

    let copied: BTreeSet<&str> = instructions
        .iter()
        .filter(|i| i.starts_with("COPY --from="))
        .flat_map(|i| i.split_whitespace().skip(2))
        .filter_map(|path| path.strip_prefix("/src/target/release/"))
        .collect();
    assert_eq!(copied, PRODUCTION_BINARIES.into());
    for instruction in &instructions {
        for demo_only in ["cita-demo", "cita-sandbox"] {
            assert!(
                !instruction.contains(demo_only),
                "the production image has {demo_only}"
            );
        }
    }
}

/// Line tables alone still link in the standard library's full debug info (five times
/// the code's size); the image's build strips debug info, keeping symbols.
#[test]
fn the_images_binaries_carry_no_debug_info() {
    let manifest = read("Cargo.toml");
    let release: Vec<&str> = manifest
        .lines()
        .skip_while(|l| l.trim() != "[profile.release]")
        .skip(1)
        .take_while(|l| !l.starts_with('['))
        .collect();
    let in_profile = release.iter().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == "strip").then(|| v.trim().trim_matches('"').to_owned())
    });
    let stages = dockerfile_stages(&read("deploy/Dockerfile"));
    let (_, build) = stages
        .iter()
        .find(|(h, _)| h.ends_with(" AS build"))
        .unwrap();
    let in_image = build.iter().find_map(|i| {
        i.strip_prefix("ENV CARGO_PROFILE_RELEASE_STRIP=")
            .map(|v| v.trim_matches('"').to_owned())
    });
    let strip = in_image.or(in_profile).unwrap_or_else(|| "none".into());
    assert!(
        matches!(strip.as_str(), "debuginfo" | "symbols" | "true"),
        "release binaries in the image keep their debug info (strip = {strip})"
    );
}

#[test]
fn keda_alone_sets_the_replica_count_of_what_it_scales() {
    let documents = manifests();
    let scaled: BTreeSet<&str> = of_kind(&documents, "ScaledObject")
        .iter()
        .map(|o| o["spec"]["scaleTargetRef"]["name"].as_str().unwrap())
        .collect();
    for deployment in of_kind(&documents, "Deployment") {
        let who = name(deployment);
        assert!(scaled.contains(who), "{who} has no ScaledObject");
        assert!(
            deployment["spec"]["replicas"].is_null(),
            "{who} sets `replicas`, which would undo KEDA's count at every apply"
        );
    }
}
