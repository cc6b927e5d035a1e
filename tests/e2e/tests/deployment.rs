//! The three places that name the functions agree: the workspace's `functions/` folder, the
//! local router in `Cargo.toml`, and the SAM template. No services needed.

use std::collections::BTreeMap;
use std::path::Path;

use yaml_rust2::YamlLoader;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Package names under functions/.
fn workspace_functions() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("functions"))
        .unwrap()
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let manifest = std::fs::read_to_string(path.join("Cargo.toml")).ok()?;
            let manifest: toml::Table = manifest.parse().ok()?;
            Some(manifest["package"]["name"].as_str()?.to_string())
        })
        .collect();
    names.sort();
    names
}

/// path -> function, from `[workspace.metadata.lambda.watch.router]`. Every entry must route
/// all methods to one function: the functions answer 405 themselves.
fn router() -> BTreeMap<String, String> {
    let manifest: toml::Table = std::fs::read_to_string(root().join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    manifest["workspace"]["metadata"]["lambda"]["watch"]["router"]
        .as_table()
        .expect("a router table")
        .iter()
        .map(|(path, target)| {
            let function = target
                .as_str()
                .unwrap_or_else(|| panic!("{path}: route every method to one function"));
            (path.clone(), function.to_string())
        })
        .collect()
}

/// path -> function, from the template's Api events (with `{proxy+}` written as the
/// router writes a catch-all), and function -> Binary.
/// The functions that answer with `run_streaming` (chat's replies, the API's completions).
const STREAMING: &[&str] = &["chat", "api"];

fn template() -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let source = std::fs::read_to_string(root().join("infra/template.yaml")).unwrap();
    let docs = YamlLoader::load_from_str(&source).unwrap();
    let mut routes = BTreeMap::new();
    let mut binaries = BTreeMap::new();
    for (name, resource) in docs[0]["Resources"].as_hash().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let name = name.as_str().unwrap().to_string();
        assert_eq!(
            resource["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{name}"
        );
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap();
        binaries.insert(name.clone(), binary.to_string());
        for (_, event) in resource["Properties"]["Events"].as_hash().unwrap() {
            assert_eq!(event["Type"].as_str(), Some("Api"), "{name}");
            let props = &event["Properties"];
            assert_eq!(
                props["Method"].as_str(),
                Some("ANY"),
                "{name}: every method reaches the function"
            );
            // A streaming function's routes must stream; nothing else does.
            let streams = props["ResponseTransferMode"].as_str() == Some("RESPONSE_STREAM");
            assert_eq!(
                streams,
                STREAMING.contains(&name.as_str()),
                "{name}: response transfer mode"
            );
            let path = props["Path"]
                .as_str()
                .unwrap()
                .replace("{proxy+}", "{*path}");
            assert!(
                routes.insert(path.clone(), name.clone()).is_none(),
                "{path} routed twice"
            );
        }
    }
    (routes, binaries)
}

#[test]
fn every_function_is_routed_the_same_way_locally_and_in_aws() {
    let functions = workspace_functions();
    let router = router();
    let (routes, binaries) = template();

    let mut in_template: Vec<String> = binaries.keys().cloned().collect();
    in_template.sort();
    assert_eq!(
        in_template, functions,
        "every function has a template resource, and no other"
    );
    for (resource, binary) in &binaries {
        assert_eq!(
            resource, binary,
            "the resource, its Binary and the package share a name"
        );
    }
    assert_eq!(
        routes, router,
        "the template's API routes equal the watch router's"
    );
    for function in &functions {
        let main = root().join("functions").join(function).join("src/main.rs");
        let streams = std::fs::read_to_string(main)
            .unwrap()
            .contains("run_streaming");
        assert_eq!(
            streams,
            STREAMING.contains(&function.as_str()),
            "{function}: STREAMING lists the functions that stream"
        );
    }
    let mut routed: Vec<String> = router.values().cloned().collect();
    routed.sort();
    routed.dedup();
    assert_eq!(
        routed, functions,
        "every function is reachable, and only functions are routed"
    );
}

