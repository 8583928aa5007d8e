//! Container definitions and task-level documents (volumes, runtime platform...) between the
//! SDK's types and JSON in the shape of the ECS API (`aws ecs describe-task-definition`):
//! camelCase keys, as ECS documents them, except `environment`, which rehearsal keeps as a
//! table of names to values (the spec's form, and order means nothing to ECS).
//!
//! A clone copies a production task definition whole, so every field ECS describes is read
//! here, and a field the registration cannot send back is refused by name rather than
//! dropped: a clone that silently lost production's ulimits would not be production's.
//! https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html

use std::collections::{BTreeSet, HashMap};

use aws_sdk_ecs::types::{
    ApplicationProtocol, ContainerCondition, ContainerDefinition, ContainerDependency,
    ContainerRestartPolicy, CpuArchitecture, DockerVolumeConfiguration, EfsAuthorizationConfig,
    EfsAuthorizationConfigIam, EfsTransitEncryption, EnvironmentFile, EnvironmentFileType,
    EphemeralStorage, FirelensConfiguration, FirelensConfigurationType, HealthCheck, HostEntry,
    HostVolumeProperties, KernelCapabilities, KeyValuePair, LinuxParameters, LogConfiguration,
    LogDriver, MountPoint, OsFamily, PortMapping, RepositoryCredentials, ResourceRequirement,
    ResourceType, RuntimePlatform, Scope, Secret, SystemControl, TaskDefinitionPlacementConstraint,
    TaskDefinitionPlacementConstraintType, TransportProtocol, Ulimit, UlimitName,
    VersionConsistency, Volume, VolumeFrom,
};
use serde_json::{Map, Value, json};

use crate::model::ResourceKind;
use crate::provider::ProviderError;

const KIND: ResourceKind = ResourceKind::EcsTaskDefinition;

// --- SDK → JSON -----------------------------------------------------------------------------

/// A JSON object that leaves out what ECS left out (absent values, empty lists and maps).
#[derive(Default)]
struct Out(Map<String, Value>);

impl Out {
    fn put(&mut self, key: &str, value: Option<impl Into<Value>>) -> &mut Self {
        if let Some(v) = value {
            self.0.insert(key.into(), v.into());
        }
        self
    }
    fn list(&mut self, key: &str, items: Vec<Value>) -> &mut Self {
        if !items.is_empty() {
            self.0.insert(key.into(), Value::Array(items));
        }
        self
    }
    fn strings(&mut self, key: &str, items: &[String]) -> &mut Self {
        self.list(key, items.iter().map(|s| json!(s)).collect())
    }
    fn map(&mut self, key: &str, map: Option<&HashMap<String, String>>) -> &mut Self {
        if let Some(m) = map.filter(|m| !m.is_empty()) {
            let sorted: Map<String, Value> = m.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            self.0.insert(key.into(), Value::Object(sorted));
        }
        self
    }
    fn obj(&mut self, key: &str, value: Option<Out>) -> &mut Self {
        self.put(key, value.map(Out::done))
    }
    fn done(self) -> Value {
        Value::Object(self.0)
    }
}

fn secret_json(s: &Secret) -> Value {
    json!({"name": s.name(), "valueFrom": s.value_from()})
}

