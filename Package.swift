// swift-tools-version:6.0
// EdgeAgent: an edge anomaly-detection agent for industrial machines.
// The data path reads top to bottom: configuration → acquisition (Modbus) → buffer (Store)
// → detection → runtime → command line. Lower layers never import higher ones.
import PackageDescription

let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")

let package = Package(
    name: "EdgeAgent",
    products: [
        .executable(name: "edge-agent", targets: ["edge-agent"]),
        .executable(name: "edge-bench", targets: ["edge-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // C libraries, each behind a shim that re-exports what Swift cannot import.
        .systemLibrary(name: "CModbus", pkgConfig: "libmodbus", providers: [.apt(["libmodbus-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // glibc's GNU extensions that Swift cannot import: pipe2 (a pipe created close-on-exec and
        // non-blocking in one call) and posix_spawn's closefrom (closing descriptors in the child).
        .target(name: "CSystem"),

        // Value types every layer shares: timestamps, readings, quality flags, register types.
        .target(name: "EdgeCore"),
        // agent.conf: TOML → typed, validated configuration with file/line/key-path errors.
        .target(name: "Configuration", dependencies: ["EdgeCore", .product(name: "TOMLKit", package: "TOMLKit")]),
        // Acquisition: libmodbus client, decoding, request planning, per-bus poller threads.
        .target(name: "Modbus", dependencies: ["CModbus", "CSystem", "EdgeCore", "Configuration", logging]),
        // A Modbus server on libmodbus's server API (tests and the simulator).
        .target(name: "ModbusServer", dependencies: ["CModbus", "Modbus", "EdgeCore", logging]),
        // Buffer: SQLite wrapper, schema, single writer thread, retention, windows, export.
        .target(name: "Store", dependencies: ["CSQLite", "EdgeCore", "Configuration", logging]),
        // Detection: the compact network (float training, int8 inference), model files,
        // meta-learning, calibration and thresholds.
        .target(name: "Detection", dependencies: ["EdgeCore"]),
        // Simulated machines (pump, motor, compressor) with faults, served over Modbus.
        .target(name: "Simulator", dependencies: ["EdgeCore", "Configuration", "Modbus", "ModbusServer", logging, .product(name: "TOMLKit", package: "TOMLKit")]),
        // Periodic summary files (JSON, CSV, self-contained HTML with inline SVG charts).
        .target(name: "Summaries", dependencies: ["EdgeCore", "Configuration", "Store"]),
        // The daemon: pollers → writer → scoring → alerts → sinks, summaries, systemd integration.
        .target(
            name: "Runtime",
            dependencies: [
                "EdgeCore", "Configuration", "Modbus", "Store", "Detection", "Summaries", "CSystem", logging,
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // A simulated compressor calibrated as the agent would be, stopped and started again
        // through the agent's scoring path: the one rig RuntimeTests and `edge-bench restarts`
        // share, so their figures cannot drift apart. Not for the agent itself.
        .target(name: "CompressorRig", dependencies: ["EdgeCore", "Configuration", "Detection", "Simulator", "Runtime"]),
        // The command line: argument parsing and wiring only.
        .executableTarget(
            name: "edge-agent",
            dependencies: [
                "EdgeCore", "Configuration", "Modbus", "ModbusServer", "Store", "Detection", "Simulator", "Summaries", "Runtime",
                logging,
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // Benchmarks (`make bench`): each hot path measured against its practical limit.
        .executableTarget(
            name: "edge-bench",
            dependencies: [
                "EdgeCore", "Configuration", "Modbus", "ModbusServer", "Store", "Detection", "Simulator", "Runtime",
                "Summaries", "CModbus", "CSQLite", "TestSupport", "CompressorRig",
            ],
            // TestSupport uses Foundation (Process, Thread); named here because the release build
            // turns off autolinking Foundation so the agent does not load it (scripts/build-release.sh).
            linkerSettings: [.linkedLibrary("Foundation")]
        ),

        // Shared test support: real servers (libmodbus on loopback, socat pty pairs), temp dirs.
        .target(
            name: "TestSupport",
            dependencies: ["EdgeCore", "Configuration", "Modbus", "ModbusServer", "Store"],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "EdgeCoreTests", dependencies: ["EdgeCore"]),
        .testTarget(name: "ConfigurationTests", dependencies: ["Configuration", "TestSupport"]),
        .testTarget(name: "ModbusTests", dependencies: ["Modbus", "ModbusServer", "TestSupport"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "Configuration", "TestSupport"]),
        .testTarget(name: "DetectionTests", dependencies: ["Detection", "Configuration", "Simulator", "TestSupport"]),
        .testTarget(name: "SimulatorTests", dependencies: ["Simulator", "Modbus", "TestSupport"]),
        .testTarget(name: "SummariesTests", dependencies: ["Summaries", "Store", "Configuration", "TestSupport"]),
        .testTarget(name: "RuntimeTests", dependencies: ["Runtime", "Detection", "Configuration", "Simulator", "Store", "TestSupport", "CSystem", "CompressorRig"]),
        .testTarget(name: "CLITests", dependencies: ["Store", "Configuration", "EdgeCore", "TestSupport"]),
        // Faults the agent survives: misbehaving devices, SIGKILL, a full disk, clock jumps.
        .testTarget(name: "FaultToleranceTests", dependencies: ["Runtime", "Detection", "Store", "Modbus", "ModbusServer", "Configuration", "EdgeCore", "TestSupport", logging]),
    ]
)

// Every module of ours (tests aside) sees only the extension members of modules it imports itself
// (SE-0444). Without it, TOMLKit's `import Foundation` makes Foundation's `String.contains(_:)`
// win overload resolution in every module above Configuration, and one such call links Foundation
// and ICU (about 40 MB) into the static agent. See README, Performance.
for target in package.targets where target.type == .regular || target.type == .executable {
    target.swiftSettings = (target.swiftSettings ?? []) + [.enableUpcomingFeature("MemberImportVisibility")]
}