/// What a stack costs while nobody uses it: Secrets Manager's $0.40 per secret and
/// CloudWatch's $0.10 per alarm metric each month (the rest is billed by use). Kept under a
/// dollar; every function stays watched, as each is reached only through the API whose 5xx
/// alarm also counts a throttled invocation.
#[test]
fn the_idle_stack_costs_under_a_dollar_a_month_and_every_function_is_watched() {
    let source = std::fs::read_to_string(root().join("infra/template.yaml")).unwrap();
    let docs = YamlLoader::load_from_str(&source).unwrap();
    let resources = docs[0]["Resources"].as_hash().unwrap();
    let (mut secrets, mut alarm_metrics) = (0, 0);
    let mut watched_api = None;
    for resource in resources.values() {
        match resource["Type"].as_str() {
            Some("AWS::SecretsManager::Secret") => secrets += 1,
            Some("AWS::CloudWatch::Alarm") => {
                let properties = &resource["Properties"];
                match properties["Metrics"].as_vec() {
                    Some(metrics) => {
                        alarm_metrics += metrics
                            .iter()
                            .filter(|m| !m["MetricStat"].is_badvalue())
                            .count()
                    }
                    None => alarm_metrics += 1,
                }
                if properties["MetricName"].as_str() == Some("5XXError") {
                    let dimensions = properties["Dimensions"].as_vec().unwrap();
                    watched_api = dimensions
                        .iter()
                        .find(|d| d["Name"].as_str() == Some("ApiName"))
                        .map(|d| d["Value"].clone());
                }
            }
            _ => {}
        }
    }
    let monthly = secrets as f64 * 0.40 + alarm_metrics as f64 * 0.10;
    assert!(
        monthly < 1.0,
        "{secrets} secrets and {alarm_metrics} alarm metrics cost ${monthly:.2} a month idle"
    );
    // The alarm watches the API by the name the Api resource is given.
    let api = &resources[&yaml_rust2::Yaml::String("Api".into())];
    assert_eq!(
        watched_api.as_ref(),
        Some(&api["Properties"]["Name"]),
        "the 5xx alarm watches the portal's API"
    );
    for function in workspace_functions() {
        let resource = &resources[&yaml_rust2::Yaml::String(function.clone())];
        let events = resource["Properties"]["Events"].as_hash().unwrap();
        assert!(!events.is_empty(), "{function} is reached through the API");
        for event in events.values() {
            assert_eq!(event["Type"].as_str(), Some("Api"), "{function}");
            // `!Ref Api`, read without its tag.
            assert_eq!(
                event["Properties"]["RestApiId"].as_str(),
                Some("Api"),
                "{function}: only through the watched API"
            );
        }
    }
}

/// The catalogue a stack deploys with when `ModelCatalogue` is empty parses, and the chat
/// function may call the Bedrock models in it.
#[test]
fn the_default_deployed_catalogue_parses_and_its_bedrock_models_are_allowed() {
    let text = std::fs::read_to_string(root().join("infra/template.yaml")).unwrap();
    let template = &YamlLoader::load_from_str(&text).unwrap()[0];
    let models = &template["Globals"]["Function"]["Environment"]["Variables"]["SWITCHBOARD_MODELS"];
    // `!If [HasModelCatalogue, !Ref ModelCatalogue, !Sub |...]`: the third is the default.
    let default = models
        .as_vec()
        .and_then(|v| v.get(2))
        .and_then(|v| v.as_str())
        .expect("the default catalogue");
    // `${...}` are the stack's secret ARNs, filled in by `!Sub`.
    let filled = default.replace("${ProviderKeys}", "arn:secret:provider-keys");
    let catalogue = shared::ai::Catalogue::parse(&filled).expect("the default catalogue parses");
    let allowed = template["Parameters"]["BedrockModelArns"]["Default"]
        .as_str()
        .expect("the default Bedrock ARNs");
    let bedrock: Vec<_> = catalogue
        .models()
        .iter()
        .filter(|m| m.provider == shared::ai::ProviderKind::Bedrock)
        .collect();
    assert!(
        !bedrock.is_empty(),
        "the default catalogue offers a Bedrock model"
    );
    for model in bedrock {
        // An inference profile id is `geo.provider.model`: its foundation model drops `geo.`.
        let foundation = model.upstream.split_once('.').map_or("", |(_, rest)| rest);
        assert!(
            allowed.contains(&format!("inference-profile/{}", model.upstream)),
            "{}: its inference profile is allowed",
            model.id
        );
        assert!(
            allowed.contains(&format!("foundation-model/{foundation}")),
            "{}: its foundation model is allowed",
            model.id
        );
    }
}
