#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Configuration
import EdgeCore
import Logging
import Modbus
import ServiceLifecycle
import Store
import Synchronization

/// Settings of the runtime that agent.conf does not (yet) expose.
public struct RuntimeOptions: Sendable {
    /// Data alert rules.
    public var dataPolicy = DataQualityPolicy()
    /// Poll cycles queued between the pollers and the scoring stage; more are counted as overflow.
    /// Ticks (status, summaries, data-stopped checks, new models) take no place in it.
    public var scoringQueueCapacity = 4096
    /// How often the status (for `edge-agent status`) and the metrics file are refreshed.
    public var statusInterval: Duration = .seconds(5)
    /// The Prometheus textfile; nil for `<data_dir>/edge-agent.prom`.
    public var metricsPath: String? = nil
    /// How long graceful shutdown may take to flush (below systemd's TimeoutStopSec=30s).
    public var shutdownTimeout: Duration = .seconds(20)
    /// Poller tuning (backoff starting points).
    public var pollerOptions = BusPoller.Options()
    /// Called when a phase of one-off start-up work is over, each time a pipeline starts (at
    /// start and after a reload or a buffer restart), on a thread where blocking is fine:
    /// `edge-agent run` gives back the pages only that phase used (`StartUpPages`). Nil: nothing.
    public var startUpPhaseEnded: (@Sendable (StartUpPhase) -> Void)? = nil
    /// Test hook (package-internal, nil in the agent): the scoring stage waits this long before
    /// each poll cycle, as it falls behind on a starved CPU or with a fleet too large for it, so
    /// a test can fill its queue on purpose (`ScoringBacklogTests`).
    package var scoringDelayPerCycle: Duration? = nil

    public init() {}
}

/// A point in a pipeline's start at which one-off work is over (`RuntimeOptions.startUpPhaseEnded`).
public enum StartUpPhase: String, Sendable {
    /// The machines' models are read and decoded (first: the heap is still small then, and
    /// decoding touches much code that nothing uses again).
    case modelsLoaded = "loading the models"
    /// The buffer and the alert log are open, the pollers started (READY follows).
    case bufferOpened = "opening the buffer"
}

/// What the runtime has done since it started; read by status, metrics, tests and benchmarks.
public struct RuntimeCounters: Sendable, Equatable {
    /// Readings handed over by the pollers.
    public var readingsPolled = 0
    /// Poll cycles handed over by the pollers.
    public var cyclesPolled = 0
    /// Poll cycles the scoring stage could not take (its queue was full); their readings were still stored.
    public var scoringOverflowCycles = 0
    /// Readings the database writer refused (its queue was full).
    public var writerRejectedReadings = 0
    /// Windows scored.
    public var windowsScored = 0
    /// Alert events (raised, updated, cleared), whatever produced them (a poll cycle, a tick's
    /// data-stopped check, a new model, the stop, the start's ending of alerts left open): one
    /// per line the alert log is given.
    public var alertEvents = 0
    /// Delay from a reading's poll time to its score being known, p50 and p99 of recent windows (ms).
    public var scoreDelayP50Milliseconds = 0.0
    public var scoreDelayP99Milliseconds = 0.0

    public init() {}
}

/// `edge-agent run`: pollers (one thread per bus) → the database writer (one thread) →
/// per-machine scoring → alert engines → sinks (alert log, database, journal, commands).
///
/// Run it as a service in a `ServiceGroup`: `run()` returns after a graceful shutdown, having
/// stopped the pollers and flushed every polled reading and every alert. `reload(_:)` swaps in
/// a new configuration (the pipeline restarts; nothing queued is lost).
public final class AgentRuntime: Service, Sendable {
    private enum Control: Sendable {
        case reload(AgentConfiguration)
        /// Start the pipeline afresh with the same configuration (the buffer file was deleted).
        case restart
        case stop
    }

