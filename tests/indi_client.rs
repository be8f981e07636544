//! The INDI client driver over real sockets: against labdeck's own INDI
//! server (a simulated pump behind it), and against a scripted server that
//! checks what the client sends and answers late, with BLOBs, or not at
//! all.

mod common;

use std::io::Write as _;
use std::net::SocketAddr;

use base64::Engine as _;
use common::indi::IndiPeer;
use labdeck_core::device::{DeviceSnapshot, PropState, Property};
use labdeck_core::hub::HubError;
use labdeck_core::runtime::Runtime;
use labdeck_protocol::indi::{BlobMode, Message, Op};
use tokio::net::TcpListener;

fn remote_config(name: &str, address: SocketAddr, blob_dir: &std::path::Path) -> String {
    format!(
        r#"
[[indi.remote]]
name = "{name}"
address = "{address}"
blob-dir = "{}"
retry = {{ base = 0.05, cap = 0.2 }}
"#,
        blob_dir.display()
    )
}

fn find<'a>(d: &'a DeviceSnapshot, name: &str) -> Option<&'a Property> {
    d.property(name)
}

async fn wait_prop(
    runtime: &Runtime,
    device: &str,
    what: &str,
    check: impl Fn(&DeviceSnapshot) -> bool,
) {
    common::wait_device(runtime.hub(), device, what, check).await;
}

#[tokio::test]
async fn a_labdeck_server_seen_and_driven_through_the_client() {
    let (server, address) = common::start_serving(&common::pump_config(
        "realistic",
        "\n[indi.server]\nport = 0\n",
    ))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let client = common::start(&remote_config("lab", address, dir.path())).await;

    // The limits come with the pump's answer: the definition may be sent
    // before them and again with them.
    wait_prop(&client, "lab", "the pump's vectors", |d| {
        d.responding() && find(d, "pump.SETPOINT.SETPOINT").is_some_and(|p| p.def.max.is_some())
    })
    .await;
    let snapshot = client.hub().device("lab").unwrap().snapshot();
    let setpoint = find(&snapshot, "pump.SETPOINT.SETPOINT").unwrap();
    assert_eq!(setpoint.def.group, "pump · Rotor");
    assert!(setpoint.def.writable);
    assert_eq!(
        (setpoint.def.min, setpoint.def.max),
        (Some(750.0), Some(1200.0))
    );
    assert!(
        !find(&snapshot, "pump.FREQUENCY.FREQUENCY")
            .unwrap()
            .def
            .writable
    );

    // Limits are checked before anything is sent.
    let refused = common::request(client.hub(), "set lab.pump.SETPOINT.SETPOINT 5000").await;
    assert!(
        matches!(
            refused,
            Err(HubError::OutOfRange {
                max: Some(1200.0),
                ..
            })
        ),
        "{refused:?}"
    );
    let reply = common::run(client.hub(), "set lab.pump.SETPOINT.SETPOINT 800").await;
    assert!(reply.ok, "{}", reply.text);
    common::wait_device(server.hub(), "pump", "the pump's setpoint at 800", |d| {
        common::prop(d, "setpoint").as_deref() == Some("800")
    })
    .await;
    wait_prop(&client, "lab", "the setpoint Ok at 800", |d| {
        find(d, "pump.SETPOINT.SETPOINT")
            .is_some_and(|p| labdeck::format::property(p) == "800" && p.state == PropState::Ok)
    })
    .await;

    // A OneOfMany switch: DISCONNECT on turns CONNECT off and drops the link.
    let reply = common::run(client.hub(), "set lab.pump.CONNECTION.DISCONNECT on").await;
    assert!(reply.ok, "{}", reply.text);
    common::wait_state(
        server.hub(),
        "port",
        labdeck_core::connection::StateKind::Disconnected,
    )
    .await;
    let refused = common::request(client.hub(), "set lab.pump.CONNECTION.CONNECT off").await;
    assert!(
        matches!(&refused, Err(HubError::BadArgument { message, .. }) if message.contains("OneOfMany")),
        "{refused:?}"
    );
    client.shutdown().await.unwrap();
    server.shutdown().await.unwrap();
}

