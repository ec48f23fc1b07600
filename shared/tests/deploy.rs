//! The Kubernetes manifests in `deploy/k8s/` parse, every binary gets probes on its admin
//! port, resources and a disruption budget, every variable they set is one the binaries
//! read, and every queue KEDA scales on is one the topology declares.

use std::collections::BTreeSet;

use cita_shared::{amqp::Topology, config::VARIABLES};
use serde::Deserialize;
use serde_norway::Value;

fn manifests() -> Vec<(String, Value)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/k8s");
    let mut documents = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
    {
        let text = std::fs::read_to_string(&path).unwrap();
        for document in serde_norway::Deserializer::from_str(&text) {
            let value = Value::deserialize(document)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
            if !value.is_null() {
                documents.push((
                    path.file_name().unwrap().to_string_lossy().into_owned(),
                    value,
                ));
            }
        }
    }
    documents
}

fn of_kind<'a>(documents: &'a [(String, Value)], kind: &str) -> Vec<&'a Value> {
    documents
        .iter()
        .map(|(_, d)| d)
        .filter(|d| d["kind"] == kind)
        .collect()
}

fn name(document: &Value) -> &str {
    document["metadata"]["name"].as_str().unwrap()
}

#[test]
fn every_binary_has_a_deployment_with_probes_resources_and_a_disruption_budget() {
    let documents = manifests();
    let deployments = of_kind(&documents, "Deployment");
    let names: BTreeSet<&str> = deployments.iter().map(|d| name(d)).collect();
    let expected: BTreeSet<&str> = [
        "cita-ingress",
        "cita-scheduling",
        "cita-conversation",
        "cita-outbound",
        "cita-reminders",
    ]
    .into();
    assert_eq!(names, expected);
    let budgets: BTreeSet<&str> = of_kind(&documents, "PodDisruptionBudget")
        .iter()
        .map(|b| {
            b["spec"]["selector"]["matchLabels"]["app"]
                .as_str()
                .unwrap()
        })
        .collect();
    for deployment in deployments {
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(
            container["command"][0].as_str(),
            Some(name(deployment)),
            "{}",
            name(deployment)
        );
        assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
        assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
        for kind in ["requests", "limits"] {
            for resource in ["cpu", "memory"] {
                assert!(
                    !container["resources"][kind][resource].is_null(),
                    "{} {kind}.{resource}",
                    name(deployment)
                );
            }
        }
        let app = deployment["spec"]["template"]["metadata"]["labels"]["app"]
            .as_str()
            .unwrap();
        assert!(budgets.contains(app), "no PodDisruptionBudget for {app}");
    }
    assert_eq!(of_kind(&documents, "Job").len(), 1, "the migration job");
}

#[test]
fn every_variable_the_manifests_set_is_one_the_binaries_read() {
    let documents = manifests();
    let mut set = Vec::new();
    for config in of_kind(&documents, "ConfigMap") {
        if let Value::Mapping(data) = &config["data"] {
            set.extend(data.keys().map(|k| k.as_str().unwrap().to_owned()));
        }
    }
    for workload in of_kind(&documents, "Deployment")
        .into_iter()
        .chain(of_kind(&documents, "Job"))
    {
        for container in workload["spec"]["template"]["spec"]["containers"]
            .as_sequence()
            .unwrap()
        {
            for variable in container["env"].as_sequence().into_iter().flatten() {
                set.push(variable["name"].as_str().unwrap().to_owned());
            }
            let sources: Vec<&str> = container["envFrom"]
                .as_sequence()
                .unwrap()
                .iter()
                .filter_map(|s| {
                    s["configMapRef"]["name"]
                        .as_str()
                        .or(s["secretRef"]["name"].as_str())
                })
                .collect();
            assert_eq!(
                sources,
                ["cita-config", "cita-secrets"],
                "{}",
                name(workload)
            );
        }
    }
    assert!(!set.is_empty());
    for variable in set {
        assert!(
            VARIABLES.contains(&variable.as_str()),
            "{variable} is not a setting of Cita"
        );
    }
}

#[test]
fn every_scaled_queue_is_declared_by_the_topology_and_every_worker_scales() {
    let documents = manifests();
    let declared: BTreeSet<String> = Topology::new("")
        .queues()
        .into_iter()
        .map(|q| q.name)
        .collect();
    let mut scaled = BTreeSet::new();
    for object in of_kind(&documents, "ScaledObject") {
        let target = object["spec"]["scaleTargetRef"]["name"].as_str().unwrap();
        for trigger in object["spec"]["triggers"].as_sequence().unwrap() {
            if trigger["type"] == "rabbitmq" {
                let queue = trigger["metadata"]["queueName"].as_str().unwrap();
                assert!(
                    declared.contains(queue),
                    "{target} scales on {queue}, which nobody declares"
                );
                scaled.insert(queue.to_owned());
            }
        }
    }
    let work_queues: BTreeSet<String> = [
        "conversation.inbound",
        "conversation.turns",
        "scheduling.rpc",
        "outbound.send",
        "reminders.events",
    ]
    .map(String::from)
    .into();
    assert_eq!(scaled, work_queues, "every work queue scales its worker");
}