/// One container as ECS describes it.
pub(crate) fn container_json(c: &ContainerDefinition) -> Value {
    let mut o = Out::default();
    o.put("name", c.name())
        .put("image", c.image())
        .obj(
            "repositoryCredentials",
            c.repository_credentials().map(|r| {
                let mut o = Out::default();
                o.put("credentialsParameter", Some(r.credentials_parameter()));
                o
            }),
        )
        .put("cpu", Some(c.cpu()))
        .put("memory", c.memory())
        .put("memoryReservation", c.memory_reservation())
        .strings("links", c.links())
        .list(
            "portMappings",
            c.port_mappings()
                .iter()
                .map(|p| {
                    let mut o = Out::default();
                    o.put("containerPort", p.container_port())
                        .put("hostPort", p.host_port())
                        .put("protocol", p.protocol().map(|t| t.as_str()))
                        .put("name", p.name())
                        .put("appProtocol", p.app_protocol().map(|t| t.as_str()))
                        .put("containerPortRange", p.container_port_range());
                    o.done()
                })
                .collect(),
        )
        .put("essential", c.essential())
        .obj(
            "restartPolicy",
            c.restart_policy().map(|r| {
                let mut o = Out::default();
                o.put("enabled", Some(r.enabled()))
                    .list(
                        "ignoredExitCodes",
                        r.ignored_exit_codes().iter().map(|c| json!(c)).collect(),
                    )
                    .put("restartAttemptPeriod", r.restart_attempt_period());
                o
            }),
        )
        .strings("entryPoint", c.entry_point())
        .strings("command", c.command());
    let environment: Map<String, Value> = c
        .environment()
        .iter()
        .filter_map(|kv| Some((kv.name()?.to_owned(), json!(kv.value().unwrap_or_default()))))
        .collect();
    if !environment.is_empty() {
        o.0.insert("environment".into(), Value::Object(environment));
    }
    o.list(
        "environmentFiles",
        c.environment_files()
            .iter()
            .map(|f| json!({"value": f.value(), "type": f.r#type().as_str()}))
            .collect(),
    )
    .list(
        "mountPoints",
        c.mount_points()
            .iter()
            .map(|m| {
                let mut o = Out::default();
                o.put("sourceVolume", m.source_volume())
                    .put("containerPath", m.container_path())
                    .put("readOnly", m.read_only());
                o.done()
            })
            .collect(),
    )
    .list(
        "volumesFrom",
        c.volumes_from()
            .iter()
            .map(|v| {
                let mut o = Out::default();
                o.put("sourceContainer", v.source_container())
                    .put("readOnly", v.read_only());
                o.done()
            })
            .collect(),
    )
    .obj("linuxParameters", c.linux_parameters().map(linux_json))
    .list("secrets", c.secrets().iter().map(secret_json).collect())
    .list(
        "dependsOn",
        c.depends_on()
            .iter()
            .map(|d| json!({"containerName": d.container_name(), "condition": d.condition().as_str()}))
            .collect(),
    )
    .put("startTimeout", c.start_timeout())
    .put("stopTimeout", c.stop_timeout())
    .put("versionConsistency", c.version_consistency().map(|v| v.as_str()))
    .put("hostname", c.hostname())
    .put("user", c.user())
    .put("workingDirectory", c.working_directory())
    .put("disableNetworking", c.disable_networking())
    .put("privileged", c.privileged())
    .put("readonlyRootFilesystem", c.readonly_root_filesystem())
    .strings("dnsServers", c.dns_servers())
    .strings("dnsSearchDomains", c.dns_search_domains())
    .list(
        "extraHosts",
        c.extra_hosts()
            .iter()
            .map(|h| json!({"hostname": h.hostname(), "ipAddress": h.ip_address()}))
            .collect(),
    )
    .strings("dockerSecurityOptions", c.docker_security_options())
    .put("interactive", c.interactive())
    .put("pseudoTerminal", c.pseudo_terminal())
    .map("dockerLabels", c.docker_labels())
    .list(
        "ulimits",
        c.ulimits()
            .iter()
            .map(|u| {
                json!({"name": u.name().as_str(), "softLimit": u.soft_limit(),
                       "hardLimit": u.hard_limit()})
            })
            .collect(),
    )
    .obj(
        "logConfiguration",
        c.log_configuration().map(|l| {
            let mut o = Out::default();
            o.put("logDriver", Some(l.log_driver().as_str()))
                .map("options", l.options())
                .list(
                    "secretOptions",
                    l.secret_options().iter().map(secret_json).collect(),
                );
            o
        }),
    )
    .obj(
        "healthCheck",
        c.health_check().map(|h| {
            let mut o = Out::default();
            o.strings("command", h.command())
                .put("interval", h.interval())
                .put("timeout", h.timeout())
                .put("retries", h.retries())
                .put("startPeriod", h.start_period());
            o
        }),
    )
    .list(
        "systemControls",
        c.system_controls()
            .iter()
            .map(|s| {
                let mut o = Out::default();
                o.put("namespace", s.namespace()).put("value", s.value());
                o.done()
            })
            .collect(),
    )
    .list(
        "resourceRequirements",
        c.resource_requirements()
            .iter()
            .map(|r| json!({"value": r.value(), "type": r.r#type().as_str()}))
            .collect(),
    )
    .obj(
        "firelensConfiguration",
        c.firelens_configuration().map(|f| {
            let mut o = Out::default();
            o.put("type", Some(f.r#type().as_str()))
                .map("options", f.options());
            o
        }),
    )
    .strings("credentialSpecs", c.credential_specs());
    o.done()
}

fn linux_json(l: &LinuxParameters) -> Out {
    let mut o = Out::default();
    o.obj(
        "capabilities",
        l.capabilities().map(|c| {
            let mut o = Out::default();
            o.strings("add", c.add()).strings("drop", c.drop());
            o
        }),
    )
    .put("initProcessEnabled", l.init_process_enabled())
    .put("sharedMemorySize", l.shared_memory_size())
    .put("maxSwap", l.max_swap())
    .put("swappiness", l.swappiness());
    // Devices and tmpfs mounts are EC2-launch-type only and rare: a source using them is
    // refused when registered (below), not copied without them.
    if !l.devices().is_empty() {
        o.0.insert("devices".into(), json!("(not copied by rehearsal)"));
    }
    if !l.tmpfs().is_empty() {
        o.0.insert("tmpfs".into(), json!("(not copied by rehearsal)"));
    }
    o
}

pub(crate) fn volume_json(v: &Volume) -> Value {
    let mut o = Out::default();
    o.put("name", v.name())
        .obj(
            "host",
            v.host().map(|h| {
                let mut o = Out::default();
                o.put("sourcePath", h.source_path());
                o
            }),
        )
        .obj(
            "dockerVolumeConfiguration",
            v.docker_volume_configuration().map(|d| {
                let mut o = Out::default();
                o.put("scope", d.scope().map(|s| s.as_str()))
                    .put("autoprovision", d.autoprovision())
                    .put("driver", d.driver())
                    .map("driverOpts", d.driver_opts())
                    .map("labels", d.labels());
                o
            }),
        )
        .obj(
            "efsVolumeConfiguration",
            v.efs_volume_configuration().map(|e| {
                let mut o = Out::default();
                o.put("fileSystemId", Some(e.file_system_id()))
                    .put("rootDirectory", e.root_directory())
                    .put(
                        "transitEncryption",
                        e.transit_encryption().map(|t| t.as_str()),
                    )
                    .put("transitEncryptionPort", e.transit_encryption_port())
                    .obj(
                        "authorizationConfig",
                        e.authorization_config().map(|a| {
                            let mut o = Out::default();
                            o.put("accessPointId", a.access_point_id())
                                .put("iam", a.iam().map(|i| i.as_str()));
                            o
                        }),
                    );
                o
            }),
        )
        .put("configuredAtLaunch", v.configured_at_launch());
    if v.fsx_windows_file_server_volume_configuration().is_some() {
        o.0.insert(
            "fsxWindowsFileServerVolumeConfiguration".into(),
            json!("(not copied by rehearsal)"),
        );
    }
    o.done()
}

pub(crate) fn placement_json(p: &TaskDefinitionPlacementConstraint) -> Value {
    let mut o = Out::default();
    o.put("type", p.r#type().map(|t| t.as_str()))
        .put("expression", p.expression());
    o.done()
}

pub(crate) fn runtime_platform_json(r: &RuntimePlatform) -> Value {
    let mut o = Out::default();
    o.put("cpuArchitecture", r.cpu_architecture().map(|c| c.as_str()))
        .put(
            "operatingSystemFamily",
            r.operating_system_family().map(|f| f.as_str()),
        );
    o.done()
}

pub(crate) fn ephemeral_storage_json(e: &EphemeralStorage) -> Value {
    json!({"sizeInGiB": e.size_in_gib()})
}

// --- JSON → SDK -----------------------------------------------------------------------------

/// Reads one JSON object, and refuses any key it was not asked about: what rehearsal cannot
/// register is named, never dropped.
struct In<'a> {
    what: String,
    obj: &'a Map<String, Value>,
    read: BTreeSet<&'static str>,
}

fn bad(message: String) -> ProviderError {
    crate::aws::errors::attribute(KIND, message)
}

impl<'a> In<'a> {
    fn new(what: impl Into<String>, value: &'a Value) -> Result<Self, ProviderError> {
        let what = what.into();
        let obj = value
            .as_object()
            .ok_or_else(|| bad(format!("{what} must be a table, not {value}")))?;
        Ok(In {
            what,
            obj,
            read: BTreeSet::new(),
        })
    }

    fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.read.insert(key);
        self.obj.get(key).filter(|v| !v.is_null())
    }

    fn str(&mut self, key: &'static str) -> Result<Option<String>, ProviderError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(bad(format!(
                "{}.{key} must be a string, not {other}",
                self.what
            ))),
        }
    }

    fn i32(&mut self, key: &'static str) -> Result<Option<i32>, ProviderError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .and_then(|n| i32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| {
                    bad(format!(
                        "{}.{key} must be a whole number, not {v}",
                        self.what
                    ))
                }),
        }
    }

    fn bool(&mut self, key: &'static str) -> Result<Option<bool>, ProviderError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(bad(format!(
                "{}.{key} must be true or false, not {other}",
                self.what
            ))),
        }
    }

    fn strings(&mut self, key: &'static str) -> Result<Option<Vec<String>>, ProviderError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| match i {
                    Value::String(s) => Ok(s.clone()),
                    other => Ok(other.to_string()),
                })
                .collect::<Result<Vec<_>, ProviderError>>()
                .map(Some),
            Some(other) => Err(bad(format!(
                "{}.{key} must be a list of strings, not {other}",
                self.what
            ))),
        }
    }

    fn map(&mut self, key: &'static str) -> Result<Option<HashMap<String, String>>, ProviderError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(
                m.iter()
                    .map(|(k, v)| {
                        let v = v
                            .as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string());
                        (k.clone(), v)
                    })
                    .collect(),
            )),
            Some(other) => Err(bad(format!(
                "{}.{key} must be a table of strings, not {other}",
                self.what
            ))),
        }
    }

    /// Each item of a list of tables, read by `each`.
    fn each<T>(
        &mut self,
        key: &'static str,
        mut each: impl FnMut(In<'a>) -> Result<T, ProviderError>,
    ) -> Result<Option<Vec<T>>, ProviderError> {
        let what = format!("{}.{key}", self.what);
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| each(In::new(format!("{what}[{i}]"), item)?))
                .collect::<Result<Vec<T>, _>>()
                .map(|v| (!v.is_empty()).then_some(v)),
            Some(other) => Err(bad(format!("{what} must be a list, not {other}"))),
        }
    }

    fn nested<T>(
        &mut self,
        key: &'static str,
        read: impl FnOnce(In<'a>) -> Result<T, ProviderError>,
    ) -> Result<Option<T>, ProviderError> {
        let what = format!("{}.{key}", self.what);
        match self.get(key) {
            None => Ok(None),
            Some(v) => read(In::new(what, v)?).map(Some),
        }
    }

    /// Every key was read: anything else is a field rehearsal cannot register.
    fn finish(self) -> Result<(), ProviderError> {
        match self.obj.keys().find(|k| !self.read.contains(k.as_str())) {
            None => Ok(()),
            Some(k) => Err(bad(format!(
                "{}.{k} is not a field rehearsal can register (a task definition using it \
                 cannot be cloned yet)",
                self.what
            ))),
        }
    }
}