    private let initialConfiguration: AgentConfiguration
    private let options: RuntimeOptions
    private let logger: Logger
    private let clock: any AgentClock
    private let notifier: SystemdNotifier
    private let control: AsyncStream<Control>
    private let controlContinuation: AsyncStream<Control>.Continuation
    private let countersState = SharedCounters()
    private let readyState = Mutex(false)
    /// The running pipeline's buffer writer (for the test hook below).
    private let currentWriter = Mutex<ReadingWriter?>(nil)

    /// Creates the runtime for a validated configuration.
    public init(configuration: AgentConfiguration, options: RuntimeOptions = RuntimeOptions(), logger: Logger,
                clock: any AgentClock = SystemClock(), notifier: SystemdNotifier = SystemdNotifier()) {
        initialConfiguration = configuration
        self.options = options
        self.logger = logger
        self.clock = clock
        self.notifier = notifier
        (control, controlContinuation) = AsyncStream.makeStream(of: Control.self)
    }

    /// Counters since start (safe from any thread).
    public var counters: RuntimeCounters { countersState.withLock { $0 } }

    /// Whether polling has started (READY=1 was sent).
    public var isReady: Bool { readyState.withLock { $0 } }

    /// Replaces the configuration: the pipeline stops (flushing), then restarts with `configuration`.
    public func reload(_ configuration: AgentConfiguration) {
        controlContinuation.yield(.reload(configuration))
    }

    /// Test hook: caps the buffer at `pages` database pages (`PRAGMA max_page_count` on the
    /// writer's connection), so writes fail as on a full disk where no small file system can be
    /// mounted for the test; a large value makes room again.
    package func limitBufferPages(to pages: Int) {
        currentWriter.withLock { $0 }?.limitDatabasePages(to: pages)
    }

    /// Stops the runtime as a graceful shutdown would.
    public func stop() {
        controlContinuation.yield(.stop)
    }

    /// Runs until graceful shutdown (or `stop()`), then flushes and returns.
    /// - Throws: when the buffer or the alert log cannot be opened at start.
    public func run() async throws {
        try await withGracefulShutdownHandler {
            var configuration = initialConfiguration
            var iterator = control.makeAsyncIterator()
            // Why the alerts the previous run or pipeline left open are ended at the next start.
            var leftOpenReason = AlertsLeftOpen.restartReason
            while true {
                let pipeline = try await Pipeline.start(
                    configuration: configuration, options: options, logger: logger, clock: clock, counters: countersState,
                    leftOpenReason: leftOpenReason)
                currentWriter.withLock { $0 = pipeline.writer }
                readyState.withLock { $0 = true }
                notifier.ready(status: "polling \(configuration.buses.count) bus(es), \(configuration.machines.count) machine(s)")
                logger.info("agent running: \(configuration.buses.count) bus(es), \(configuration.machines.count) machine(s), buffer \(pipeline.databasePath)")
                let command: Control?
                do {
                    command = try await pipeline.runUntil(next: &iterator, notifier: notifier) { [controlContinuation] in
                        controlContinuation.yield(.restart)
                    }
                } catch {
                    logger.critical("cannot run the pipeline: \(error)")
                    _ = await pipeline.shutdown(timeout: options.shutdownTimeout)
                    throw error
                }
                switch command {
                case .restart:
                    let lost = await pipeline.shutdown(timeout: options.shutdownTimeout)
                    if lost > 0 { logger.error("\(lost) readings could not be written while the buffer was reopened") }
                    leftOpenReason = AlertsLeftOpen.restartReason
                case .reload(let next):
                    notifier.reloading()
                    logger.notice("reloading configuration from \(next.sourcePath)")
                    let lost = await pipeline.shutdown(timeout: options.shutdownTimeout)
                    if lost > 0 { logger.error("\(lost) readings could not be written during the reload") }
                    configuration = next
                    leftOpenReason = AlertsLeftOpen.reloadReason
                case .stop, nil:
                    notifier.stopping()
                    logger.notice("shutting down: flushing readings and alerts")
                    let lost = await pipeline.shutdown(timeout: options.shutdownTimeout,
                                                       endingOpenAlertsBecause: AlertsLeftOpen.stopReason)
                    if lost > 0 { logger.error("\(lost) readings could not be written before the shutdown deadline") }
                    return
                }
            }
        } onGracefulShutdown: {
            self.controlContinuation.yield(.stop)
        }
    }

