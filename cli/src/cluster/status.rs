//! `odradek cluster status`: one line per ZooKeeper node (its mode, from `zookeeper.sh status`)
//! and per broker (its process and what its Metadata says), then the controller.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::Duration;

use super::layout::Layout;
use crate::{locate, metadata, processes};

pub fn run(layout: &Layout) -> anyhow::Result<ExitCode> {
    let brokers = layout.brokers()?;
    anyhow::ensure!(
        layout.has_ensemble() || !brokers.is_empty(),
        "no cluster in {}: run `odradek cluster up` first",
        layout.dir().display()
    );
    let script = locate::zookeeper_script()?;
    let mut all_up = true;

    if layout.has_ensemble() {
        let zk = processes::zookeeper_sh(&script, "status", &layout.zookeeper_dir(), &[])?;
        for line in zk.stdout.lines() {
            // `zk1 127.0.0.1:2181 leader`
            let mut fields = line.split_whitespace();
            let (Some(node), Some(addr), Some(mode)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let up = mode == "leader" || mode == "follower";
            all_up &= up;
            println!(
                "zookeeper {node} {addr} {} ({mode})",
                if up { "up" } else { "down" }
            );
        }
        all_up &= zk.success;
    } else {
        println!(
            "zookeeper: no ensemble in {}",
            layout.zookeeper_dir().display()
        );
        all_up = false;
    }

    let mut controllers = BTreeSet::new();
    for broker in &brokers {
        let port = broker.port()?;
        let view = match processes::broker_pid(broker) {
            Some(_) => metadata::block_on(metadata::view(port, Duration::from_secs(3)))?,
            None => None,
        };
        match view {
            Some(view) => {
                println!(
                    "broker {} 127.0.0.1:{port} up (sees brokers {:?}, controller {})",
                    broker.id, view.brokers, view.controller_id
                );
                if view.controller_id >= 0 {
                    controllers.insert(view.controller_id);
                }
            }
            None => {
                all_up = false;
                println!("broker {} 127.0.0.1:{port} down", broker.id);
            }
        }
    }
    match controllers.len() {
        0 => {
            all_up = false;
            println!("controller: none");
        }
        1 => println!(
            "controller: {}",
            controllers.iter().next().copied().unwrap_or(-1)
        ),
        _ => println!("controller: brokers disagree ({controllers:?})"),
    }
    Ok(if all_up {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
