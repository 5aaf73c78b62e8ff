/// One machine for meta-training: its rows and, when known, which rows are anomalous.
public struct MetaTask: Sendable {
    /// A name for progress lines (machine id or file).
    public var name: String
    /// Row-major readings, `sensorCount` per row; NaN = missing.
    public var values: [Float]
    /// Sensors per row.
    public var sensorCount: Int
    /// Per row, whether it is anomalous (all false for normal-only data).
    public var anomalous: [Bool]

    /// Creates a task; `anomalous` must have one entry per row.
    public init(name: String, values: [Float], sensorCount: Int, anomalous: [Bool]) {
        precondition(sensorCount > 0 && values.count == anomalous.count * sensorCount, "one label per row")
        self.name = name
        self.values = values
        self.sensorCount = sensorCount
        self.anomalous = anomalous
    }

    /// Number of rows.
    public var rowCount: Int { anomalous.count }
}

/// The outer-loop rule of meta-training.
public enum MetaAlgorithm: String, Sendable, Hashable, CaseIterable {
    /// Reptile (Nichol et al. 2018): move the shared weights toward the adapted ones.
    case reptile
    /// First-order MAML (Finn et al. 2017): step the shared weights along the query loss's
    /// gradient taken at the adapted weights (Adam on the outer loop).
    case firstOrderMAML = "fomaml"
    /// First-order MAML with a query loss that mirrors how calibration sets its threshold:
    /// relative to the adapted network's highest support score T, held-out normal windows
    /// (from anywhere later in the task) are penalized by max(0, s/T − 1) and faults by
    /// max(0, `thresholdQueryMargin` − s/T). It teaches the initialization to adapt without
    /// overfitting the few support windows, which is what drives false alarms at small K.
    case thresholdMAML = "threshold-fomaml"
    /// First-order MAML with a threshold-free ranking query loss: the mean over (fault, normal)
    /// query pairs of log(1 + exp((s_normal − s_fault) / τ)), τ the spread of the adapted
    /// network's support scores: a smooth surrogate of 1 − AUC, the meta-loss itself. Normal
    /// query windows come from anywhere later in the task, as a calibrated detector meets them.
    case rankingMAML = "ranking-fomaml"
}

/// Settings of meta-training.
public struct MetaTrainingSettings: Sendable, Hashable {
    /// The outer-loop rule.
    public var algorithm: MetaAlgorithm
    /// Outer learning rate for first-order MAML (Adam).
    public var outerLearningRate: Float
    /// Outer iterations (one task each).
    public var iterations: Int
    /// Rows of normal operation per support set (what one calibration sees).
    public var supportRows: Int
    /// When not empty, each episode draws its support rows from these (so the initialization
    /// is trained for every K a calibration may use); otherwise every episode uses `supportRows`.
    public var supportRowChoices: [Int] = []
    /// Labelled anomalous windows of the task added to the support set when it has any.
    public var labelledSupportWindows: Int
    /// The inner loop: few-shot adaptation exactly as calibration runs it (steps, learning rate…).
    public var inner: AdaptationSettings
    /// Normalization priors by support rows: when an episode's K has one, its windows are
    /// normalized as a calibration with that prior would normalize them.
    public var normalizationPriors: [Int: NormalizationPrior] = [:]
    /// How episodes scale the network's inputs (as calibration will; see `NetworkInputScaling`).
    public var inputScaling: NetworkInputScaling = .robust
    /// Rows after the support set from which normal query windows are drawn (nil: 3 × the
    /// support rows; the threshold-aware rule uses the whole rest of the task unless set).
    public var queryHorizonRows: Int? = nil
    /// The threshold-aware rule's target: faults should score this multiple of T.
    public var thresholdQueryMargin: Float = 3
    /// Reptile's outer step size at the start (annealed linearly to 0 at the end).
    public var outerStepSize: Float
    /// Normal and anomalous query windows per task for the meta-loss (monitoring only).
    public var queryWindows: Int
    /// Seed of task order, support/query choice and synthetic anomalies.
    public var seed: UInt64
    /// Whether meta-training also learns one log step size per parameter tensor of the inner
    /// adaptation (first-order Meta-SGD, `AdaptationRates`), starting from `inner.tensorLogRates`
    /// (0 when nil): after each episode's inner loop, the first-order hypergradient of the
    /// deviation query loss (`deviationQueryLoss`) steps the log rates with their own Adam,
    /// clamped to `AdaptationRates.logRateRange`; the inner loop always uses the current rates.
    public var learnAdaptationRates: Bool = false
    /// The log rates' outer Adam learning rate.
    public var rateLearningRate: Float = 0.01