    /// One generation of the running pipeline for one configuration.
    private final class Pipeline: Sendable {
        let configuration: AgentConfiguration
        let databasePath: String
        /// The buffer file as opened, to notice it being deleted or replaced under the agent.
        let databaseIdentity: FileIdentity?
        let writer: ReadingWriter
        let pollers: [BusPoller]
        /// Each machine's model as loaded at the start (nil: none, or unusable), and its file's
        /// modification time then (a newer file is loaded while running).
        let models: [MachineModel?]
        let modelTimes: [Int64?]
        let dispatcher: AlertDispatcher
        let statusDatabase: BufferDatabase
        /// The buffer's ids of the configured sensors.
        let mapping: SensorMapping
        /// When the pollers started: rows before it in the buffer are the past, warming the
        /// models' streams (`StreamWarmUp`); rows from it on come through the scoring queue.
        let pollingStarted: Timestamp
        let intake: Intake
        /// The scoring stage's input: the pollers' cycles and the ticker's ticks.
        var queue: ScoringQueue { intake.scoring }
        let options: RuntimeOptions
        let logger: Logger
        let clock: any AgentClock
        let counters: SharedCounters

        private init(configuration: AgentConfiguration, databasePath: String, databaseIdentity: FileIdentity?,
                     writer: ReadingWriter, pollers: [BusPoller], models: [MachineModel?], modelTimes: [Int64?],
                     dispatcher: AlertDispatcher, statusDatabase: BufferDatabase, mapping: SensorMapping, pollingStarted: Timestamp,
                     intake: Intake, options: RuntimeOptions, logger: Logger, clock: any AgentClock, counters: SharedCounters) {
            self.configuration = configuration
            self.databasePath = databasePath
            self.databaseIdentity = databaseIdentity
            self.writer = writer
            self.pollers = pollers
            self.models = models
            self.modelTimes = modelTimes
            self.dispatcher = dispatcher
            self.statusDatabase = statusDatabase
            self.mapping = mapping
            self.pollingStarted = pollingStarted
            self.intake = intake
            self.options = options
            self.logger = logger
            self.clock = clock
            self.counters = counters
        }