fn built<T, E: std::fmt::Display>(what: &str, r: Result<T, E>) -> Result<T, ProviderError> {
    r.map_err(|e| bad(format!("{what}: {e}")))
}

fn secret(mut s: In) -> Result<Secret, ProviderError> {
    let out = Secret::builder()
        .set_name(s.str("name")?)
        .set_value_from(s.str("valueFrom")?)
        .build();
    let what = s.what.clone();
    s.finish()?;
    built(&what, out)
}

/// A container definition to register.
pub(crate) fn container_definition(value: &Value) -> Result<ContainerDefinition, ProviderError> {
    let name = value.get("name").and_then(Value::as_str).unwrap_or("?");
    let mut c = In::new(format!("containers[\"{name}\"]"), value)?;
    let environment = match c.get("environment") {
        None => None,
        Some(Value::Object(env)) => Some(
            env.iter()
                .map(|(k, v)| {
                    let value = crate::aws::tags::scalar_string(v).ok_or_else(|| {
                        bad(format!("environment variable `{k}` must be a string"))
                    })?;
                    Ok(KeyValuePair::builder().name(k).value(value).build())
                })
                .collect::<Result<Vec<_>, ProviderError>>()?,
        ),
        Some(other) => {
            return Err(bad(format!(
                "`environment` must be a table of names to values, not {other}"
            )));
        }
    };
    let port_mappings = c.each("portMappings", |mut p| {
        let out = PortMapping::builder()
            .set_container_port(p.i32("containerPort")?)
            .set_host_port(p.i32("hostPort")?)
            .set_protocol(p.str("protocol")?.as_deref().map(TransportProtocol::from))
            .set_name(p.str("name")?)
            .set_app_protocol(
                p.str("appProtocol")?
                    .as_deref()
                    .map(ApplicationProtocol::from),
            )
            .set_container_port_range(p.str("containerPortRange")?)
            .build();
        p.finish()?;
        Ok(out)
    })?;
    let repository_credentials = c.nested("repositoryCredentials", |mut r| {
        let out = RepositoryCredentials::builder()
            .set_credentials_parameter(r.str("credentialsParameter")?)
            .build();
        let what = r.what.clone();
        r.finish()?;
        built(&what, out)
    })?;
    let restart_policy = c.nested("restartPolicy", |mut r| {
        let codes = match r.get("ignoredExitCodes") {
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .filter_map(|i| i.as_i64().and_then(|n| i32::try_from(n).ok()))
                    .collect(),
            ),
            _ => None,
        };
        let out = ContainerRestartPolicy::builder()
            .set_enabled(r.bool("enabled")?)
            .set_ignored_exit_codes(codes)
            .set_restart_attempt_period(r.i32("restartAttemptPeriod")?)
            .build();
        let what = r.what.clone();
        r.finish()?;
        built(&what, out)
    })?;
    let environment_files = c.each("environmentFiles", |mut f| {
        let out = EnvironmentFile::builder()
            .set_value(f.str("value")?)
            .set_type(f.str("type")?.as_deref().map(EnvironmentFileType::from))
            .build();
        let what = f.what.clone();
        f.finish()?;
        built(&what, out)
    })?;
    let mount_points = c.each("mountPoints", |mut m| {
        let out = MountPoint::builder()
            .set_source_volume(m.str("sourceVolume")?)
            .set_container_path(m.str("containerPath")?)
            .set_read_only(m.bool("readOnly")?)
            .build();
        m.finish()?;
        Ok(out)
    })?;
    let volumes_from = c.each("volumesFrom", |mut v| {
        let out = VolumeFrom::builder()
            .set_source_container(v.str("sourceContainer")?)
            .set_read_only(v.bool("readOnly")?)
            .build();
        v.finish()?;
        Ok(out)
    })?;
    let linux_parameters = c.nested("linuxParameters", |mut l| {
        let capabilities = l.nested("capabilities", |mut k| {
            let out = KernelCapabilities::builder()
                .set_add(k.strings("add")?)
                .set_drop(k.strings("drop")?)
                .build();
            k.finish()?;
            Ok(out)
        })?;
        let out = LinuxParameters::builder()
            .set_capabilities(capabilities)
            .set_init_process_enabled(l.bool("initProcessEnabled")?)
            .set_shared_memory_size(l.i32("sharedMemorySize")?)
            .set_max_swap(l.i32("maxSwap")?)
            .set_swappiness(l.i32("swappiness")?)
            .build();
        l.finish()?;
        Ok(out)
    })?;
    let secrets = c.each("secrets", secret)?;
    let depends_on = c.each("dependsOn", |mut d| {
        let out = ContainerDependency::builder()
            .set_container_name(d.str("containerName")?)
            .set_condition(d.str("condition")?.as_deref().map(ContainerCondition::from))
            .build();
        let what = d.what.clone();
        d.finish()?;
        built(&what, out)
    })?;
    let extra_hosts = c.each("extraHosts", |mut h| {
        let out = HostEntry::builder()
            .set_hostname(h.str("hostname")?)
            .set_ip_address(h.str("ipAddress")?)
            .build();
        let what = h.what.clone();
        h.finish()?;
        built(&what, out)
    })?;
    let ulimits = c.each("ulimits", |mut u| {
        let out = Ulimit::builder()
            .set_name(u.str("name")?.as_deref().map(UlimitName::from))
            .set_soft_limit(u.i32("softLimit")?)
            .set_hard_limit(u.i32("hardLimit")?)
            .build();
        let what = u.what.clone();
        u.finish()?;
        built(&what, out)
    })?;
    let log_configuration = c.nested("logConfiguration", |mut l| {
        let out = LogConfiguration::builder()
            .set_log_driver(l.str("logDriver")?.as_deref().map(LogDriver::from))
            .set_options(l.map("options")?)
            .set_secret_options(l.each("secretOptions", secret)?)
            .build();
        let what = l.what.clone();
        l.finish()?;
        built(&what, out)
    })?;
    let health_check = c.nested("healthCheck", |mut h| {
        let out = HealthCheck::builder()
            .set_command(h.strings("command")?)
            .set_interval(h.i32("interval")?)
            .set_timeout(h.i32("timeout")?)
            .set_retries(h.i32("retries")?)
            .set_start_period(h.i32("startPeriod")?)
            .build();
        let what = h.what.clone();
        h.finish()?;
        built(&what, out)
    })?;
    let system_controls = c.each("systemControls", |mut s| {
        let out = SystemControl::builder()
            .set_namespace(s.str("namespace")?)
            .set_value(s.str("value")?)
            .build();
        s.finish()?;
        Ok(out)
    })?;
    let resource_requirements = c.each("resourceRequirements", |mut r| {
        let out = ResourceRequirement::builder()
            .set_value(r.str("value")?)
            .set_type(r.str("type")?.as_deref().map(ResourceType::from))
            .build();
        let what = r.what.clone();
        r.finish()?;
        built(&what, out)
    })?;
    let firelens = c.nested("firelensConfiguration", |mut f| {
        let out = FirelensConfiguration::builder()
            .set_type(
                f.str("type")?
                    .as_deref()
                    .map(FirelensConfigurationType::from),
            )
            .set_options(f.map("options")?)
            .build();
        let what = f.what.clone();
        f.finish()?;
        built(&what, out)
    })?;
    let out = ContainerDefinition::builder()
        .set_name(c.str("name")?)
        .set_image(c.str("image")?)
        .set_repository_credentials(repository_credentials)
        .set_cpu(c.i32("cpu")?)
        .set_memory(c.i32("memory")?)
        .set_memory_reservation(c.i32("memoryReservation")?)
        .set_links(c.strings("links")?)
        .set_port_mappings(port_mappings)
        .set_essential(c.bool("essential")?)
        .set_restart_policy(restart_policy)
        .set_entry_point(c.strings("entryPoint")?)
        .set_command(c.strings("command")?)
        .set_environment(environment)
        .set_environment_files(environment_files)
        .set_mount_points(mount_points)
        .set_volumes_from(volumes_from)
        .set_linux_parameters(linux_parameters)
        .set_secrets(secrets)
        .set_depends_on(depends_on)
        .set_start_timeout(c.i32("startTimeout")?)
        .set_stop_timeout(c.i32("stopTimeout")?)
        .set_version_consistency(
            c.str("versionConsistency")?
                .as_deref()
                .map(VersionConsistency::from),
        )
        .set_hostname(c.str("hostname")?)
        .set_user(c.str("user")?)
        .set_working_directory(c.str("workingDirectory")?)
        .set_disable_networking(c.bool("disableNetworking")?)
        .set_privileged(c.bool("privileged")?)
        .set_readonly_root_filesystem(c.bool("readonlyRootFilesystem")?)
        .set_dns_servers(c.strings("dnsServers")?)
        .set_dns_search_domains(c.strings("dnsSearchDomains")?)
        .set_extra_hosts(extra_hosts)
        .set_docker_security_options(c.strings("dockerSecurityOptions")?)
        .set_interactive(c.bool("interactive")?)
        .set_pseudo_terminal(c.bool("pseudoTerminal")?)
        .set_docker_labels(c.map("dockerLabels")?)
        .set_ulimits(ulimits)
        .set_log_configuration(log_configuration)
        .set_health_check(health_check)
        .set_system_controls(system_controls)
        .set_resource_requirements(resource_requirements)
        .set_firelens_configuration(firelens)
        .set_credential_specs(c.strings("credentialSpecs")?)
        .build();
    c.finish()?;
    Ok(out)
}