    /// Creates settings; the defaults are the recipe of the shipped initialization (docs/detection.md, "The network half").
    public init(iterations: Int = 400, supportRows: Int = 200, labelledSupportWindows: Int = 8,
                inner: AdaptationSettings = AdaptationSettings(maximumNormalWindows: 48, syntheticAnomalies: 24, steps: 8),
                outerStepSize: Float = 0.5, queryWindows: Int = 16, seed: UInt64 = 1,
                algorithm: MetaAlgorithm = .firstOrderMAML, outerLearningRate: Float = 1e-3) {
        self.algorithm = algorithm
        self.outerLearningRate = outerLearningRate
        self.iterations = max(1, iterations)
        self.supportRows = max(2, supportRows)
        self.labelledSupportWindows = max(0, labelledSupportWindows)
        self.inner = inner
        self.outerStepSize = outerStepSize
        self.queryWindows = max(1, queryWindows)
        self.seed = seed
    }
}

/// One progress report of meta-training.
public struct MetaTrainingProgress: Sendable {
    /// Tasks (outer iterations) done.
    public var iteration: Int
    /// Total outer iterations.
    public var iterations: Int
    /// The task just used.
    public var task: String
    /// Mean query loss after adaptation over the last reporting interval's training episodes.
    public var trainingMetaLoss: Float
    /// Mean query loss after adaptation on fixed monitoring episodes (comparable across reports;
    /// iteration 0 is the starting point).
    public var metaLoss: Float
}

/// One support/query split of a task: what adaptation sees, and what measures it.
public struct TaskEpisode: Sendable {
    /// Support set: normal windows (plus labelled anomalies), normalized by the support rows.
    public var supportNormal: [Window]
    /// Labelled anomalous windows in the support set.
    public var supportAnomalies: [Window]
    /// Query set: normal and anomalous windows from elsewhere in the task, same normalization.
    public var query: [TrainingExample]
}

/// Reptile meta-training of the network's shared initialization over many machines.
public enum MetaTraining {
    /// Draws one episode from `task`, or nil when the task has no normal stretch of `supportRows` rows.
    public static func episode(from task: MetaTask, settings: MetaTrainingSettings, random: inout SeededGenerator) -> TaskEpisode? {
        let n = task.sensorCount
        let w = settings.inner.windowRows
        let k = settings.supportRowChoices.isEmpty
            ? settings.supportRows
            : max(2, settings.supportRowChoices[random.nextIndex(below: settings.supportRowChoices.count)])
        guard task.rowCount >= k + w else { return nil }
        // Support: a random start whose k rows are all normal.
        var start = -1
        for _ in 0..<20 {
            let s = random.nextIndex(below: task.rowCount - k + 1)
            if !task.anomalous[s..<(s + k)].contains(true) { start = s; break }
        }
        guard start >= 0 else { return nil }
        let support = task.values[(start * n)..<((start + k) * n)]
        let fitted = settings.inputScaling.normalization(values: support, sensorCount: n)
        let normalization = settings.normalizationPriors[k]?.apply(to: fitted) ?? fitted
        let normal = FewShotAdaptation.windows(values: support, sensorCount: n, normalization: normalization,
                                               windowRows: w, stride: settings.inner.stride,
                                               limit: settings.inner.maximumNormalWindows)
        guard !normal.isEmpty else { return nil }
        // Windows outside the support stretch, by the label of their last row: normal ones from
        // the stretch that follows the support (what a calibrated detector faces next), faults
        // from anywhere.
        var normalEnds: [Int] = [], anomalousEnds: [Int] = []
        let horizon = start + k + (settings.queryHorizonRows ?? (settings.algorithm == .thresholdMAML || settings.algorithm == .rankingMAML ? task.rowCount : 3 * k))
        for end in (w - 1)..<task.rowCount where end < start || end - w + 1 >= start + k {
            if task.anomalous[end] { anomalousEnds.append(end) } else if end >= start + k && end < horizon { normalEnds.append(end) }
        }
        func window(endingAt end: Int) -> Window {
            var v = [Float](repeating: 0, count: w * n)
            for t in 0..<w {
                for s in 0..<n {
                    let z = (task.values[(end - w + 1 + t) * n + s] - normalization.centers[s]) / normalization.scales[s]
                    v[t * n + s] = z.isFinite ? z : 0
                }
            }
            return Window(timeSteps: w, sensorCount: n, values: v)
        }
        func pick(_ ends: [Int], _ count: Int) -> [Window] {
            guard !ends.isEmpty else { return [] }
            return (0..<count).map { _ in window(endingAt: ends[random.nextIndex(below: ends.count)]) }
        }
        let supportAnomalies = pick(anomalousEnds, settings.labelledSupportWindows)
        // Query: held-out normal windows, synthetic faults injected into other held-out normal
        // windows (the faults calibration trains on), and the task's real faults when it has any.
        let queryNormal = pick(normalEnds, settings.queryWindows)
        var query = queryNormal.map { TrainingExample(window: $0, label: .normal) }
        if !queryNormal.isEmpty {
            var generator = SyntheticAnomalyGenerator(seed: random.next())
            query += generator.anomalies(from: pick(normalEnds, settings.queryWindows), count: settings.queryWindows / 2)
        }
        query += pick(anomalousEnds, settings.queryWindows / 2).map { TrainingExample(window: $0, label: .anomalous) }
        return TaskEpisode(supportNormal: normal, supportAnomalies: supportAnomalies, query: query)
    }