        /// Opens the buffer and the alert log, starts the writer and the pollers.
        /// - Parameter leftOpenReason: why alerts left open before this start are ended (see
        ///   `AlertsLeftOpen`).
        static func start(configuration: AgentConfiguration, options: RuntimeOptions, logger: Logger,
                          clock: any AgentClock, counters: SharedCounters, leftOpenReason: String) async throws -> Pipeline {
            // Opening files and SQLite is blocking work: do it off the cooperative pool.
            try await runBlocking {
                // The models first: decoding them runs much code once, and before the buffer,
                // the writer and the pollers exist the heap is at its smallest, so the start-up
                // peak (that code's pages plus the heap) is lower than it would be later.
                let modelTimes = configuration.machines.map {
                    modificationTime(MachineModel.modelPath(machine: $0.id, dataDirectory: configuration.agent.dataDirectory))
                }
                let models = configuration.machines.map { machine -> MachineModel? in
                    do {
                        return try MachineModel.load(machine: machine.id, dataDirectory: configuration.agent.dataDirectory,
                                                     alertScore: machine.alertScore)
                    } catch {
                        logger.error("\(machine.id): cannot load its model (\(error)); buffering without scoring until it is recalibrated")
                        return nil
                    }
                }
                options.startUpPhaseEnded?(.modelsLoaded)
                try makeDirectories(configuration.agent.dataDirectory)
                try makeDirectories(configuration.agent.summaryDirectory)
                let databasePath = Store.databasePath(dataDirectory: configuration.agent.dataDirectory)
                let database: BufferDatabase
                let mapping: SensorMapping
                do {
                    database = try BufferDatabase(path: databasePath)
                    mapping = try database.registerSensors(configuration)
                } catch {
                    throw BufferUnavailableError(path: databasePath, dataDirectory: configuration.agent.dataDirectory, reason: "\(error)")
                }
                let writer = try ReadingWriter(
                    path: databasePath, mapping: mapping, options: ReadingWriter.Options(settings: configuration.agent),
                    clock: clock, logger: logger,
                    onStateChange: { state in
                        switch state {
                        case .writing: logger.notice("buffer writable again; queued readings are being written")
                        case .failing(let error): logger.error("buffer not writable (\(error)); keeping readings in memory and alerting goes on")
                        }
                    })
                let alertLog = try AlertLog(path: configuration.agent.alertLog, maxBytes: configuration.alerts.alertLogMaxBytes,
                                            keepFiles: configuration.alerts.alertLogKeep)
                if alertLog.repairedBytes > 0 {
                    logger.warning("alert log \(alertLog.path): cut \(alertLog.repairedBytes) bytes of a torn last line (an earlier crash)")
                }
                endAlertsLeftOpen(database: database, mapping: mapping, configuration: configuration, alertLog: alertLog,
                                  now: clock.now(), reason: leftOpenReason, counters: counters, logger: logger)
                let intake = Intake(writer: writer, scoring: ScoringQueue(capacity: options.scoringQueueCapacity),
                                    counters: counters, clock: clock, machines: configuration.machines.count)
                var pollers: [BusPoller] = []
                // A bus is polled when sensors are read on it or an action writes to it.
                let writtenBuses = Set(configuration.actions.compactMap { action -> String? in
                    if case .modbusWrite(let bus, _, _, _, _, _) = action.kind { return bus }
                    return nil
                })
                for bus in configuration.buses
                where writtenBuses.contains(bus.name) || configuration.machines.contains(where: { $0.sensors.contains { $0.bus == bus.name } }) {
                    let poller = try BusPoller(bus: bus, machines: configuration.machines, clock: clock, options: options.pollerOptions) { readings in
                        intake.accept(readings)
                    }
                    pollers.append(poller)
                }
                let actions = configuration.actions.compactMap { action -> ConfiguredAction? in
                    let (configured, problem) = ConfiguredAction.make(action, pollers: pollers)
                    if let problem { logger.error("alert action not used: \(problem)") }
                    return configured
                }
                let dispatcher = try AlertDispatcher(alertLog: alertLog, database: database, actions: actions, counters: counters,
                                                     logger: logger)
                let pipeline = Pipeline(
                    configuration: configuration, databasePath: databasePath, databaseIdentity: FileIdentity(path: databasePath),
                    writer: writer, pollers: pollers, models: models, modelTimes: modelTimes,
                    dispatcher: dispatcher, statusDatabase: database, mapping: mapping, pollingStarted: clock.now(), intake: intake,
                    options: options, logger: logger, clock: clock, counters: counters)
                for poller in pollers { try poller.start() }
                options.startUpPhaseEnded?(.bufferOpened)
                return pipeline
            }
        }

        /// Ends the alerts an earlier run (or the previous pipeline) left open: the engines this
        /// pipeline starts with do not know them and would never end them. Before polling starts,
        /// so the new engines' own alerts come after. A failure is logged; the agent still starts.
        /// Their `cleared` events are alert events like the dispatcher's, counted in `alertEvents`.
        private static func endAlertsLeftOpen(database: BufferDatabase, mapping: SensorMapping, configuration: AgentConfiguration,
                                              alertLog: AlertLog, now: Timestamp, reason: String, counters: SharedCounters,
                                              logger: Logger) {
            var outcome = AlertsLeftOpen.Outcome()
            // Counted whether or not it got through them all: an event is in the alert log
            // whatever happens to the rows after it.
            defer { counters.withLock { [count = outcome.events.count] in $0.alertEvents += count } }
            do {
                try AlertsLeftOpen.end(
                    database: database, mapping: mapping, configuration: configuration, alertLog: alertLog, now: now,
                    reason: reason, into: &outcome)
                let count = outcome.events.count + outcome.endedWithoutLogEvent + outcome.alreadyInLog
                guard count > 0 else {
                    logger.info("no alerts left open before this start")
                    return
                }
                let acknowledged = outcome.events.filter { $0.acknowledged }.count
                logger.notice("ended \(count) alert(s) left open (\(acknowledged) acknowledged): \(reason); a condition that still holds is alerted anew once its windows fill")
                if let failure = outcome.logFailure {
                    logger.error("the alert log did not take their cleared events (\(failure)); they are cleared in the database")
                }
            } catch {
                logger.error("cannot end the alerts left open before this start: \(error) (\(outcome.events.count) cleared event(s) given to the alert log before it); `edge-agent status` may list the rest until the next start")
            }
        }

