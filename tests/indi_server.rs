//! labdeck's INDI server over real sockets, in front of a simulated pump
//! on a pty: definitions by interest, `new` → validated write → `set` Ok
//! or Alert with the reason, ping, EOF, the client limit, malformed XML
//! and a client that reads nothing.

mod common;

use std::time::Duration;

use common::indi::{IndiPeer, client, is_vector, serve_pump as start};
use labdeck_protocol::indi::{IndiState, Message, Op, VectorKind};

#[tokio::test]
async fn definitions_follow_what_the_client_asked_for() {
    let (runtime, address) = start("").await;
    let mut all = IndiPeer::connect(address).await;
    all.send("<getProperties version='1.7'/>").await;
    let mut defined = Vec::new();
    for name in ["CONNECTION", "DEVICE_STATUS", "SETPOINT", "FREQUENCY", "ON"] {
        while !defined.iter().any(|d| d == name) {
            match all.next().await.expect("definitions") {
                Message::Vector(Op::Def, v) => defined.push(v.head.name),
                other => panic!("definitions come first, got {other:?}"),
            }
        }
    }

    // One vector only: its definition, then only its updates.
    let mut one = IndiPeer::connect(address).await;
    one.send("<getProperties version='1.7' device='pump' name='FREQUENCY'/>")
        .await;
    let def = one
        .wait_for("FREQUENCY def", |m| {
            matches!(m, Message::Vector(Op::Def, _))
        })
        .await;
    let Message::Vector(_, v) = def else {
        unreachable!()
    };
    assert_eq!(
        (v.head.name.as_str(), v.kind),
        ("FREQUENCY", VectorKind::Number)
    );
    common::run(runtime.hub(), "pump pump on").await;
    let mut updates = 0;
    while updates < 5 {
        match one.next().await.expect("updates") {
            Message::Vector(_, v) => {
                assert_eq!(v.head.name, "FREQUENCY");
                updates += 1;
            }
            // The device's messages go to whoever watches any of it.
            Message::Message { device, .. } => assert_eq!(device.as_deref(), Some("pump")),
            other => panic!("only FREQUENCY was asked for, got {other:?}"),
        }
    }
    runtime.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_new_value_is_validated_written_and_acknowledged() {
    let (runtime, address) = start("").await;
    let mut writer = client(address).await;
    let mut watcher = client(address).await;
    writer
        .send("<newNumberVector device='pump' name='SETPOINT'><oneNumber name='SETPOINT'>800</oneNumber></newNumberVector>")
        .await;
    let ok = |m: &Message| {
        is_vector(m, Op::Set, "pump", "SETPOINT")
            .is_some_and(|v| v.head.state == Some(IndiState::Ok) && v.members[0].value == "800")
    };
    writer.wait_for("SETPOINT 800 Ok", ok).await;
    // Every client watching the device sees the change.
    watcher.wait_for("SETPOINT 800 for the watcher", ok).await;
    let pump = runtime.hub().device("pump").unwrap().snapshot();
    assert_eq!(common::prop(&pump, "setpoint").as_deref(), Some("800"));

    // Out of range: Alert with the reason, to the requester; nothing written.
    writer
        .send("<newNumberVector device='pump' name='SETPOINT'><oneNumber name='SETPOINT'>5000</oneNumber></newNumberVector>")
        .await;
    let alert = writer
        .wait_for("SETPOINT Alert", |m| {
            is_vector(m, Op::Set, "pump", "SETPOINT")
                .is_some_and(|v| v.head.state == Some(IndiState::Alert))
        })
        .await;
    let Message::Vector(_, v) = alert else {
        unreachable!()
    };
    let why = v.head.message.unwrap_or_default();
    assert!(why.contains("5000") && why.contains("1200"), "{why}");
    let pump = runtime.hub().device("pump").unwrap().snapshot();
    assert_eq!(common::prop(&pump, "setpoint").as_deref(), Some("800"));

    // Read-only and unknown vectors are refused with a reason too.
    writer
        .send("<newNumberVector device='pump' name='FREQUENCY'><oneNumber name='FREQUENCY'>5</oneNumber></newNumberVector>")
        .await;
    writer
        .wait_for("FREQUENCY refused", |m| {
            is_vector(m, Op::Set, "pump", "FREQUENCY").is_some_and(|v| {
                v.head.state == Some(IndiState::Alert)
                    && v.head.message.as_deref() == Some("FREQUENCY is read-only")
            })
        })
        .await;
    writer
        .send("<newTextVector device='pump' name='NOPE'><oneText name='X'>1</oneText></newTextVector>")
        .await;
    writer
        .wait_for("a message about NOPE", |m| {
            matches!(m, Message::Message { message: Some(t), .. } if t.contains("no vector pump.NOPE"))
        })
        .await;
    runtime.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_connection_switch_drives_the_link() {
    let (runtime, address) = start("").await;
    let mut peer = client(address).await;
    peer.send("<newSwitchVector device='pump' name='CONNECTION'><oneSwitch name='DISCONNECT'>On</oneSwitch></newSwitchVector>")
        .await;
    common::wait_state(
        runtime.hub(),
        "port",
        labdeck_core::connection::StateKind::Disconnected,
    )
    .await;
    peer.wait_for("CONNECTION off", |m| {
        is_vector(m, Op::Set, "pump", "CONNECTION").is_some_and(|v| {
            v.members
                .iter()
                .any(|s| s.name == "DISCONNECT" && s.value == "On")
        })
    })
    .await;
    peer.send("<newSwitchVector device='pump' name='CONNECTION'><oneSwitch name='CONNECT'>On</oneSwitch></newSwitchVector>")
        .await;
    common::wait_device(runtime.hub(), "pump", "pump back online", |d| {
        d.responding()
    })
    .await;
    runtime.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_switch_is_ok_only_with_the_values_asked_for() {
    let (runtime, address) = start("").await;
    let mut peer = client(address).await;
    peer.send("<newSwitchVector device='pump' name='ON'><oneSwitch name='ON'>On</oneSwitch></newSwitchVector>")
        .await;
    // Busy while the pump has not reported it on; Ok only with ON=On.
    loop {
        let set = peer
            .wait_for("a setSwitchVector ON", |m| {
                is_vector(m, Op::Set, "pump", "ON").is_some()
            })
            .await;
        let Message::Vector(_, v) = set else {
            unreachable!()
        };
        let on = v.members.iter().find(|m| m.name == "ON").unwrap();
        match v.head.state {
            Some(IndiState::Ok) => {
                assert_eq!(on.value, "On", "Ok with the old value: {v:?}");
                break;
            }
            Some(IndiState::Busy) => {}
            other => panic!("{other:?}: {v:?}"),
        }
    }
    runtime.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_simulator_is_a_device_whose_faults_clients_switch() {
    let (runtime, address) = start("").await;
    let mut peer = IndiPeer::connect(address).await;
    peer.send("<getProperties version='1.7' device='sim'/>")
        .await;
    let def = peer
        .wait_for("the FAULTS definition", |m| {
            is_vector(m, Op::Def, "sim", "FAULTS").is_some()
        })
        .await;
    let Message::Vector(_, faults) = def else {
        unreachable!()
    };
    assert_eq!(faults.kind, VectorKind::Switch);
    assert!(
        faults
            .members
            .iter()
            .any(|m| m.name == "no-reply" && m.value == "Off")
    );
    // Switching a fault on over INDI is switching it on: the pump stops
    // answering and its link goes to recovery.
    peer.send("<newSwitchVector device='sim' name='FAULTS'><oneSwitch name='no-reply'>On</oneSwitch></newSwitchVector>")
        .await;
    peer.wait_for("FAULTS Ok with no-reply On", |m| {
        is_vector(m, Op::Set, "sim", "FAULTS").is_some_and(|v| {
            v.head.state == Some(IndiState::Ok)
                && v.members
                    .iter()
                    .any(|s| s.name == "no-reply" && s.value == "On")
        })
    })
    .await;
    common::wait_state(
        runtime.hub(),
        "port",
        labdeck_core::connection::StateKind::Recovering,
    )
    .await;
    peer.send("<newSwitchVector device='sim' name='FAULTS'><oneSwitch name='no-reply'>Off</oneSwitch></newSwitchVector>")
        .await;
    common::wait_device(runtime.hub(), "pump", "pump back online", |d| {
        d.responding()
    })
    .await;
    // A value out of the fault's range is refused with the reason.
    peer.send("<newNumberVector device='sim' name='FAULT_VALUES'><oneNumber name='delay'>999999</oneNumber></newNumberVector>")
        .await;
    let alert = peer
        .wait_for("FAULT_VALUES Alert", |m| {
            is_vector(m, Op::Set, "sim", "FAULT_VALUES")
                .is_some_and(|v| v.head.state == Some(IndiState::Alert))
        })
        .await;
    let Message::Vector(_, v) = alert else {
        unreachable!()
    };
    let why = v.head.message.unwrap_or_default();
    assert!(why.contains("999999") && why.contains("outside"), "{why}");
    let sim = runtime.hub().simulator("sim").unwrap().snapshot();
    assert!(sim.faults.iter().all(|f| !f.active), "{:?}", sim.faults);
    runtime.shutdown().await.unwrap();
}

#[tokio::test]
async fn ping_is_answered_by_the_server() {
    let (runtime, address) = start("").await;
    let mut peer = IndiPeer::connect(address).await;
    peer.send("<pingRequest uid='abc 1'/>").await;
    let reply = peer
        .wait_for("pingReply", |m| matches!(m, Message::PingReply { .. }))
        .await;
    assert_eq!(
        reply,
        Message::PingReply {
            uid: "abc 1".into()
        }
    );
    runtime.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_closed_client_frees_its_slot_and_extra_clients_are_told() {
    let (runtime, address) = start("max-clients = 2").await;
    let first = client(address).await;
    let mut second = client(address).await;
    let mut third = IndiPeer::connect(address).await;
    third
        .wait_for("the refusal", |m| {
            matches!(m, Message::Message { message: Some(t), .. } if t.contains("too many clients (2)"))
        })
        .await;
    third.wait_closed().await;
    // End of stream frees the slot at once.
    drop(first);
    let mut fourth = IndiPeer::connect(address).await;
    let mut accepted = false;
    for _ in 0..50 {
        fourth.send("<pingRequest uid='4'/>").await;
        match fourth.silent_for(Duration::from_millis(100)).await {
            Some(Message::PingReply { .. }) => {
                accepted = true;
                break;
            }
            Some(Message::Message { .. }) | None => {
                // Refused while the slot was still taken: try again.
                fourth = IndiPeer::connect(address).await;
            }
            Some(_) => {}
        }
    }
    assert!(accepted, "the freed slot was never given to a new client");
    second.send("<pingRequest uid='2'/>").await;
    second
        .wait_for("the second client still served", |m| {
            matches!(m, Message::PingReply { .. })
        })
        .await;
    runtime.shutdown().await.unwrap();
}

#[tokio::test]
async fn malformed_xml_drops_only_that_client() {
    let (runtime, address) = start("").await;
    let mut good = client(address).await;
    let mut bad = IndiPeer::connect(address).await;
    bad.send("<!DOCTYPE x [<!ENTITY a 'aaaa'>]><getProperties version='1.7'/>")
        .await;
    bad.wait_for("the reason", |m| {
        matches!(m, Message::Message { message: Some(t), .. } if t.contains("closing the connection"))
    })
    .await;
    bad.wait_closed().await;
    // An element it does not know is answered, not fatal.
    good.send("<frobnicate/>").await;
    good.wait_for(
        "ignored",
        |m| matches!(m, Message::Message { message: Some(t), .. } if t.contains("frobnicate")),
    )
    .await;
    good.send("<pingRequest uid='still'/>").await;
    good.wait_for("pong", |m| matches!(m, Message::PingReply { .. }))
        .await;
    runtime.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_client_that_reads_nothing_is_dropped_the_others_carry_on() {
    let (runtime, address) = start("queue-mb = 0.5").await;
    let mut healthy = client(address).await;
    // Asks for everything, many times over, and never reads: its backlog
    // passes the limit.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(address).await.unwrap();
    let ask = "<getProperties version='1.7'/>".repeat(2000);
    tokio::io::AsyncWriteExt::write_all(&mut stalled, ask.as_bytes())
        .await
        .unwrap();
    common::run(runtime.hub(), "pump pump on").await;
    // The healthy client keeps getting live updates meanwhile.
    for _ in 0..10 {
        healthy
            .wait_for("a FREQUENCY update", |m| {
                is_vector(m, Op::Set, "pump", "FREQUENCY").is_some()
            })
            .await;
    }
    // The stalled one was cut off: once it reads, the stream ends.
    let mut stalled = IndiPeer::over(stalled);
    stalled.wait_closed().await;
    runtime.shutdown().await.unwrap();
}