    /// Adapts `network` to an episode's support set and returns the adapted network and its query loss.
    ///
    /// The query loss is `queryLoss(of:episode:margin:)` of the adapted network.
    public static func adaptAndMeasure(_ network: Network, episode: TaskEpisode, inner: AdaptationSettings) -> (Network, Float) {
        let loss = FewShotAdaptation.lossFunction(for: network, normal: episode.supportNormal, margin: inner.deviationMargin)
        let batch = FewShotAdaptation.batch(normal: episode.supportNormal, labelledAnomalies: episode.supportAnomalies, settings: inner)
        let (adapted, _) = FewShotAdaptation.adapt(network, batch: batch, lossFunction: loss, settings: inner)
        return (adapted, queryLoss(of: adapted, episode: episode, margin: inner.deviationMargin))
    }

    /// The query loss of `network` on an episode: 1 − AUC, the fraction of (normal, fault)
    /// query pairs in which the normal window scores at least as high as the fault (ties count
    /// half). Threshold-free, so it measures how well adaptation separates faults from normal
    /// operation, not how a particular threshold happens to fall; 0 is perfect, 0.5 is chance.
    public static func queryLoss(of network: Network, episode: TaskEpisode, margin: Float) -> Float {
        var normal: [Float] = [], faults: [Float] = []
        for example in episode.query {
            let s = network.score(example.window).score
            if example.label == .normal { normal.append(s) } else { faults.append(s) }
        }
        guard !normal.isEmpty, !faults.isEmpty else { return 0 }
        var wrong: Float = 0
        for a in faults {
            for b in normal { wrong += b > a ? 1 : (b == a ? 0.5 : 0) }
        }
        return wrong / Float(normal.count * faults.count)
    }

    /// The query loss of first-order MAML and its gradient at `adapted`: the deviation loss
    /// (one-class weight 0) over the episode's query windows, relative to `adapted`'s scores of
    /// the support's normal windows (reference = their median, scale = 1.4826 × MAD, held
    /// constant), with normal query windows already `margin` scales above the reference left out
    /// (so each window's term is bounded).
    public static func deviationQueryLoss(of adapted: Network, episode: TaskEpisode, margin: Float) -> (loss: Float, gradient: [Float]) {
        let reference = DeviationLoss(fittingNormalScores: episode.supportNormal.map { adapted.score($0).score }, margin: margin)
        let queryObjective = LossFunction(reconstructionWeight: 0, deviation: reference)
        let useful = episode.query.filter { example in
            example.label == .anomalous
                || (adapted.score(example.window).score - reference.reference) / reference.scale < reference.margin
        }
        return adapted.lossAndGradient(on: useful, lossFunction: queryObjective)
    }