const DEFS: &str = r#"<defNumberVector device="Scope" name="EQ" label="Eq. Coordinates" group="Main Control" state="Idle" perm="rw" timeout="0">
  <defNumber name="RA" label="RA (hh:mm:ss)" format="%010.6m" min="0" max="24" step="0">
    2.5
  </defNumber>
  <defNumber name="DEC" label="Dec" format="%010.6m" min="-90" max="90" step="0">10</defNumber>
</defNumberVector>
<defLightVector device="Scope" name="WEATHER" label="Weather" group="Site" state="Ok">
  <defLight name="RAIN" label="Rain">Alert</defLight>
</defLightVector>
<defBLOBVector device="Scope" name="FRAME" label="Frame" group="Image" state="Idle" perm="ro">
  <defBLOB name="IMAGE" label="Image"/>
</defBLOBVector>
<message device="Scope" timestamp="2026-11-21T10:00:00" message="[INFO] ready"/>
"#;

/// Reads from a scripted server's side until a message matches.
async fn expect(peer: &mut IndiPeer, what: &str, check: impl Fn(&Message) -> bool) -> Message {
    peer.wait_for(what, check).await
}

#[tokio::test]
async fn a_scripted_server_checks_what_the_client_sends() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let client = common::start(&remote_config("sky", address, dir.path())).await;

    let (stream, _) = listener.accept().await.unwrap();
    let mut server = IndiPeer::over(stream);
    expect(&mut server, "getProperties", |m| {
        matches!(m, Message::GetProperties { version: Some(v), device: None, .. } if v == "1.7")
    })
    .await;
    server.send(DEFS).await;
    wait_prop(&client, "sky", "the definitions", |d| {
        find(d, "Scope.FRAME.IMAGE").is_some()
    })
    .await;
    let snapshot = client.hub().device("sky").unwrap().snapshot();
    let ra = find(&snapshot, "Scope.EQ.RA").unwrap();
    assert_eq!(
        (
            labdeck::format::property(ra).as_str(),
            ra.def.group.as_str()
        ),
        ("2:30:00", "Scope · Main Control")
    );
    let rain = find(&snapshot, "Scope.WEATHER.RAIN").unwrap();
    assert_eq!((rain.state, rain.def.writable), (PropState::Alert, false));
    assert_eq!(
        common::prop(&snapshot, "Scope.MESSAGE").as_deref(),
        Some("[INFO] ready")
    );

    // Sexagesimal input; the whole vector goes out; Busy until answered.
    let reply = common::run(client.hub(), "set sky.Scope.EQ.RA 12:30:36").await;
    assert!(reply.ok, "{}", reply.text);
    let new = expect(
        &mut server,
        "newNumberVector",
        |m| matches!(m, Message::Vector(Op::New, v) if v.head.name == "EQ"),
    )
    .await;
    let Message::Vector(_, new) = new else {
        unreachable!()
    };
    let values: Vec<(&str, &str)> = new
        .members
        .iter()
        .map(|m| (m.name.as_str(), m.value.as_str()))
        .collect();
    assert_eq!(values, [("RA", "12.51"), ("DEC", "10")]);
    let busy =
        |d: &DeviceSnapshot| find(d, "Scope.EQ.RA").is_some_and(|p| p.state == PropState::Busy);
    assert!(busy(&client.hub().device("sky").unwrap().snapshot()));
    // No answer: after the clamped timeout (2 s for timeout="0") it is Alert.
    wait_prop(&client, "sky", "the timeout", |d| {
        find(d, "Scope.EQ.RA").is_some_and(|p| p.state == PropState::Alert)
            && d.alarms
                .iter()
                .any(|a| a.reason.contains("Eq. Coordinates"))
    })
    .await;
    // A late answer still lands.
    server
        .send(r#"<setNumberVector device="Scope" name="EQ" state="Ok"><oneNumber name="RA">12.51</oneNumber></setNumberVector>"#)
        .await;
    wait_prop(&client, "sky", "the late answer", |d| {
        find(d, "Scope.EQ.RA")
            .is_some_and(|p| p.state == PropState::Ok && labdeck::format::property(p) == "12:30:36")
    })
    .await;

    // BLOBs: asked for per device, inflated when zlib, saved.
    let reply = common::run(client.hub(), "set sky.Scope.BLOB_MODE also").await;
    assert!(reply.ok, "{}", reply.text);
    expect(&mut server, "enableBLOB", |m| {
        matches!(m, Message::EnableBlob { device, mode: BlobMode::Also, .. } if device == "Scope")
    })
    .await;
    let text = "labdeck BLOB payload\n".repeat(20);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(text.as_bytes()).unwrap();
    let data = base64::engine::general_purpose::STANDARD.encode(z.finish().unwrap());
    server
        .send(&format!(
            "<setBLOBVector device=\"Scope\" name=\"FRAME\" state=\"Ok\"><oneBLOB name=\"IMAGE\" size=\"{}\" format=\".txt.z\">\n{data}\n</oneBLOB></setBLOBVector>",
            text.len()
        ))
        .await;
    wait_prop(&client, "sky", "the saved BLOB", |d| {
        common::prop(d, "Scope.FRAME.IMAGE").is_some_and(|v| v.contains(".txt"))
    })
    .await;
    let saved: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(saved.len(), 1);
    let path = saved[0].as_ref().unwrap().path();
    assert!(path.to_string_lossy().ends_with(".txt"), "{path:?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);

    // delProperty removes a vector, then the device.
    server
        .send(r#"<delProperty device="Scope" name="WEATHER"/>"#)
        .await;
    wait_prop(&client, "sky", "WEATHER gone", |d| {
        find(d, "Scope.WEATHER.RAIN").is_none() && find(d, "Scope.EQ.RA").is_some()
    })
    .await;
    server.send(r#"<delProperty device="Scope"/>"#).await;
    wait_prop(&client, "sky", "Scope gone", |d| {
        !d.properties.iter().any(|p| p.name().starts_with("Scope."))
    })
    .await;

    // The server goes away: offline, then reconnected and asked again.
    drop(server);
    wait_prop(&client, "sky", "offline", |d| !d.responding()).await;
    let (stream, _) = listener.accept().await.unwrap();
    let mut server = IndiPeer::over(stream);
    expect(&mut server, "getProperties again", |m| {
        matches!(m, Message::GetProperties { .. })
    })
    .await;
    server.send(DEFS).await;
    // The BLOB mode chosen before is sent again on the new connection.
    expect(&mut server, "enableBLOB again", |m| {
        matches!(
            m,
            Message::EnableBlob {
                mode: BlobMode::Also,
                ..
            }
        )
    })
    .await;
    wait_prop(&client, "sky", "online again", |d| {
        d.responding() && find(d, "Scope.EQ.RA").is_some()
    })
    .await;
    client.shutdown().await.unwrap();
}

#[tokio::test]
async fn garbage_from_the_server_resets_the_link() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let client = common::start(&remote_config("sky", address, dir.path())).await;
    let (stream, _) = listener.accept().await.unwrap();
    let mut server = IndiPeer::over(stream);
    server.send(DEFS).await;
    wait_prop(&client, "sky", "definitions", DeviceSnapshot::responding).await;
    server.send("</defNumberVector>").await;
    // The client gives up on that stream and connects again.
    server.wait_closed().await;
    let (stream, _) = listener.accept().await.unwrap();
    let mut server = IndiPeer::over(stream);
    expect(&mut server, "getProperties on the new link", |m| {
        matches!(m, Message::GetProperties { .. })
    })
    .await;
    client.shutdown().await.unwrap();
}