        /// Scores and alerts until a control command arrives; returns it (nil: control stream ended).
        /// - Parameters:
        ///   - restart: asks for a fresh pipeline (called once, when the buffer file disappears).
        /// - Throws: `PosixThreadError` when the ticker's thread cannot be started (nothing is
        ///   scored then; the caller shuts the pipeline down).
        func runUntil(next controlIterator: inout AsyncStream<Control>.Iterator, notifier: SystemdNotifier,
                      restart: @escaping @Sendable () -> Void) async throws -> Control? {
            let ticker = try TickerThread(name: "edge-ticker", interval: .milliseconds(500)) { [self] nextTick in
                runTicker(nextTick: nextTick, notifier: notifier, restart: restart)
            }
            let scoring = Task { [self] in
                var engine = ScoringEngine(machines: configuration.machines, models: models,
                                           alertPolicy: AlertPolicy(configuration.alerts), dataPolicy: options.dataPolicy)
                // The models' streams carry on from the rows buffered before this start (the
                // pollers' first cycles wait in the queue meanwhile).
                let warmed = await warmUp(models: models, until: models.map { $0 == nil ? nil : pollingStarted })
                for (i, stream) in warmed.enumerated() { if let stream { engine.continueStream(machine: i, from: stream) } }
                var delays = DelayReservoir(capacity: 2048)
                var summaries = PeriodicSummaries(configuration: configuration, now: clock.now())
                var lastStatus = clock.monotonicNanoseconds()
                // A due tick comes before every queued cycle (`ScoringQueue`).
                while let input = await queue.next() {
                    switch input {
                    case .cycle(let cycle):
                        if let delay = options.scoringDelayPerCycle { try? await Task.sleep(for: delay) }
                        let now = clock.now()
                        let events = engine.process(cycle.readings, monotonicNanoseconds: cycle.arrivedMonotonicNanoseconds) { window in
                            delays.add(Double(now.millisecondsSinceEpoch - window.time.millisecondsSinceEpoch))
                            summaries.record(window)
                        }
                        for id in engine.takeNewlyUncalibrated() {
                            logger.notice("\(id): uncalibrated; readings are buffered but not scored (run `edge-agent calibrate --machine \(id)`)")
                        }
                        for notice in engine.takeRunSignalNotices() { logger.notice("\(notice)") }
                        for notice in engine.takeUncalibratedStateNotices() { logger.warning("\(notice)") }
                        if !events.isEmpty {
                            dispatcher.dispatch(events)
                            summaries.record(events)
                        }
                        // Its events were counted by `dispatch`, as every alert event is.
                        counters.withLock { $0.windowsScored = engine.windowsScored }
                    case .tick(let newModels):
                        let now = clock.now()
                        // Cycles still queued have arrived: their machines' data has not stopped.
                        let events = engine.tick(now: now, monotonicNanoseconds: clock.monotonicNanoseconds(),
                                                 latestArrivals: intake.latestArrivals)
                        if !events.isEmpty {
                            dispatcher.dispatch(events)
                            summaries.record(events)
                        }
                        let models = configuration.machines.indices.map { engine.model(machine: $0) }
                        for job in summaries.due(now: now, models: models, database: statusDatabase, logger: logger) {
                            dispatcher.perform(job)
                        }
                        // Models written by `calibrate` while the agent runs, loaded by the ticker.
                        for new in newModels {
                            // The new model's stream carries on from the rows this engine took
                            // (the buffer holds them once the writer has committed them).
                            var warmed: WarmedStream? = nil
                            if let model = new.model {
                                let until = engine.lastRowTime(machine: new.machine)
                                    .map { Timestamp(millisecondsSinceEpoch: $0.millisecondsSinceEpoch + 1) } ?? pollingStarted
                                var models = [MachineModel?](repeating: nil, count: configuration.machines.count)
                                var untils = [Timestamp?](repeating: nil, count: configuration.machines.count)
                                models[new.machine] = model
                                untils[new.machine] = until
                                warmed = await warmUp(models: models, until: untils, flushingFirst: true)[new.machine]
                            }
                            let ended = engine.replaceModel(machine: new.machine, with: new.model, at: now, warmed: warmed)
                            if !ended.isEmpty {
                                dispatcher.dispatch(ended)
                                summaries.record(ended)
                            }
                            logger.notice("\(configuration.machines[new.machine].id): new model loaded (threshold \(new.model.map { "\($0.threshold)" } ?? "none")); its alert rule starts afresh, its stream \(warmed == nil ? "too (no recent buffered rows to warm it with)" : "carries on from the buffered rows")")
                        }
                        let monotonic = clock.monotonicNanoseconds()
                        if monotonic - lastStatus >= UInt64(max(0, options.statusInterval.wholeNanoseconds)) {
                            lastStatus = monotonic
                            let (p50, p99) = delays.percentiles()
                            let snapshot = counters.withLock { c -> RuntimeCounters in
                                c.scoreDelayP50Milliseconds = p50
                                c.scoreDelayP99Milliseconds = p99
                                return c
                            }
                            publishStatus(engine: engine, counters: snapshot)
                        }
                    }
                }
                // Inputs finished: everything polled has been scored. When the agent stops,
                // nothing will watch the machines any more: their open alerts end now, in the
                // alert log and the buffer, rather than stay "open" until the next start.
                if let reason = endingReason.withLock({ $0 }) {
                    let events = engine.endOpenAlerts(at: clock.now(), reason: reason)
                    if !events.isEmpty {
                        dispatcher.dispatch(events, runningActions: false)
                        summaries.record(events)
                        logger.notice("ended \(events.count) open alert(s): \(reason)")
                    }
                }
                let snapshot = counters.withLock { $0 }
                publishStatus(engine: engine, counters: snapshot)
            }
            scoringTask.withLock { $0 = scoring }
            let command = await controlIterator.next()
            await runBlocking { ticker.stop() }
            return command
        }