    /// The mean query loss after adaptation from `network` over fixed episodes (a meta-loss
    /// that can be compared between initializations).
    public static func metaLoss(of network: Network, episodes: [TaskEpisode], inner: AdaptationSettings) -> Float {
        guard !episodes.isEmpty else { return 0 }
        var total: Float = 0
        for e in episodes { total += adaptAndMeasure(network, episode: e, inner: inner).1 }
        return total / Float(episodes.count)
    }

    /// The ranking query loss of `ranking-fomaml` and its derivative with respect to each score:
    /// the mean over (fault, normal) pairs of log(1 + exp((s_normal − s_fault) / temperature)).
    /// NaN loss (and zero derivatives) when either class is missing.
    public static func rankingLoss(scores: [Float], isFault: [Bool], temperature tau: Float) -> (loss: Float, derivatives: [Float]) {
        precondition(scores.count == isFault.count, "one label per score")
        let faults = scores.indices.filter { isFault[$0] }, normals = scores.indices.filter { !isFault[$0] }
        var derivatives = [Float](repeating: 0, count: scores.count)
        guard !faults.isEmpty, !normals.isEmpty, tau > 0 else { return (.nan, derivatives) }
        let pairs = Float(faults.count * normals.count)
        var loss: Double = 0
        for a in faults {
            for b in normals {
                let x = Double((scores[b] - scores[a]) / tau)
                // Softplus and its derivative (the logistic function), stable for large |x|.
                loss += x > 30 ? x : _log(1 + _exp(x))
                let sigmoid = Float(x > 30 ? 1 : 1 / (1 + _exp(-x)))
                derivatives[b] += sigmoid / tau / pairs
                derivatives[a] -= sigmoid / tau / pairs
            }
        }
        return (Float(loss) / pairs, derivatives)
    }

    /// Runs Reptile from `initial` over `tasks`: each iteration adapts a copy of the shared
    /// weights to one task's support set (the inner loop) and moves the shared weights a step
    /// toward the adapted ones (the outer loop). Deterministic for a given seed.
    /// - Parameter progress: called every `reportEvery` iterations with the mean meta-loss since the last call.
    public static func train(initial: Network, tasks: [MetaTask], settings: MetaTrainingSettings,
                             reportEvery: Int = 25, monitorEpisodes: Int = 16,
                             progress: (MetaTrainingProgress) -> Void = { _ in }) -> Network {
        trainWithRates(initial: initial, tasks: tasks, settings: settings, reportEvery: reportEvery,
                       monitorEpisodes: monitorEpisodes, progress: progress).network
    }

