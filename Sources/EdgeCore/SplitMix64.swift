#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A small, fast, seedable pseudo-random generator (SplitMix64, Steele, Lea & Flood 2014).
///
/// The one implementation in the package: the simulator draws every random number from it, the
/// sample summary its noise, Detection's `SeededGenerator` its xoshiro256** state, and the tests
/// their data, so that a seed gives bit-identical output on every run and every platform;
/// `SystemRandomNumberGenerator` is never used where results must repeat.
///
/// - Important: seeded tests, the simulator's fleets and the shipped meta-initialization depend
///   on the exact streams of `next()` and of every helper below; `SplitMix64Tests` pins their
///   first values. Add new helpers rather than changing what an existing one returns.
public struct SplitMix64: RandomNumberGenerator, Sendable, Equatable {
    /// The internal state; two generators with the same state produce the same sequence.
    public private(set) var state: UInt64

    /// Creates a generator whose sequence is fixed by `seed` (every seed, 0 included, is fine).
    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniformly distributed value in `0 ..< 1` with 53 random bits.
    public mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A uniformly distributed value in `range`.
    public mutating func uniform(_ range: ClosedRange<Double>) -> Double {
        range.lowerBound + (range.upperBound - range.lowerBound) * uniform()
    }

    /// A value whose logarithm is uniform in `log(range)`: for sizes and ratings spanning decades.
    public mutating func logUniform(_ range: ClosedRange<Double>) -> Double {
        exp(uniform(log(range.lowerBound)...log(range.upperBound)))
    }

    /// A uniformly distributed integer in `0 ..< upperBound` (`upperBound` > 0).
    ///
    /// The remainder of 64 random bits: biased by less than `upperBound` / 2^64, which no test
    /// or simulation here can see, and one draw per call.
    public mutating func index(below upperBound: Int) -> Int {
        Int(next() % UInt64(upperBound))
    }

    /// A standard normal value (Box–Muller; two uniforms per call, no cached state).
    public mutating func gaussian() -> Double {
        let u1 = max(uniform(), 0x1.0p-60)
        let u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// An exponentially distributed value with the given mean.
    public mutating func exponential(mean: Double) -> Double {
        -mean * log(max(1 - uniform(), 0x1.0p-60))
    }

    /// Whether an event of probability `p` happens.
    public mutating func chance(_ p: Double) -> Bool {
        uniform() < p
    }

    /// A new generator seeded from this one, for an independent stream.
    public mutating func split() -> SplitMix64 {
        SplitMix64(seed: next())
    }
}