        /// Warms the streams of `models` on the buffer's rows before `until` (per machine; nil:
        /// not warmed), on a thread of its own: reading the buffer blocks, and a 30-minute
        /// stretch of a large machine is seconds of scoring. Logs what each machine's stream
        /// took; a failed read is logged and leaves the streams cold.
        /// - Parameter flushingFirst: wait (up to 1 s) for the writer to commit what it was
        ///   given, so that the rows the scoring stage already took are in the buffer.
        func warmUp(models: [MachineModel?], until: [Timestamp?], flushingFirst: Bool = false) async -> [WarmedStream?] {
            guard models.contains(where: { $0 != nil }) else { return [] }
            return await runBlocking { [self] () -> [WarmedStream?] in
                if flushingFirst { _ = writer.flush(timeout: .seconds(1)) }
                let started = clock.monotonicNanoseconds()
                let streams: [WarmedStream?]
                do {
                    streams = try StreamWarmUp.warm(database: statusDatabase, mapping: mapping, configuration: configuration,
                                                    models: models, until: until, dataPolicy: options.dataPolicy)
                } catch {
                    logger.warning("cannot read the buffer to warm the models' streams (\(error)); they start cold")
                    return []
                }
                let milliseconds = Double(clock.monotonicNanoseconds() - started) / 1e6
                // One pass over the buffer warms every machine: its time is said as such.
                let warmedTogether = models.filter { $0 != nil }.count
                let pass = warmedTogether == 1 ? "in \(Int(milliseconds.rounded())) ms"
                    : "in one \(Int(milliseconds.rounded())) ms pass over the buffer for \(warmedTogether) machines"
                for (i, machine) in configuration.machines.enumerated() where i < models.count && models[i] != nil {
                    if let stream = i < streams.count ? streams[i] : nil {
                        logger.notice("\(machine.id): stream warmed on \(stream.rows) buffered rows (\(stream.first.iso8601) to \(stream.last.iso8601)) \(pass)")
                    } else {
                        logger.notice("\(machine.id): no recent buffered rows to warm its stream with; it starts with the next row")
                    }
                }
                return streams
            }
        }