    /// `train`, also returning the per-tensor log rates learned with the weights when
    /// `settings.learnAdaptationRates` is set (nil otherwise; the weights are then exactly `train`'s).
    public static func trainWithRates(initial: Network, tasks: [MetaTask], settings: MetaTrainingSettings,
                                      reportEvery: Int = 25, monitorEpisodes: Int = 16,
                                      progress: (MetaTrainingProgress) -> Void = { _ in }) -> (network: Network, tensorLogRates: [Float]?) {
        let learning = settings.learnAdaptationRates
        var rates = learning
            ? AdaptationRates.clamped(settings.inner.tensorLogRates ?? Array(repeating: 0, count: AdaptationRates.tensorNames.count))
            : settings.inner.tensorLogRates
        guard !tasks.isEmpty else { return (initial, learning ? rates : nil) }
        var monitorInner: AdaptationSettings { var i = settings.inner; i.tensorLogRates = rates; return i }
        var rateOptimizer = Adam(learningRate: settings.rateLearningRate)
        var shared = initial
        var monitorRandom = SeededGenerator(seed: settings.seed ^ 0x5EED_0F_F1CE)
        var monitor: [TaskEpisode] = []
        for i in 0..<(monitorEpisodes * 3) where monitor.count < monitorEpisodes {
            if let e = episode(from: tasks[i % tasks.count], settings: settings, random: &monitorRandom) { monitor.append(e) }
        }
        progress(MetaTrainingProgress(iteration: 0, iterations: settings.iterations, task: "-", trainingMetaLoss: .nan,
                                      metaLoss: metaLoss(of: shared, episodes: monitor, inner: monitorInner)))
        var random = SeededGenerator(seed: settings.seed)
        var outer = Adam(learningRate: settings.outerLearningRate)
        var order: [Int] = []
        var lossSum: Float = 0
        var lossCount = 0
        for iteration in 0..<settings.iterations {
            if order.isEmpty { order = Array(tasks.indices).shuffled(using: &random) }
            let task = tasks[order.removeLast()]
            var inner = settings.inner
            inner.seed = settings.seed &+ UInt64(iteration) &* 0x9E37_79B9
            inner.tensorLogRates = rates
            if let episode = episode(from: task, settings: settings, random: &random) {
                let (adapted, queryLoss) = adaptAndMeasure(shared, episode: episode, inner: inner)
                if learning, var logRates = rates {
                    // First-order hypergradient of the query loss at the adapted weights.
                    let (_, queryGradient) = deviationQueryLoss(of: adapted, episode: episode, margin: inner.deviationMargin)
                    let hypergradient = AdaptationRates.hypergradient(initial: shared.parameters, adapted: adapted.parameters,
                                                                      queryGradient: queryGradient, architecture: shared.architecture)
                    if hypergradient.allSatisfy(\.isFinite) {
                        rateOptimizer.update(&logRates, gradient: hypergradient)
                        rates = AdaptationRates.clamped(logRates)
                    }
                }
                switch settings.algorithm {
                case .reptile:
                    let epsilon = settings.outerStepSize * (1 - Float(iteration) / Float(settings.iterations))
                    var p = shared.parameters
                    let q = adapted.parameters
                    for k in p.indices { p[k] += epsilon * (q[k] - p[k]) }
                    shared.parameters = p
                case .firstOrderMAML:
                    // The gradient of the bounded query loss: a normal window already a full
                    // margin above the reference contributes nothing (its term is capped at 1).
                    var (_, gradient) = deviationQueryLoss(of: adapted, episode: episode, margin: inner.deviationMargin)
                    let norm = gradient.reduce(0) { $0 + $1 * $1 }.squareRoot()
                    if norm > 10 { for k in gradient.indices { gradient[k] *= 10 / norm } }
                    if norm.isFinite { outer.update(&shared.parameters, gradient: gradient) }
                case .thresholdMAML:
                    let top = episode.supportNormal.map { adapted.score($0).score }.max() ?? 0
                    guard top.isFinite, top > 0 else { break }
                    // dev = (s − T) / T: normal windows above T and faults below m·T are penalized.
                    let relative = DeviationLoss(reference: top, scale: top, margin: settings.thresholdQueryMargin - 1)
                    var (_, gradient) = adapted.lossAndGradient(on: episode.query, lossFunction: LossFunction(reconstructionWeight: 0, deviation: relative))
                    let norm = gradient.reduce(0) { $0 + $1 * $1 }.squareRoot()
                    if norm > 10 { for k in gradient.indices { gradient[k] *= 10 / norm } }
                    if norm.isFinite { outer.update(&shared.parameters, gradient: gradient) }
                case .rankingMAML:
                    let support = episode.supportNormal.map { adapted.score($0).score }
                    let tau = max(DeviationLoss(fittingNormalScores: support).scale, 1e-3)
                    let windows = episode.query.map(\.window)
                    let scores = windows.map { adapted.score($0).score }
                    let ranking = rankingLoss(scores: scores, isFault: episode.query.map { $0.label == .anomalous }, temperature: tau)
                    guard ranking.loss.isFinite else { break }
                    var gradient = adapted.gradient(windows: windows, dScores: ranking.derivatives)
                    let norm = gradient.reduce(0) { $0 + $1 * $1 }.squareRoot()
                    if norm > 10 { for k in gradient.indices { gradient[k] *= 10 / norm } }
                    if norm.isFinite { outer.update(&shared.parameters, gradient: gradient) }
                }
                if queryLoss.isFinite { lossSum += queryLoss; lossCount += 1 }
            }
            if (iteration + 1) % reportEvery == 0 || iteration + 1 == settings.iterations {
                progress(MetaTrainingProgress(iteration: iteration + 1, iterations: settings.iterations, task: task.name,
                                              trainingMetaLoss: lossCount > 0 ? lossSum / Float(lossCount) : .nan,
                                              metaLoss: metaLoss(of: shared, episodes: monitor, inner: monitorInner)))
                lossSum = 0
                lossCount = 0
            }
        }
        return (shared, learning ? rates : nil)
    }
}