pub(crate) fn volume(value: &Value) -> Result<Volume, ProviderError> {
    let mut v = In::new("volumes[]", value)?;
    let host = v.nested("host", |mut h| {
        let out = HostVolumeProperties::builder()
            .set_source_path(h.str("sourcePath")?)
            .build();
        h.finish()?;
        Ok(out)
    })?;
    let docker = v.nested("dockerVolumeConfiguration", |mut d| {
        let out = DockerVolumeConfiguration::builder()
            .set_scope(d.str("scope")?.as_deref().map(Scope::from))
            .set_autoprovision(d.bool("autoprovision")?)
            .set_driver(d.str("driver")?)
            .set_driver_opts(d.map("driverOpts")?)
            .set_labels(d.map("labels")?)
            .build();
        d.finish()?;
        Ok(out)
    })?;
    let efs = v.nested("efsVolumeConfiguration", |mut e| {
        let auth = e.nested("authorizationConfig", |mut a| {
            let out = EfsAuthorizationConfig::builder()
                .set_access_point_id(a.str("accessPointId")?)
                .set_iam(
                    a.str("iam")?
                        .as_deref()
                        .map(EfsAuthorizationConfigIam::from),
                )
                .build();
            a.finish()?;
            Ok(out)
        })?;
        let out = aws_sdk_ecs::types::EfsVolumeConfiguration::builder()
            .set_file_system_id(e.str("fileSystemId")?)
            .set_root_directory(e.str("rootDirectory")?)
            .set_transit_encryption(
                e.str("transitEncryption")?
                    .as_deref()
                    .map(EfsTransitEncryption::from),
            )
            .set_transit_encryption_port(e.i32("transitEncryptionPort")?)
            .set_authorization_config(auth)
            .build();
        let what = e.what.clone();
        e.finish()?;
        built(&what, out)
    })?;
    let out = Volume::builder()
        .set_name(v.str("name")?)
        .set_host(host)
        .set_docker_volume_configuration(docker)
        .set_efs_volume_configuration(efs)
        .set_configured_at_launch(v.bool("configuredAtLaunch")?)
        .build();
    v.finish()?;
    Ok(out)
}