        /// The ticker, on its own thread every 500 ms: loads the model files `calibrate` replaced
        /// while the agent runs, marks a tick due for the scoring stage (which takes it after the
        /// cycle it is scoring: data-stopped checks, summaries, the new models, the status),
        /// checks that the buffer file is still there, and pings the watchdog while cycles complete.
        private func runTicker(nextTick: () -> Bool, notifier: SystemdNotifier, restart: @Sendable () -> Void) {
            var modelTimes = modelTimes
            var lastCycles = intake.cycles.load(ordering: .relaxed)
            var lastWatchdog = clock.monotonicNanoseconds()
            var lastBufferCheck = lastWatchdog
            var bufferLost = false
            let watchdogEvery = notifier.watchdogInterval.map { UInt64($0.wholeNanoseconds / 2) }
            // Built once: a path per machine and tick was 0.7 `malloc` calls per scored row at
            // 10 machines × 10 Hz (docs/performance.md).
            let modelPaths = configuration.machines.map {
                MachineModel.modelPath(machine: $0.id, dataDirectory: configuration.agent.dataDirectory)
            }
            while nextTick() {
                var newModels: [ScoringQueue.NewModel] = []
                for (i, machine) in configuration.machines.enumerated() {
                    let time = modificationTime(modelPaths[i])
                    guard time != modelTimes[i] else { continue }
                    modelTimes[i] = time
                    do {
                        let model = try MachineModel.load(machine: machine.id, dataDirectory: configuration.agent.dataDirectory,
                                                          alertScore: machine.alertScore)
                        newModels.append(ScoringQueue.NewModel(machine: i, model: model))
                    } catch {
                        logger.error("\(machine.id): new model file unusable (\(error)); keeping the previous one")
                    }
                }
                queue.tick(newModels: newModels)
                // A deleted buffer file takes every reading written since with it (SQLite
                // writes on into the unlinked inode): report it and start a new buffer.
                if !bufferLost, clock.monotonicNanoseconds() - lastBufferCheck >= 2_000_000_000 {
                    lastBufferCheck = clock.monotonicNanoseconds()
                    if let opened = databaseIdentity, FileIdentity(path: databasePath) != opened {
                        bufferLost = true
                        logger.error("buffer \(databasePath) was deleted or replaced while the agent runs; readings since then are lost with it. Starting a new buffer at that path")
                        restart()
                    }
                }
                guard let every = watchdogEvery else { continue }
                let cycles = intake.cycles.load(ordering: .relaxed)
                let now = clock.monotonicNanoseconds()
                if cycles != lastCycles, now - lastWatchdog >= every {
                    notifier.watchdog()
                    lastWatchdog = now
                    lastCycles = cycles
                }
            }
        }

        /// The scoring task of this generation, awaited at shutdown.
        private let scoringTask = Mutex<Task<Void, Never>?>(nil)

        /// Why the open alerts are ended when scoring finishes; nil keeps them open (for the next
        /// pipeline's start to end, see `AlertsLeftOpen`).
        private let endingReason = Mutex<String?>(nil)

        /// Stops the pollers, lets scoring finish what was polled, flushes alerts and readings.
        /// - Parameter reason: when given, every alert still open is then ended with a `cleared`
        ///   event giving this reason (written to the alert log and the buffer before the flush).
        /// - Returns: readings that could not be written before the timeout.
        func shutdown(timeout: Duration, endingOpenAlertsBecause reason: String? = nil) async -> Int {
            endingReason.withLock { $0 = reason }
            await runBlocking { for poller in self.pollers { poller.stop() } }
            queue.finish()
            await scoringTask.withLock({ $0 })?.value
            return await runBlocking {
                self.dispatcher.drain()
                self.dispatcher.stop()
                return self.writer.close(timeout: timeout)
            }
        }

