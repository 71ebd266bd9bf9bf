// swift-tools-version: 6.0
import PackageDescription

/// doralog: DORA metrics and MTTR from deploy, alert and rollback events.
///
/// The folder tree is the architecture: one module per concern, C libraries behind
/// `systemLibrary` targets that exactly one Swift module imports (and one C target of our own,
/// for a processor instruction Swift cannot reach).
let package = Package(
    name: "doralog",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "doralog", targets: ["doralog"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // C libraries: a module map and a one-line shim each.
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]
        ),

        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),

        // CRC-32C with the processor's instruction where it has one (x86-64 SSE 4.2); only
        // DoraEventLog's CRC32C calls it.
        .target(name: "CCRC32C"),
        // A cache prefetch hint, which Swift cannot express; only DoraEventLog's id index uses it.
        .target(name: "CPrefetch"),

        // The event model of docs/events.md: strict JSON, validation, compact binary form.
        .target(name: "DoraEvents"),
        // The append-only zstd event log: segments, blocks, recovery, id index, dead letters.
        .target(
            name: "DoraEventLog",
            dependencies: ["DoraEvents", "CZstd", "CCRC32C", "CPrefetch", .product(name: "Logging", package: "swift-log")]
        ),
        // The librdkafka wrapper: consumer, producer, mock cluster; the only module that sees CRdKafka.
        .target(name: "DoraKafka", dependencies: ["CRdKafka", .product(name: "Logging", package: "swift-log")]),
        // Pure metric computation of docs/metrics.md and docs/metrics.md, "DORA bands" (no I/O).
        .target(name: "DoraMetrics", dependencies: ["DoraEvents", "DoraStatistics"]),
        // Exact tests of change: the exceedance test of a percentile, Fisher's of a rate, and the
        // Poisson rate test (pure, no dependencies).
        .target(name: "DoraStatistics"),
        // SLO evaluation of docs/slo.md: windows, state machines, alerts (pure).
        .target(name: "DoraSLO", dependencies: ["DoraEvents", "DoraMetrics", "DoraStatistics"]),
        // Pipeline files (YAML): reading and validating them, with file/line/field errors.
        .target(
            name: "DoraPipelineFile",
            dependencies: ["DoraMetrics", "DoraSLO", "DoraInputs", .product(name: "Yams", package: "Yams")]
        ),
        // Inline SVG charts (lines, bars, stacked bars, ECDF, sparklines) for self-contained pages.
        .target(name: "DoraCharts"),
        // Renderers of a report value (JSON, Markdown, CSV, HTML); the HTML page's template is a resource.
        .target(
            name: "DoraReports",
            dependencies: ["DoraMetrics", "DoraCharts", .product(name: "Mustache", package: "swift-mustache")],
            resources: [.copy("Templates/report.mustache")]
        ),
        // Composition: file and Kafka ingestion, replay of logs into reports and SLO backtests.
        .target(
            name: "DoraPipeline",
            dependencies: [
                "DoraEvents", "DoraEventLog", "DoraMetrics", "DoraKafka", "DoraInputs", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // `doralog run`: the live service (consumer, live state, SLO alerts, sinks, HTTP endpoint).
        .target(
            name: "DoraService",
            dependencies: [
                "DoraEvents", "DoraEventLog", "DoraMetrics", "DoraSLO", "DoraPipeline", "DoraPipelineFile", "DoraKafka",
                "DoraReports", "DoraInputs",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // `doralog drill`: runs a rollback rehearsal's commands as child processes, times them and
        // makes its rollback events (no Kafka or log: the command line records them).
        .target(name: "DoraDrill", dependencies: ["DoraEvents"]),
        // The shapes other tools emit (Alertmanager's webhook, ...) mapped onto doralog's events:
        // pure functions of a payload's bytes, no I/O; the HTTP inputs of `doralog run` call them.
        .target(name: "DoraInputs", dependencies: ["DoraEvents", .product(name: "Crypto", package: "swift-crypto")]),
        // Deterministic, seeded generator of realistic event streams.
        .target(name: "DoraGenerator", dependencies: ["DoraEvents"]),
        // argument-parser commands only.
        .target(
            name: "DoraCLI",
            dependencies: [
                "DoraEvents", "DoraEventLog", "DoraMetrics", "DoraReports", "DoraGenerator", "DoraPipeline", "DoraKafka",
                "DoraSLO", "DoraPipelineFile", "DoraService", "DoraDrill", "DoraInputs", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "doralog", dependencies: ["DoraCLI"]),
        // bench/aggregator: the live aggregator's CPU per round, fed from a log (bench/RESULTS.md).
        .executableTarget(
            name: "doralog-aggregator-bench",
            dependencies: ["DoraService", "DoraEventLog", "DoraEvents", "DoraPipelineFile"],
            path: "bench/aggregator"
        ),

        // Test support shared by every test target.
        .target(
            name: "DoraTestSupport",
            dependencies: ["DoraEvents", "DoraEventLog", "DoraMetrics", "DoraKafka"],
            path: "Tests/DoraTestSupport"
        ),
        .testTarget(name: "DoraEventsTests", dependencies: ["DoraEvents", "DoraGenerator", "DoraTestSupport"]),
        .testTarget(name: "DoraEventLogTests", dependencies: ["DoraEventLog", "DoraTestSupport"]),
        .testTarget(name: "DoraKafkaTests", dependencies: ["DoraKafka", "DoraTestSupport"]),
        .testTarget(name: "DoraStatisticsTests", dependencies: ["DoraStatistics"]),
        .testTarget(name: "DoraChartsTests", dependencies: ["DoraCharts"]),
        .testTarget(name: "DoraDrillTests", dependencies: ["DoraDrill", "DoraEvents"]),
        .testTarget(name: "DoraInputsTests", dependencies: ["DoraInputs", "DoraEvents"]),
        .testTarget(
            name: "DoraSLOTests", dependencies: ["DoraSLO", "DoraStatistics", "DoraMetrics", "DoraEvents", "DoraTestSupport"]
        ),
        .testTarget(name: "DoraPipelineFileTests", dependencies: ["DoraPipelineFile", "DoraSLO", "DoraMetrics"]),
        .testTarget(
            name: "DoraServiceTests",
            dependencies: [
                "DoraService", "DoraSLO", "DoraMetrics", "DoraEvents", "DoraEventLog", "DoraKafka", "DoraTestSupport", "DoraGenerator",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "DoraMetricsTests",
            dependencies: ["DoraMetrics", "DoraReports", "DoraGenerator", "DoraTestSupport"]
        ),
        .testTarget(
            name: "DoraPipelineTests",
            dependencies: [
                "DoraPipeline", "DoraEventLog", "DoraMetrics", "DoraReports", "DoraGenerator", "DoraKafka", "DoraTestSupport",
                "DoraInputs",
            ]
        ),
        .testTarget(
            name: "DoraCLITests",
            dependencies: ["DoraEventLog", "DoraGenerator", "DoraKafka", "DoraTestSupport"],
            // Golden reports of sample-events/, read by path (DORALOG_RECORD_GOLDEN=1 records them).
            exclude: ["Golden"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