pub(crate) fn placement_constraint(
    value: &Value,
) -> Result<TaskDefinitionPlacementConstraint, ProviderError> {
    let mut p = In::new("placement_constraints[]", value)?;
    let out = TaskDefinitionPlacementConstraint::builder()
        .set_type(
            p.str("type")?
                .as_deref()
                .map(TaskDefinitionPlacementConstraintType::from),
        )
        .set_expression(p.str("expression")?)
        .build();
    p.finish()?;
    Ok(out)
}

pub(crate) fn runtime_platform(value: &Value) -> Result<RuntimePlatform, ProviderError> {
    let mut r = In::new("runtime_platform", value)?;
    let out = RuntimePlatform::builder()
        .set_cpu_architecture(
            r.str("cpuArchitecture")?
                .as_deref()
                .map(CpuArchitecture::from),
        )
        .set_operating_system_family(
            r.str("operatingSystemFamily")?
                .as_deref()
                .map(OsFamily::from),
        )
        .build();
    r.finish()?;
    Ok(out)
}

pub(crate) fn ephemeral_storage(value: &Value) -> Result<EphemeralStorage, ProviderError> {
    let mut e = In::new("ephemeral_storage", value)?;
    let size = e.i32("sizeInGiB")?;
    let what = e.what.clone();
    e.finish()?;
    let _ = what;
    Ok(EphemeralStorage::builder().set_size_in_gib(size).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_container_survives_the_round_trip_and_unknown_fields_are_named() {
        let c = json!({
            "name": "server", "image": "example/server:3.1.0", "cpu": 256, "memory": 512,
            "essential": true,
            "portMappings": [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}],
            "environment": {"A": "1"},
            "secrets": [{"name": "DB_PASSWORD", "valueFrom": "arn:aws:ssm:eu-west-1:1:parameter/p"}],
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/server"}},
            "healthCheck": {"command": ["CMD-SHELL", "curl -f localhost:8080"], "interval": 30,
                            "timeout": 5, "retries": 3, "startPeriod": 60},
            "mountPoints": [{"sourceVolume": "data", "containerPath": "/data", "readOnly": false}],
            "ulimits": [{"name": "nofile", "softLimit": 65536, "hardLimit": 65536}]
        });
        let sdk = container_definition(&c).unwrap();
        assert_eq!(container_json(&sdk), c);
        let mut odd = c.clone();
        odd["gpuCount"] = json!(1);
        let err = container_definition(&odd).unwrap_err().to_string();
        assert!(err.contains("containers[\"server\"].gpuCount"), "{err}");
    }
}