        /// Writes the status row (for `edge-agent status`) and the metrics file, on the alert thread.
        func publishStatus(engine: ScoringEngine, counters: RuntimeCounters) {
            let health = pollers.map { $0.health() }
            let writerStatistics = writer.statistics
            let status = RuntimeStatus(
                time: clock.now(), pid: Int(getpid()), configuration: configuration, buses: health,
                machines: configuration.machines.indices.map { i in
                    RuntimeStatus.MachineStatus(
                        id: configuration.machines[i].id, model: engine.model(machine: i),
                        lastScore: engine.lastScore(machine: i), networkScore: engine.lastNetworkScore(machine: i),
                        monitoring: engine.monitoring(machine: i))
                },
                openAlerts: engine.openAlerts, writer: writerStatistics, counters: counters)
            let metricsPath = options.metricsPath ?? "\(configuration.agent.dataDirectory)/edge-agent.prom"
            let database = statusDatabase
            let logger = logger
            dispatcher.perform {
                do {
                    try database.setValue(status.json, forKey: RuntimeStatus.key)
                } catch {
                    logger.debug("status not stored: \(error)")
                }
                do {
                    try AtomicFile.write(status.prometheusText, to: metricsPath)
                } catch {
                    logger.debug("metrics file not written: \(error)")
                }
            }
        }
    }
}

/// Where the pollers hand over each poll cycle (on their threads): to the database writer's
/// queue and to the scoring stage's queue, both bounded, with every refusal counted.
private final class Intake: Sendable {
    let writer: ReadingWriter
    let scoring: ScoringQueue
    let counters: SharedCounters
    let clock: any AgentClock
    /// Poll cycles completed, for the watchdog.
    let cycles = Atomic<Int>(0)
    /// Per machine, when its newest cycle arrived here (monotonic nanoseconds, 0: none yet),
    /// scored or still queued or turned away: data-stopped checks are about the pollers, not
    /// about how far behind scoring is.
    private let arrivals: Mutex<[UInt64]>

    init(writer: ReadingWriter, scoring: ScoringQueue, counters: SharedCounters, clock: any AgentClock, machines: Int) {
        self.writer = writer
        self.scoring = scoring
        self.counters = counters
        self.clock = clock
        arrivals = Mutex(Array(repeating: 0, count: machines))
    }

    var latestArrivals: [UInt64] { arrivals.withLock { $0 } }

    func accept(_ readings: [Reading]) {
        let arrived = clock.monotonicNanoseconds()
        let stored = writer.append(readings)
        let queued = scoring.offer(ScoringQueue.Cycle(readings: readings, arrivedMonotonicNanoseconds: arrived))
        cycles.add(1, ordering: .relaxed)
        arrivals.withLock { latest in
            for reading in readings where latest.indices.contains(Int(reading.machine)) { latest[Int(reading.machine)] = arrived }
        }
        counters.withLock { c in
            c.readingsPolled += readings.count
            c.cyclesPolled += 1
            if case .rejectedQueueFull = stored { c.writerRejectedReadings += readings.count }
            if !queued { c.scoringOverflowCycles += 1 }
        }
    }
}

/// The runtime's counters, shared by the pollers' threads, the scoring task and readers.
final class SharedCounters: Sendable {
    private let state = Mutex(RuntimeCounters())

    func withLock<R: Sendable>(_ body: (inout RuntimeCounters) -> R) -> R {
        state.withLock { body(&$0) }
    }
}

/// The buffer could not be opened at start (read-only or full file system, no permission, a
/// damaged file); says which file and what to check.
public struct BufferUnavailableError: Error, Sendable, CustomStringConvertible {
    /// The database file.
    public var path: String
    /// agent.conf's `data_dir`.
    public var dataDirectory: String
    /// SQLite's or the system's reason.
    public var reason: String

    public var description: String {
        "cannot open the buffer \(path): \(reason). Check that data_dir \(dataDirectory) is on a writable, mounted file system with free space and that the agent's user may write there"
    }
}
