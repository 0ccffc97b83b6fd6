//! How every protocol-speaking subcommand (`topics`, `groups`, `produce`, `consume`) reaches a
//! cluster: `--bootstrap-server HOST:PORT[,...]` as in Kafka's tools, defaulting to the brokers
//! of the local cluster (`odradek cluster up --dir`), else localhost:9092.

use std::path::PathBuf;

use clap::Args;

use crate::admin::{AdminClient, Bootstrap};
use crate::cluster::{Layout, DEFAULT_DIR};
use crate::metadata::block_on;

/// What `--bootstrap-server` falls back to without a local cluster: Kafka's usual listener.
const DEFAULT_BOOTSTRAP: &str = "localhost:9092";

/// How to reach the cluster; every `topics` subcommand takes these.
#[derive(Args)]
pub struct ConnectArgs {
    /// The brokers to bootstrap from [default: the brokers of the local cluster in --dir if there
    /// is one, else localhost:9092].
    #[arg(long, value_name = "HOST:PORT[,HOST:PORT...]", value_parser = parse_bootstrap_servers)]
    pub bootstrap_server: Option<BootstrapServers>,
    /// The local cluster (`odradek cluster up --dir`) whose brokers are the default bootstrap
    /// servers.
    #[arg(long, default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
}

/// A parsed `--bootstrap-server` list (a newtype, so clap takes it as one value).
#[derive(Clone, Debug)]
pub struct BootstrapServers(Vec<String>);

/// Connects an admin client and runs `work` with it on a small runtime.
pub fn with_admin<T>(
    connect: &ConnectArgs,
    work: impl AsyncFnOnce(&mut AdminClient) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let bootstrap = bootstrap(connect)?;
    block_on(async move {
        let mut admin = AdminClient::connect(bootstrap).await?;
        work(&mut admin).await
    })?
}

/// `--bootstrap-server`, else the brokers of the cluster in `--dir`, else localhost:9092.
pub fn bootstrap(args: &ConnectArgs) -> anyhow::Result<Bootstrap> {
    if let Some(BootstrapServers(servers)) = &args.bootstrap_server {
        return Ok(Bootstrap {
            servers: servers.clone(),
            origin: None,
        });
    }
    let layout = Layout::new(&args.dir)?;
    let brokers = layout.brokers()?;
    if brokers.is_empty() {
        return Ok(Bootstrap {
            servers: vec![DEFAULT_BOOTSTRAP.to_string()],
            origin: Some(format!(
                "the default: no --bootstrap-server and no cluster in {}",
                layout.dir().display()
            )),
        });
    }
    let servers = brokers
        .iter()
        .map(|broker| Ok(format!("127.0.0.1:{}", broker.port()?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Bootstrap {
        servers,
        origin: Some(format!(
            "the brokers of the cluster in {}; is it up? see `odradek cluster status`",
            layout.dir().display()
        )),
    })
}

/// `HOST:PORT[,HOST:PORT...]`, as Kafka's `bootstrap.servers` (a bracketed IPv6 host too).
fn parse_bootstrap_servers(value: &str) -> Result<BootstrapServers, String> {
    let servers: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    if servers.is_empty() {
        return Err("expected HOST:PORT[,HOST:PORT...]".to_string());
    }
    for server in &servers {
        let valid = server.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
        });
        if !valid {
            return Err(format!("'{server}' is not HOST:PORT"));
        }
    }
    Ok(BootstrapServers(servers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_servers_are_host_port_lists() {
        let parsed = parse_bootstrap_servers("127.0.0.1:9093, localhost:9094,[::1]:9095").unwrap();
        assert_eq!(parsed.0, ["127.0.0.1:9093", "localhost:9094", "[::1]:9095"]);
        for bad in [
            "",
            ",",
            "localhost",
            "localhost:",
            ":9092",
            "h:0",
            "h:99999",
            "h:x",
        ] {
            assert!(parse_bootstrap_servers(bad).is_err(), "{bad:?}");
        }
    }
}
