//! The deployment files: the Kubernetes manifests in `deploy/k8s/` parse, every binary
//! gets probes on its admin port, resources and a disruption budget, every variable they
//! set is one the binaries read, and every queue KEDA scales on is one the topology
//! declares. Pods run as the image's numeric non-root user on a read-only root with no
//! capabilities, pause before SIGTERM and spread over nodes; images are pinned; KEDA alone
//! sets replica counts; the migration Job is named for its release; only the webhook is
//! public, over TLS. No fixed broker password ships, and nothing stops the RabbitMQ
//! operator from seeding its default user. The image (`deploy/Dockerfile`) holds only the
//! production binaries and runs as that user.

#[path = "deploy/broker_and_image.rs"]
mod broker_and_image;

use std::{collections::BTreeSet, time::Duration};

use cita_shared::{
    amqp::Topology,
    config::{Component, Settings, VARIABLES},
};
use serde::Deserialize;
use serde_norway::Value;

fn root() -> std::path::PathBuf {
    std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .canonicalize()
        .unwrap()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

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
        "cita-api",
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

/// The Deployments and the Job: everything that runs the image.
fn workloads(documents: &[(String, Value)]) -> Vec<&Value> {
    of_kind(documents, "Deployment")
        .into_iter()
        .chain(of_kind(documents, "Job"))
        .collect()
}

fn containers(workload: &Value) -> &[Value] {
    workload["spec"]["template"]["spec"]["containers"]
        .as_sequence()
        .unwrap()
}

fn kustomization(documents: &[(String, Value)]) -> &Value {
    let all = of_kind(documents, "Kustomization");
    assert_eq!(all.len(), 1);
    all[0]
}

/// `USER` of the image's production stage, which the manifests' `runAsUser` must match.
const IMAGE_USER: i64 = 10001;

#[test]
fn every_pod_runs_as_the_images_numeric_user_on_a_read_only_root_without_capabilities() {
    let documents = manifests();
    for workload in workloads(&documents) {
        let who = name(workload);
        let pod = &workload["spec"]["template"]["spec"];
        let context = &pod["securityContext"];
        assert_eq!(context["runAsNonRoot"].as_bool(), Some(true), "{who}");
        assert_eq!(context["runAsUser"].as_i64(), Some(IMAGE_USER), "{who}");
        assert_eq!(context["runAsGroup"].as_i64(), Some(IMAGE_USER), "{who}");
        assert_eq!(context["seccompProfile"]["type"], "RuntimeDefault", "{who}");
        assert_eq!(
            pod["automountServiceAccountToken"].as_bool(),
            Some(false),
            "{who}"
        );
        for container in containers(workload) {
            let context = &container["securityContext"];
            assert_eq!(
                context["allowPrivilegeEscalation"].as_bool(),
                Some(false),
                "{who}"
            );
            assert_eq!(
                context["readOnlyRootFilesystem"].as_bool(),
                Some(true),
                "{who}"
            );
            assert_ne!(context["privileged"].as_bool(), Some(true), "{who}");
            let dropped: Vec<&str> = context["capabilities"]["drop"]
                .as_sequence()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            assert_eq!(dropped, ["ALL"], "{who} drops every capability");
            assert!(
                context["capabilities"]["add"].is_null(),
                "{who} adds no capability"
            );
        }
    }
}

#[test]
fn every_deployment_pauses_before_sigterm_within_its_grace_period_and_spreads_its_replicas() {
    let documents = manifests();
    // What the pods' environment makes of the shutdown timeout (the ConfigMap, or the
    // binaries' default).
    let config = of_kind(&documents, "ConfigMap")
        .into_iter()
        .find(|c| name(c) == "cita-config")
        .unwrap();
    let env = config["data"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().unwrap().to_owned(),
                v.as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let drain = Settings::from_env(Component::Scheduling, env)
        .unwrap()
        .shutdown_timeout;
    for deployment in of_kind(&documents, "Deployment") {
        let who = name(deployment);
        let pod = &deployment["spec"]["template"]["spec"];
        let labels = &deployment["spec"]["template"]["metadata"]["labels"];
        for container in containers(deployment) {
            // The `sleep` action, not `exec` of a sleep binary: it needs nothing in the image.
            let pause = container["lifecycle"]["preStop"]["sleep"]["seconds"]
                .as_u64()
                .unwrap_or_else(|| panic!("{who} has no preStop sleep"));
            assert!(pause > 0, "{who}");
            let grace = Duration::from_secs(pod["terminationGracePeriodSeconds"].as_u64().unwrap());
            assert!(
                Duration::from_secs(pause) + drain < grace,
                "{who}: a {pause} s pause and a {drain:?} drain must end before SIGKILL at {grace:?}"
            );
        }
        let spread = pod["topologySpreadConstraints"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{who} has no topologySpreadConstraints"));
        let keys: BTreeSet<&str> = spread
            .iter()
            .map(|c| {
                assert_eq!(
                    &c["labelSelector"]["matchLabels"], labels,
                    "{who} spreads its own pods"
                );
                assert!(c["maxSkew"].as_u64().is_some_and(|s| s >= 1), "{who}");
                c["topologyKey"].as_str().unwrap()
            })
            .collect();
        assert_eq!(
            keys,
            ["kubernetes.io/hostname", "topology.kubernetes.io/zone"].into(),
            "{who}"
        );
        let by_node = spread
            .iter()
            .find(|c| c["topologyKey"] == "kubernetes.io/hostname")
            .unwrap();
        assert_eq!(by_node["whenUnsatisfiable"], "DoNotSchedule", "{who}");
    }
}

/// A tag that names one build: not `latest`, and present.
fn pinned(tag: &str) -> bool {
    !tag.is_empty() && tag != "latest"
}

#[test]
fn every_image_is_pinned_to_a_release() {
    let documents = manifests();
    let rewritten: Vec<&Value> = kustomization(&documents)["images"]
        .as_sequence()
        .unwrap()
        .iter()
        .collect();
    for image in &rewritten {
        let tag = image["newTag"].as_str().unwrap_or("");
        assert!(
            pinned(tag) || image["digest"].as_str().is_some(),
            "kustomization pins {} to `{tag}`",
            image["name"].as_str().unwrap()
        );
    }
    let mut images: Vec<(String, String)> = workloads(&documents)
        .into_iter()
        .flat_map(|w| {
            containers(w)
                .iter()
                .map(|c| (name(w).to_owned(), c["image"].as_str().unwrap().to_owned()))
        })
        .collect();
    for cluster in of_kind(&documents, "RabbitmqCluster") {
        images.push((
            name(cluster).to_owned(),
            cluster["spec"]["image"]
                .as_str()
                .expect("the broker's image is named, not the operator's default")
                .to_owned(),
        ));
    }
    for (who, image) in images {
        if rewritten.iter().any(|r| r["name"] == image.as_str()) {
            continue;
        }
        let (_, tag) = image
            .rsplit_once(':')
            .filter(|(_, tag)| !tag.contains('/'))
            .unwrap_or((&image, ""));
        assert!(pinned(tag), "{who} runs {image}, which is not pinned");
    }
}

/// A Job's pod template is immutable: applying a new image to a Job of the same name
/// fails. So the Job is named for the release, and a new release is a new Job.
#[test]
fn the_migration_job_is_named_for_the_release_it_migrates_to() {
    let documents = manifests();
    let tag = kustomization(&documents)["images"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "cita")
        .and_then(|i| i["newTag"].as_str())
        .unwrap();
    let jobs = of_kind(&documents, "Job");
    assert_eq!(jobs.len(), 1);
    let job = jobs[0];
    assert_eq!(
        name(job),
        format!("cita-migrate-{}", tag.replace('.', "-")),
        "migrate.yaml's Job is named for the image tag in kustomization.yaml"
    );
    assert_eq!(containers(job)[0]["image"], "cita");
    assert_eq!(containers(job)[0]["command"][0], "cita-migrate");
    // A label to apply it alone, before the Deployments (`-l app=cita-migrate`).
    assert_eq!(job["metadata"]["labels"]["app"], "cita-migrate");
}

#[test]
fn only_the_webhook_and_the_api_are_public_and_only_over_tls() {
    let documents = manifests();
    let ingresses = of_kind(&documents, "Ingress");
    assert_eq!(ingresses.len(), 2, "the webhook's entrance and the API's");
    let mut paths = Vec::new();
    for ingress in ingresses {
        assert!(
            !ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"].is_null(),
            "cert-manager issues and renews the certificate"
        );
        let tls = ingress["spec"]["tls"].as_sequence().expect("a tls section");
        let covered: BTreeSet<&str> = tls
            .iter()
            .inspect(|t| assert!(t["secretName"].as_str().is_some()))
            .flat_map(|t| t["hosts"].as_sequence().unwrap())
            .map(|h| h.as_str().unwrap())
            .collect();
        for rule in ingress["spec"]["rules"].as_sequence().unwrap() {
            let host = rule["host"].as_str().expect("a rule names its host");
            assert!(covered.contains(host), "{host} is served without TLS");
            for path in rule["http"]["paths"].as_sequence().unwrap() {
                paths.push((
                    path["path"].as_str().unwrap(),
                    path["pathType"].as_str().unwrap(),
                    path["backend"]["service"]["name"].as_str().unwrap(),
                    path["backend"]["service"]["port"]["name"].as_str().unwrap(),
                ));
            }
        }
        assert!(ingress["spec"]["defaultBackend"].is_null());
    }
    paths.sort();
    assert_eq!(
        paths,
        [
            ("/", "Prefix", "cita-api", "http"),
            ("/webhooks/whatsapp", "Exact", "cita-ingress", "http")
        ]
    );

    // Each Service forwards that port to its binary's listener, and no Service exposes
    // anything else (the admin ports stay inside the cluster network).
    let services: BTreeSet<&str> = of_kind(&documents, "Service")
        .into_iter()
        .map(name)
        .collect();
    assert_eq!(services, ["cita-api", "cita-ingress"].into());
    for service in of_kind(&documents, "Service") {
        assert!(
            service["spec"]["type"].is_null() || service["spec"]["type"] == "ClusterIP",
            "the Ingresses are the only way in"
        );
        let ports = service["spec"]["ports"].as_sequence().unwrap();
        assert_eq!(ports.len(), 1);
        assert_eq!(ports[0]["name"], "http");
        assert_eq!(ports[0]["targetPort"], "http");
    }
    let ingress_deployment = of_kind(&documents, "Deployment")
        .into_iter()
        .find(|d| name(d) == "cita-ingress")
        .unwrap();
    let listener = containers(ingress_deployment)[0]["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "http")
        .expect("the ingress names its webhook port")
        .clone();
    let config = of_kind(&documents, "ConfigMap")
        .into_iter()
        .find(|c| name(c) == "cita-config")
        .unwrap();
    let listen = config["data"]["CITA_LISTEN_ADDR"].as_str().unwrap();
    assert_eq!(
        listen.rsplit_once(':').unwrap().1,
        listener["containerPort"].as_u64().unwrap().to_string(),
        "the webhook port is where the ingress listens"
    );
}
